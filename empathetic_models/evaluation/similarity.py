"""Embedding similarity of generated and gold responses: mean cosine ×100 of sentence embeddings from a
local encoder (all-MiniLM-L6-v2 by default). A model-based metric, reported with its encoder's name and
never mixed with the n-gram metrics."""

from __future__ import annotations

from collections.abc import Sequence

from . import _check_texts


def embedding_similarity(predictions: Sequence[str], references: Sequence[str], encoder=None) -> tuple[float, str]:
    """``(mean cosine x 100, encoder name)``; ``encoder`` is a SentenceEncoder, a path / hub id, or None."""
    from ..knowledge.sentence_encoder import SentenceEncoder

    _check_texts(predictions, references)
    if not isinstance(encoder, SentenceEncoder):
        encoder = SentenceEncoder.from_pretrained(encoder)
    cosine = (encoder.encode(list(predictions)) * encoder.encode(list(references))).sum(-1)
    return round(100.0 * float(cosine.mean()), 2), encoder.name


__all__ = ["embedding_similarity"]
