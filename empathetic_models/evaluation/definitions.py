"""Named metric definitions: the canonical one of this package and the variants the papers used.

The published ED tables compute "BLEU" and "Dist" differently, so their numbers do not compare. Each name
below reproduces one paper's way on the same outputs, so a user can recover a published number and see the
canonical one beside it (``empathetic-models evaluate --definition NAME``):

- ``canonical`` — this package's definitions (see :mod:`empathetic_models.evaluation`): MoEL-normalised NLTK
  Treebank tokens, NLTK corpus BLEU-1..4 without smoothing, corpus Dist-1/2 ×100, Sent-Std, top-5 share,
  average length.
- ``kemp`` — KEMP / CEM / CASE: NLTK corpus BLEU-1..4 and corpus Dist-1/2 ×100 on NLTK tokens (the
  canonical BLEU and Dist, without the extra metrics).
- ``multi_bleu`` — MoEL / MIME: corpus BLEU-4 of Moses' ``multi-bleu.perl -lc`` on white-space tokens.
- ``gao2021`` — the emotion-cause paper: NLTK corpus BLEU-4, Dist-1/2 as fractions (not ×100).
- ``whitespace`` — the canonical BLEU / Dist / length on lower-cased white-space tokens, as repositories that
  skip tokenization compute them (one source of the 4.47 vs 2.10 Dist-2 disagreements).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from . import _check_texts, _metric, compute_text_metrics


def _whitespace(texts: Sequence[str]) -> list[str]:
    return [" ".join(t.lower().split()) for t in texts]


def _kemp(predictions, references):
    out = compute_text_metrics(predictions, references)
    return {k: out[k] for k in ("bleu_1", "bleu_2", "bleu_3", "bleu_4", "dist_1", "dist_2")}


def _multi_bleu(predictions, references):
    return {"bleu_4": float(_metric("ed_multi_bleu").compute(predictions=list(predictions), references=list(references))["bleu_4"])}


def _gao2021(predictions, references):
    out = compute_text_metrics(predictions, references)
    return {"bleu_4": out["bleu_4"], "dist_1": out["dist_1"] / 100, "dist_2": out["dist_2"] / 100}


def _whitespace_metrics(predictions, references):
    preds, refs = _whitespace(predictions), _whitespace(references)
    out = dict(_metric("ed_bleu").compute(predictions=preds, references=refs, tokenize=False))
    out.update(_metric("ed_distinct").compute(predictions=preds, tokenize=False))
    return {k: float(v) for k, v in out.items()}


DEFINITIONS: dict[str, tuple[str, Callable]] = {
    "canonical": ("this package (NLTK tokens; corpus BLEU-1..4; Dist x100; Sent-Std; top-5; length)", compute_text_metrics),
    "kemp": ("KEMP / CEM / CASE: NLTK corpus BLEU-1..4, corpus Dist-1/2 x100, NLTK tokens", _kemp),
    "multi_bleu": ("MoEL / MIME: BLEU-4 by multi-bleu.perl -lc, white-space tokens", _multi_bleu),
    "gao2021": ("Gao et al. 2021: NLTK corpus BLEU-4, Dist-1/2 as fractions", _gao2021),
    "whitespace": ("canonical BLEU / Dist / length on lower-cased white-space tokens", _whitespace_metrics),
}


def score(predictions: Sequence[str], references: Sequence[str], definition: str = "canonical") -> dict[str, float]:
    """The metrics of ``definition`` (a key of :data:`DEFINITIONS`) for ``predictions`` against ``references``."""
    if definition not in DEFINITIONS:
        raise ValueError(f"unknown metric definition {definition!r}; known: {', '.join(DEFINITIONS)}")
    _check_texts(predictions, references)
    return DEFINITIONS[definition][1](predictions, references)


__all__ = ["DEFINITIONS", "score"]
