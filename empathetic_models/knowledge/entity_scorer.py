"""NEC's entity-knowledge scorer (nec.txt §3.2, after SAKDP): a BERT-style sequence-pair classifier on (dialogue
history, linearised triple "ent, rel, tail") whose positive probability ranks K_all; the top m triples are K_E.

Training labels follow the authors' code: a triple is relevant when its entity occurs in the history and its tail in
the gold response, or its entity in the gold response and its tail in the history (lower-cased, whole words).
:func:`scorer_pairs` builds them from ED examples annotated for NEC (``nec_entity_knowledge``, task ``nec`` of
:func:`~empathetic_models.knowledge.annotate_commonsense`); ``python -m empathetic_models.training.train_entity_scorer`` trains one.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import datasets
import torch

from .classifier import class_probabilities, load_classifier, save_classifier, trained_input_length


def linearize(triple: dict) -> str:
    """L(·) of nec.txt eq. 3: "ent, rel, tail"."""
    return f"{triple['entity']}, {triple['relation']}, {triple['tail']}"


def _mentions(text: str, phrase: str) -> bool:
    phrase = phrase.strip().lower()
    return bool(phrase) and re.search(rf"(?<!\w){re.escape(phrase)}(?!\w)", text.lower()) is not None


def is_relevant(history: str, response: str, triple: dict) -> bool:
    """The training label: entity in the history and tail in the response, or the other way round."""
    entity, tail = triple["entity"], triple["tail"]
    return (_mentions(history, entity) and _mentions(response, tail)) or (_mentions(response, entity) and _mentions(history, tail))


def scorer_pairs(dataset: datasets.Dataset, negatives_per_positive: int | None = 3, seed: int = 42) -> datasets.Dataset:
    """(history, fact, label) pairs from NEC-annotated ED examples; with ``negatives_per_positive`` the negatives
    are subsampled (seeded) to that ratio, else all are kept."""
    if "nec_entity_knowledge" not in dataset.column_names:
        raise ValueError("the examples carry no nec_entity_knowledge: annotate them first (empathetic-models knowledge annotate --task nec)")
    histories, facts, labels = [], [], []
    for context, target, triples in zip(dataset["context"], dataset["target"], dataset["nec_entity_knowledge"], strict=True):
        history = " ".join(context)
        for triple in triples:
            histories.append(history)
            facts.append(linearize(triple))
            labels.append(int(is_relevant(history, target, triple)))
    keep = list(range(len(labels)))
    if negatives_per_positive is not None:
        positives = [i for i in keep if labels[i]]
        negatives = [i for i in keep if not labels[i]]
        rng = random.Random(seed)
        negatives = rng.sample(negatives, min(len(negatives), negatives_per_positive * max(len(positives), 1)))
        keep = sorted(positives + negatives)
    return datasets.Dataset.from_dict({"history": [histories[i] for i in keep], "fact": [facts[i] for i in keep], "label": [labels[i] for i in keep]})


class EntityKnowledgeScorer:
    """A trained (history, "ent, rel, tail") → relevant classifier; :meth:`scores` gives P(relevant)."""

    def __init__(self, model, tokenizer, max_length: int = 256):
        if model.config.num_labels != 2:
            raise ValueError(f"an entity-knowledge scorer is a binary classifier, this model has {model.config.num_labels} labels")
        self.model, self.tokenizer, self.max_length = model.eval(), tokenizer, max_length
        self.tokenizer.truncation_side = "left"  # a long history loses its oldest tokens; the fact stays whole

    @classmethod
    def from_pretrained(cls, path: str | Path, max_length: int | None = None, device: str | None = None, subfolder: str = "") -> EntityKnowledgeScorer:
        """A scorer folder or hub id (``subfolder``: inside a checkpoint); inputs cut to ``max_length`` tokens (default:
        the length it was trained on)."""
        model, tokenizer = load_classifier(path, device, subfolder)
        return cls(model, tokenizer, max_length or trained_input_length(model))

    def save_pretrained(self, folder: str | Path) -> None:
        save_classifier(self.model, self.tokenizer, folder)

    @property
    def name(self) -> str:
        return str(self.model.name_or_path)

    def encode(self, histories: list[str], facts: list[str]) -> dict[str, list]:
        return self.tokenizer(list(histories), list(facts), truncation="only_first", max_length=self.max_length)

    def scores(self, histories: list[str], facts: list[str], batch_size: int = 64) -> torch.Tensor:
        """P(relevant) of each (history, fact) pair, (N,)."""
        if not facts:
            return torch.empty(0)
        return class_probabilities(self.model, self.tokenizer, self.encode(histories, facts), batch_size)[:, 1]


__all__ = ["EntityKnowledgeScorer", "is_relevant", "linearize", "scorer_pairs"]
