"""The ``empathetic-response`` transformers pipeline task (registered on import of ``empathetic_models``).

    chat = pipeline("empathetic-response", model="path/or/hub-id")
    chat("I failed my exam.")                                   # one dialogue of one utterance
    chat(["My dog died.", "Oh no!", "I miss him so much."])     # one dialogue (last = the speaker's)
    chat([["I got the job!"], ["I am so lonely."]], batch_size=2)  # several dialogues
Each result is ``{"response": str, "emotion": label | None, "emotion_score": float | None}``.
"""

from __future__ import annotations

import torch
from transformers import AutoModelForSeq2SeqLM, Pipeline
from transformers.pipelines import PIPELINE_REGISTRY

from .data import validate_dialogue
from .featurization import featurizer_for

TASK = "empathetic-response"
GENERATE_ARGUMENTS = ("max_new_tokens", "num_beams", "do_sample", "top_k", "top_p", "temperature")


class EmpatheticResponsePipeline(Pipeline):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        limit = min(512, self.model.config.max_position_embeddings)
        self.featurizer = featurizer_for(self.model.config.model_type, self.tokenizer, max_source_length=limit)

    def _sanitize_parameters(self, **kwargs):
        unknown = set(kwargs) - set(GENERATE_ARGUMENTS)
        if unknown:
            raise ValueError(f"unknown arguments {sorted(unknown)}; the pipeline accepts {GENERATE_ARGUMENTS}")
        return {}, {k: v for k, v in kwargs.items() if v is not None}, {}

    def __call__(self, inputs, **kwargs):
        single_dialogue = isinstance(inputs, (list, tuple)) and bool(inputs) and all(isinstance(u, str) for u in inputs)
        if single_dialogue:
            return super().__call__([list(inputs)], **kwargs)[0]
        return super().__call__(inputs, **kwargs)

    def preprocess(self, dialogue):
        return self.featurizer.encode_dialogues([validate_dialogue(dialogue)])

    def _forward(self, model_inputs, **generate_kwargs):
        sequences = self.model.generate(**model_inputs, **generate_kwargs)
        outputs = {"sequences": sequences}
        emotion_logits = self.model(**model_inputs, decoder_input_ids=sequences[:, :1], use_cache=False).emotion_logits
        if emotion_logits is not None:
            outputs["emotion_probs"] = emotion_logits.float().softmax(-1)
        return outputs

    def postprocess(self, model_outputs):
        response = self.tokenizer.decode(model_outputs["sequences"][0], skip_special_tokens=True).strip()
        if "emotion_probs" not in model_outputs:
            return {"response": response, "emotion": None, "emotion_score": None}
        score, index = torch.max(model_outputs["emotion_probs"][0], dim=-1)
        return {"response": response, "emotion": self.model.config.id2label[int(index)], "emotion_score": float(score)}


PIPELINE_REGISTRY.register_pipeline(TASK, pipeline_class=EmpatheticResponsePipeline, pt_model=AutoModelForSeq2SeqLM)
