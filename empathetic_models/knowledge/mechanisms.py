"""Communication mechanisms (IMAGINE §3.2.1, after EPITOME, Sharma et al. 2020): Emotional Reactions (ER),
Interpretations (IP) and Explorations (EX) of a response to a seeker's post, each at level 0 (none), 1 (weak)
or 2 (strong), and binary (weak + strong → 1) as IMAGINE uses them.

One classifier per mechanism (any Hugging Face encoder, a sequence-pair classifier over (seeker post,
response)) is trained on EPITOME's Reddit part — research-only data, read from the user's copy, never shipped —
and then labels every ED example: the context is the seeker post, the target the response.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

import datasets
import torch

from .classifier import class_probabilities, load_classifier, trained_input_length
from .fingerprint import model_fingerprint

MECHANISMS = {"er": "emotional-reactions", "ip": "interpretations", "ex": "explorations"}  # key → EPITOME file stem
LEVELS = {0: "no", 1: "weak", 2: "strong"}
SPLIT_FRACTIONS = (0.75, 0.05, 0.20)  # EPITOME's train / valid / test


def load_epitome(folder: str | Path, mechanism: str, seed: int = 42) -> datasets.DatasetDict:
    """One mechanism's (seeker_post, response_post, level) pairs in a seeded 75:5:20 split. The three files hold
    the same pairs in the same order, so one seed gives every mechanism the same split."""
    if mechanism not in MECHANISMS:
        raise ValueError(f"unknown mechanism {mechanism!r}; expected one of {sorted(MECHANISMS)}")
    path = Path(folder) / f"{MECHANISMS[mechanism]}-reddit.csv"
    if not path.is_file():
        raise FileNotFoundError(f"EPITOME file not found: {path} (dataset/{path.name} of behavioral-data/Empathy-Mental-Health)")
    with open(path, newline="", encoding="utf-8") as f:  # RFC-4180: quoted fields may span lines
        rows = list(csv.DictReader(f))
    missing = {"seeker_post", "response_post", "level"} - set(rows[0] if rows else {})
    if missing:
        raise ValueError(f"{path}: missing columns {sorted(missing)}")
    for number, row in enumerate(rows, 2):
        if row["level"].strip() not in ("0", "1", "2"):
            raise ValueError(f"{path}: record {number}: level {row['level']!r} is not 0, 1 or 2")
    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)
    cut_train, cut_valid = int(SPLIT_FRACTIONS[0] * len(rows)), int((SPLIT_FRACTIONS[0] + SPLIT_FRACTIONS[1]) * len(rows))
    parts = {"train": order[:cut_train], "valid": order[cut_train:cut_valid], "test": order[cut_valid:]}
    return datasets.DatasetDict(
        {
            name: datasets.Dataset.from_dict(
                {
                    "seeker_post": [rows[i]["seeker_post"].strip() for i in index],
                    "response_post": [rows[i]["response_post"].strip() for i in index],
                    "label": [int(rows[i]["level"]) for i in index],
                },
                split=name,
            )
            for name, index in parts.items()
        }
    )


def mechanism_scores(labels, predictions) -> dict[str, float]:
    """3-level accuracy and macro-F1, and binary (level > 0) accuracy and F1 of the positive class, in %."""
    labels, predictions = torch.as_tensor(labels), torch.as_tensor(predictions)

    def f1(truth, guess, positive):
        tp = ((guess == positive) & (truth == positive)).sum().item()
        total = (guess == positive).sum().item() + (truth == positive).sum().item()
        return 200.0 * tp / total if total else 0.0

    binary_labels, binary_predictions = labels.gt(0).long(), predictions.gt(0).long()
    return {
        "accuracy": 100.0 * (labels == predictions).float().mean().item(),
        "macro_f1": sum(f1(labels, predictions, level) for level in LEVELS) / len(LEVELS),
        "binary_accuracy": 100.0 * (binary_labels == binary_predictions).float().mean().item(),
        "binary_f1": f1(binary_labels, binary_predictions, 1),
    }


class MechanismClassifier:
    """A trained (seeker post, response) → level classifier for one mechanism."""

    def __init__(self, model, tokenizer, mechanism: str, max_length: int = 256):
        if model.config.num_labels != len(LEVELS):
            raise ValueError(f"a communication-mechanism classifier predicts {len(LEVELS)} levels, this model has {model.config.num_labels}")
        self.model, self.tokenizer, self.mechanism, self.max_length = model.eval(), tokenizer, mechanism, max_length

    @classmethod
    def from_pretrained(cls, path: str | Path, mechanism: str, max_length: int | None = None, device: str | None = None) -> MechanismClassifier:
        """A classifier folder or hub id; inputs cut to ``max_length`` tokens (default: the length it was trained on)."""
        model, tokenizer = load_classifier(path, device)
        return cls(model, tokenizer, mechanism, max_length or trained_input_length(model))

    @property
    def name(self) -> str:
        return f"{self.mechanism}: {self.model.name_or_path}"

    def fingerprint(self) -> str:
        return model_fingerprint(self.model, self.tokenizer, self.mechanism, self.max_length)

    def encode(self, seeker_posts, responses) -> dict[str, list]:
        return self.tokenizer(list(seeker_posts), list(responses), truncation="longest_first", max_length=self.max_length)

    def levels(self, seeker_posts, responses, batch_size: int = 64) -> list[int]:
        return class_probabilities(self.model, self.tokenizer, self.encode(seeker_posts, responses), batch_size).argmax(-1).tolist()


def annotate_mechanisms(
    dataset: datasets.Dataset, classifiers: dict[str, MechanismClassifier], cache_dir: str | Path | None = None, batch_size: int = 64
) -> datasets.Dataset:
    """Add ``cm_<mechanism>`` (binary: weak or strong → 1) and ``cm_<mechanism>_level`` to ED response examples
    (seeker post = the context joined, response = the target); the classifiers are named in the description."""
    if set(classifiers) - set(MECHANISMS):
        raise ValueError(f"unknown mechanisms {sorted(set(classifiers) - set(MECHANISMS))}")

    def label(batch):
        posts = [" ".join(context) for context in batch["context"]]
        out = {}
        for key, classifier in classifiers.items():
            levels = classifier.levels(posts, batch["target"], batch_size)
            out[f"cm_{key}_level"], out[f"cm_{key}"] = levels, [int(level > 0) for level in levels]
        return out

    fingerprint = datasets.fingerprint.Hasher.hash([dataset._fingerprint, sorted((k, c.fingerprint()) for k, c in classifiers.items())])
    cache_file = None
    if cache_dir is not None:
        Path(cache_dir).mkdir(parents=True, exist_ok=True)
        cache_file = str(Path(cache_dir) / f"mechanisms-{fingerprint}.arrow")
    annotated = dataset.map(label, batched=True, batch_size=256, new_fingerprint=fingerprint, cache_file_name=cache_file,
                            load_from_cache_file=cache_file is not None, desc="labelling communication mechanisms")  # fmt: skip
    annotated.info.description = "communication mechanisms by " + "; ".join(c.name for c in classifiers.values())
    return annotated


__all__ = ["LEVELS", "MECHANISMS", "MechanismClassifier", "annotate_mechanisms", "load_epitome", "mechanism_scores"]
