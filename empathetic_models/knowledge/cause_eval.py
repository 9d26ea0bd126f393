"""An ED evaluation set for the emotion-cause detector (after Gao et al. 2021 §4.1): a reproducible draw of ED test
examples, one per conversation, whose context utterances are labelled cause / not cause by hand, and the
detector's utterance-level accuracy, precision, recall and F1 on it.

The unit is what :func:`~empathetic_models.knowledge.causes.annotate_causes` labels: one response example of the
paper split (``split_style="paper"``), its emotion label, its situation and every utterance of its context.
The labelled set lives in ``hub_cards/knowledge/ed_cause_eval/`` (``labels.jsonl``, ``GUIDELINE.md``,
``README.md``); ED is CC BY-NC 4.0 (Rashkin et al. 2019), so are those excerpts.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import datasets

from ..data import EMOTIONS, load_empathetic_dialogues
from .causes import CauseAnnotator, CauseDetector, cause_f1

DEFAULT_SEED = 2021
"""Seed of the committed draw (the year of Gao et al.'s paper)."""

LABEL_FIELDS = ("conv_id", "turn", "emotion", "situation", "context", "roles", "cause_labels")


def draw_cause_eval_sample(
    data_source: str | os.PathLike | datasets.Dataset = "sample", n: int = 100, seed: int = DEFAULT_SEED
) -> list[dict]:
    """``n`` test examples of the paper split from ``n`` distinct conversations, drawn reproducibly.

    ``data_source`` is anything :func:`~empathetic_models.data.load_empathetic_dialogues` reads (its ``test``
    split is loaded with ``split_style="paper"``), or such a test ``Dataset`` itself. With ``random.Random(seed)``
    the draw takes ``n`` conversation ids (``rng.sample`` over the conversations in file order), then one of each
    conversation's response examples (``rng.choice`` in the same order); the result is in dataset order. Each
    record holds ``conv_id, turn, emotion`` (name), ``situation, context, roles`` (speaker / listener).
    """
    if isinstance(data_source, datasets.Dataset):
        test = data_source
    else:
        test = load_empathetic_dialogues(data_source, split_style="paper", splits="test")["test"]
    by_conversation: dict[str, list[int]] = {}
    for index, conv_id in enumerate(test["conv_id"]):
        by_conversation.setdefault(conv_id, []).append(index)
    if not 0 < n <= len(by_conversation):
        raise ValueError(f"n must be between 1 and the {len(by_conversation)} test conversations, got {n}")
    rng = random.Random(seed)
    chosen = rng.sample(list(by_conversation), n)
    indices = sorted(rng.choice(by_conversation[conv_id]) for conv_id in chosen)
    names = test.features["emotion"].names
    return [
        {
            "conv_id": example["conv_id"], "turn": example["turn"], "emotion": names[example["emotion"]],
            "situation": example["situation"], "context": example["context"], "roles": example["context_roles"],
        }  # fmt: skip
        for example in test.select(indices)
    ]


def read_cause_labels(labels_file: str | Path) -> list[dict]:
    """The records of a ``labels.jsonl`` (one dialogue a line), checked: every context utterance has a 0/1 label."""
    records = []
    for number, line in enumerate(Path(labels_file).read_text().splitlines(), start=1):
        if not line.strip():
            continue
        record = json.loads(line)
        missing = [k for k in LABEL_FIELDS if k not in record]
        if missing:
            raise ValueError(f"{labels_file} line {number}: missing {missing}")
        labels, context = record["cause_labels"], record["context"]
        if len(labels) != len(context) or len(record["roles"]) != len(context) or any(x not in (0, 1) for x in labels):
            raise ValueError(f"{labels_file} line {number}: need one 0/1 cause label and one role per context utterance")
        if record["emotion"] not in EMOTIONS:
            raise ValueError(f"{labels_file} line {number}: unknown emotion {record['emotion']!r}")
        records.append(record)
    return records


def detector_cause_flags(detector: CauseDetector, records: list[dict], threshold: float = 0.5, batch_size: int = 64) -> list[list[int]]:
    """The detector's 0/1 flags per context utterance of each record, through :class:`CauseAnnotator` (the path of
    :func:`~empathetic_models.knowledge.causes.annotate_causes`: emotion name, the last context utterance as the
    target, each context utterance as a candidate, the context as the history; batched)."""
    annotator = CauseAnnotator(detector, list(EMOTIONS), threshold, batch_size)
    batch = {"context": [r["context"] for r in records], "emotion": [EMOTIONS.index(r["emotion"]) for r in records]}
    return annotator(batch)["cause_flags"]


def cause_scores(gold: list[list[int]], predicted: list[list[int]]) -> dict[str, float | int]:
    """Utterance-level accuracy and precision / recall / F1 of the cause class (fractions in [0, 1]; 0.0 where a
    ratio is undefined), the positive rates, the counts, and the fraction of dialogues with every utterance right."""
    if len(gold) != len(predicted) or any(len(g) != len(p) for g, p in zip(gold, predicted, strict=True)):
        raise ValueError("gold and predicted labels differ in shape")
    pairs = [(g, p) for gs, ps in zip(gold, predicted, strict=True) for g, p in zip(gs, ps, strict=True)]
    if not pairs:
        raise ValueError("no utterances to score")
    tp = sum(g == p == 1 for g, p in pairs)
    gold_pos, pred_pos = sum(g for g, _ in pairs), sum(p for _, p in pairs)
    precision = tp / pred_pos if pred_pos else 0.0
    recall = tp / gold_pos if gold_pos else 0.0
    return {
        "accuracy": sum(g == p for g, p in pairs) / len(pairs),
        "f1": 2 * tp / (gold_pos + pred_pos) if gold_pos + pred_pos else 0.0,
        "precision": precision,
        "recall": recall,
        "positive_rate_gold": gold_pos / len(pairs),
        "positive_rate_predicted": pred_pos / len(pairs),
        "dialogue_exact_match": sum(list(g) == list(p) for g, p in zip(gold, predicted, strict=True)) / len(gold),
        "utterances": len(pairs),
        "dialogues": len(gold),
    }


def evaluate_detector_on_ed_set(
    detector: CauseDetector, labels_file: str | Path, threshold: float = 0.5, batch_size: int = 64
) -> dict[str, float | int]:
    """:func:`cause_scores` of the detector's flags (at ``threshold``) against the hand labels of ``labels_file``:
    ``accuracy, f1, precision, recall, positive_rate_gold, positive_rate_predicted, dialogue_exact_match,
    utterances, dialogues``."""
    records = read_cause_labels(labels_file)
    predicted = detector_cause_flags(detector, records, threshold, batch_size)
    return cause_scores([r["cause_labels"] for r in records], predicted)


def threshold_curve(labels: list[int], probabilities: list[float], grid: list[float] | None = None) -> list[dict]:
    """RECCON's F1 (positive, negative, macro; in %) and the positive rate of the pairs at each threshold of ``grid``
    (default 0.05, 0.10, …, 0.95)."""
    grid = grid or [round(0.05 * i, 2) for i in range(1, 20)]
    curve = []
    for threshold in grid:
        predicted = [int(p >= threshold) for p in probabilities]
        curve.append({"threshold": threshold, **{k: round(v, 2) for k, v in cause_f1(labels, predicted).items()},
                      "positive_rate": round(sum(predicted) / max(len(predicted), 1), 4)})  # fmt: skip
    return curve


def calibrate_threshold(labels: list[int], probabilities: list[float], grid: list[float] | None = None) -> tuple[float, list[dict]]:
    """The threshold of ``grid`` with the best macro F1 (RECCON's headline metric) on validation pairs (ties: the one
    nearest 0.5), and the whole :func:`threshold_curve`."""
    curve = threshold_curve(labels, probabilities, grid)
    best = max(curve, key=lambda point: (point["macro_f1"], -abs(point["threshold"] - 0.5)))
    return best["threshold"], curve


def causal_fraction(detector: CauseDetector, dataset: datasets.Dataset, thresholds: list[float], batch_size: int = 64) -> dict[float, float]:
    """Fraction of the context utterances of ED response examples ``dataset`` that the detector marks causal, at each
    threshold (one scoring pass, through :class:`CauseAnnotator`)."""
    annotator = CauseAnnotator(detector, dataset.features["emotion"].names, 0.5, batch_size)
    probabilities = [p for start in range(0, len(dataset), 256)
                     for probs in annotator(dataset[start : start + 256])["cause_probs"] for p in probs]  # fmt: skip
    return {t: round(sum(p >= t for p in probabilities) / max(len(probabilities), 1), 4) for t in thresholds}


__all__ = [
    "DEFAULT_SEED", "calibrate_threshold", "causal_fraction", "cause_scores", "threshold_curve", "detector_cause_flags", "draw_cause_eval_sample", "evaluate_detector_on_ed_set",
    "read_cause_labels",
]  # fmt: skip
