"""Batched inference of a sequence(-pair) classifier: the shared engine of the cause detector and the
communication-mechanism classifiers."""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer


@torch.inference_mode()
def class_probabilities(model, tokenizer, encoded: dict[str, list], batch_size: int = 64) -> torch.Tensor:
    """(N, num_labels) float32 probabilities for tokenized inputs ``encoded``; sorted by length and padded per batch."""
    order = sorted(range(len(encoded["input_ids"])), key=lambda i: len(encoded["input_ids"][i]))
    probabilities = torch.empty(len(order), model.config.num_labels)
    for start in range(0, len(order), batch_size):
        index = order[start : start + batch_size]
        batch = tokenizer.pad({k: [encoded[k][i] for i in index] for k in encoded}, return_tensors="pt")
        logits = model(**{k: v.to(model.device) for k, v in batch.items()}).logits
        probabilities[index] = logits.float().softmax(-1).cpu()
    return probabilities


def load_classifier(path: str | Path, device: str | None = None, subfolder: str = ""):
    """(model, tokenizer) of a sequence classifier folder or hub id (``subfolder``: one saved inside a checkpoint)."""
    model = AutoModelForSequenceClassification.from_pretrained(str(path), subfolder=subfolder)
    model.to(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    return model, AutoTokenizer.from_pretrained(str(path), subfolder=subfolder)


def save_classifier(model, tokenizer, folder: str | Path) -> None:
    """Weights, config and tokenizer, so :func:`load_classifier` restores the same classifier from ``folder``."""
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
