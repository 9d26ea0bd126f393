"""Resource identities for cache keys: a changed resource must never reuse stale annotations."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path


def file_fingerprint(path: str | Path) -> str:
    """sha256 (first 16 hex digits) of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def model_fingerprint(model, tokenizer=None, *settings) -> str:
    """Identity of a model's weights (plus its tokenizer's vocabulary and any settings) for annotation caches."""
    import datasets

    weights = {k: v.detach().cpu().float().numpy() for k, v in model.state_dict().items()}
    vocabulary = sorted(tokenizer.get_vocab().items()) if tokenizer is not None else None
    return datasets.fingerprint.Hasher.hash([list(settings), vocabulary, weights])


def content_fingerprint(content) -> str:
    """sha256 (first 16 hex digits) of JSON-serialisable ``content``."""
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:16]
