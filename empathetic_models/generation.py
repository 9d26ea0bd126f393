"""Response generation with the emotion prediction, shared by batched inference and the pipeline task."""

from __future__ import annotations

import torch
from transformers import PreTrainedModel


def generate_with_emotion(model: PreTrainedModel, inputs: dict[str, torch.Tensor], **generate_kwargs):
    """``(sequences, emotion_logits)`` for a batch of encoded dialogues; ``emotion_logits`` is None for models
    without an emotion head. One decoder step more than ``generate`` gives the head's prediction."""
    sequences = model.generate(**inputs, **generate_kwargs)
    emotion_logits = model(**inputs, decoder_input_ids=sequences[:, :1], use_cache=False).emotion_logits
    return sequences, emotion_logits
