"""The ``empathetic-response`` transformers pipeline task (registered on import of ``empathetic_models``).

    chat = pipeline("empathetic-response", model="path/or/hub-id")
    chat("I failed my exam.")                                   # one dialogue of one utterance
    chat(["My dog died.", "Oh no!", "I miss him so much."])     # one dialogue (last = the speaker's)
    chat([["I got the job!"], ["I am so lonely."]], batch_size=2)  # several dialogues → a list of results
    chat("I failed my exam.", num_beams=3, max_new_tokens=20)   # any generation parameter

Each result is ``{"response": str, "emotion": label | None, "emotion_score": float | None}`` (emotion is
None for models without an emotion head). A list whose items are all lists/tuples is a list of dialogues;
any other list is one dialogue. List inputs are validated (:func:`empathetic_models.data.validate_dialogue`)
before anything is generated; generators and datasets are validated item by item.
"""

from __future__ import annotations

import torch
from transformers import AutoModelForSeq2SeqLM, GenerationConfig, Pipeline
from transformers.pipelines import PIPELINE_REGISTRY

from .checkpoints import check_checkpoint_folder
from .data import DataError, validate_dialogue
from .featurization import Featurizer
from .generation import generate_with_emotion
from .inference import perceived_emotions, warn_truncated

TASK = "empathetic-response"
# every parameter generate() takes through a GenerationConfig, plus a GenerationConfig itself
GENERATE_ARGUMENTS = frozenset(k for k in vars(GenerationConfig()) if not k.startswith("_")) | {"generation_config"}


def _is_dialogue_list(inputs) -> bool:
    return isinstance(inputs, (list, tuple)) and bool(inputs) and all(isinstance(d, (list, tuple)) for d in inputs)


class EmpatheticResponsePipeline(Pipeline):
    """Dialogue history → listener response and the speaker's predicted emotion."""

    _pipeline_calls_generate = True  # transformers collects generation kwargs given at construction
    _load_tokenizer = True
    _load_processor = False
    _load_image_processor = False
    _load_video_processor = False
    _load_feature_extractor = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.tokenizer is None:
            raise ValueError("the empathetic-response pipeline needs the checkpoint's tokenizer")
        limit = min(512, self.model.config.max_position_embeddings)
        self.featurizer = Featurizer.from_pretrained(
            self.model.name_or_path, self.tokenizer, max_source_length=limit
        )  # the checkpoint may hold more than the tokenizer (KEMP's retrieval table, CASE's commonsense, IMAGINE's detector)
        self._sanitize_parameters(**self._generate_kwargs)  # generation parameters given at construction

    def _sanitize_parameters(self, announced: bool = False, **kwargs):
        unknown = set(kwargs) - GENERATE_ARGUMENTS
        if unknown:
            raise ValueError(
                f"unknown arguments {sorted(unknown)}; the pipeline accepts generation parameters "
                "(e.g. max_new_tokens, num_beams, do_sample, top_k)"
            )
        if (kwargs.get("num_return_sequences") or 1) > 1:
            raise ValueError("the empathetic-response pipeline returns one response per dialogue: num_return_sequences must be 1")
        return {"announced": announced}, {k: v for k, v in kwargs.items() if v is not None}, {}

    def __call__(self, inputs, **kwargs):
        """One dialogue (str or list of utterances) → one result; a list of dialogues → a list of results."""
        if isinstance(inputs, str) or (isinstance(inputs, (list, tuple)) and not _is_dialogue_list(inputs)):
            dialogues = [validate_dialogue(inputs)]
            warn_truncated(self.featurizer, dialogues)
            return super().__call__(dialogues, announced=True, **kwargs)[0]
        if isinstance(inputs, (list, tuple)):
            dialogues = []
            for i, dialogue in enumerate(inputs):
                try:
                    dialogues.append(validate_dialogue(dialogue))
                except DataError as error:
                    raise DataError(f"dialogue {i + 1}: {error}") from None
            warn_truncated(self.featurizer, dialogues)  # one notice naming the long ones by their number in the list
            return super().__call__(dialogues, announced=True, **kwargs)
        return super().__call__(inputs, **kwargs)  # generator / dataset: validated in preprocess

    def preprocess(self, dialogue, announced: bool = False):
        # (1, length) tensors; transformers' collate pads batches with 0, our pad id, listener-free state and mask
        dialogue = validate_dialogue(dialogue)
        if not announced:  # a streamed dialogue: its position is not known here
            warn_truncated(self.featurizer, [dialogue], numbered=False)
        emotions = perceived_emotions(self.model, self.featurizer, [dialogue]) if self.featurizer.needs_emotion else None
        return self.featurizer.encode_dialogues([dialogue], emotions)

    def _forward(self, model_inputs, **generate_kwargs):
        generate_kwargs = self._prepare_generate_kwargs(generate_kwargs)
        sequences, emotion_logits = generate_with_emotion(self.model, model_inputs, **generate_kwargs)
        outputs = {"sequences": sequences}
        if emotion_logits is not None:
            outputs["emotion_probs"] = emotion_logits.float().softmax(-1)
        return outputs

    def postprocess(self, model_outputs):
        response = self.tokenizer.decode(model_outputs["sequences"][0], skip_special_tokens=True).strip()
        if "emotion_probs" not in model_outputs:
            return {"response": response, "emotion": None, "emotion_score": None}
        score, index = torch.max(model_outputs["emotion_probs"][0], dim=-1)
        return {"response": response, "emotion": self.model.config.id2label[int(index)], "emotion_score": float(score)}


class CheckedAutoModelForSeq2SeqLM(AutoModelForSeq2SeqLM):
    """``AutoModelForSeq2SeqLM`` that first checks a local checkpoint folder
    (:func:`~empathetic_models.checkpoints.check_checkpoint_folder`): ``pipeline("empathetic-response", model=folder)``
    on truncated weights or a folder without tokenizer files fails with the
    :class:`~empathetic_models.checkpoints.CheckpointError` naming the file and the fix (transformers' pipeline factory
    reports it under "Could not load model ..."), instead of a safetensors or tokenizer-conversion error."""

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, *model_args, **kwargs):
        if not kwargs.get("subfolder"):
            check_checkpoint_folder(pretrained_model_name_or_path)
        return super().from_pretrained(pretrained_model_name_or_path, *model_args, **kwargs)


PIPELINE_REGISTRY.register_pipeline(TASK, pipeline_class=EmpatheticResponsePipeline, pt_model=CheckedAutoModelForSeq2SeqLM)
