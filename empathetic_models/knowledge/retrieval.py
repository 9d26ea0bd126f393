"""KEMP's emotional-knowledge retrieval (kemp.txt, "Emotional Context Graph", steps 1–2) as a batched,
cached ``Dataset.map`` over ED response examples.

For each non-stop-word of the flattened context ``x_1 … x_m`` (MoEL-style word tokens): take its ConceptNet
tuples with a relevant relation (the index already excludes KEMP's removed relations) and confidence
s > ``min_weight`` (0.1), rank their concepts by emotion intensity η (eq. 1) and keep the top
``concepts_per_token`` (K′ = 5); words are visited left to right until the dialogue holds
``concepts_per_dialogue`` (10) concepts, as KEMP's preprocessing does. Concepts are single words, not
stop-words, not already in the dialogue, and (when a vocabulary is given) in the model's vocabulary.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path

import datasets

from ..text import word_tokenize
from .conceptnet import ConceptIndex
from .vad import VADLexicon

logger = logging.getLogger(__name__)

STOPWORDS = frozenset(
    (resources.files("empathetic_models") / "resources" / "stopwords_en.txt").read_text().split()
)  # NLTK's English stop-word list (179 words); NLTK's corpus download is unavailable offline


@dataclass(frozen=True)
class RetrievalConfig:
    min_weight: float = 0.1  # KEMP's confidence threshold on ConceptNet weights
    concepts_per_token: int = 5  # K′
    concepts_per_dialogue: int = 10


class ConceptRetriever:
    """Callable for ``Dataset.map(batched=True)``: adds ``concepts``, ``concept_sources`` (index of the context
    word each concept hangs from, counting the flattened context words from 0) and ``concept_intensities``."""

    def __init__(self, index: ConceptIndex, lexicon: VADLexicon, vocabulary=None, config: RetrievalConfig = RetrievalConfig()):
        self.config, self.source = config, index.source
        allowed = (lambda c: c in vocabulary) if vocabulary is not None else (lambda c: True)
        self.top: dict[str, list[tuple[str, float]]] = {}
        for head, edges in index.edges.items():
            if " " in head or head in STOPWORDS:
                continue
            candidates = {
                e.tail for e in edges
                if e.weight > config.min_weight and " " not in e.tail and e.tail not in STOPWORDS and allowed(e.tail)
            }  # fmt: skip
            scored = sorted(((c, lexicon.intensity(c)) for c in candidates), key=lambda ce: (-ce[1], ce[0]))
            if scored:
                self.top[head] = scored[: config.concepts_per_token]
        vocabulary_key = sorted(vocabulary) if vocabulary is not None else None
        self.fingerprint = datasets.fingerprint.Hasher.hash(
            [index.fingerprint(), lexicon.fingerprint(), asdict(config), vocabulary_key]
        )

    def retrieve(self, words: list[str]) -> tuple[list[str], list[int], list[float]]:
        concepts, sources, intensities = [], [], []
        present = set(words)
        for position, word in enumerate(words):
            for concept, intensity in self.top.get(word, ()):
                if len(concepts) == self.config.concepts_per_dialogue:
                    return concepts, sources, intensities
                if concept not in present:
                    present.add(concept)
                    concepts.append(concept)
                    sources.append(position)
                    intensities.append(intensity)
        return concepts, sources, intensities

    def __call__(self, batch: dict[str, list]) -> dict[str, list]:
        retrieved = [self.retrieve([w for u in context for w in word_tokenize(u)]) for context in batch["context"]]
        return {
            "concepts": [r[0] for r in retrieved],
            "concept_sources": [r[1] for r in retrieved],
            "concept_intensities": [r[2] for r in retrieved],
        }


def annotate_concepts(
    dataset: datasets.Dataset, retriever: ConceptRetriever, cache_dir: str | Path | None = None, num_proc: int | None = None
) -> datasets.Dataset:
    """Add the concept columns to ``dataset``. With ``cache_dir`` the result is stored under a fingerprint of
    the dataset, the ConceptNet index, the lexicon and the retrieval settings, so a changed resource never
    reuses stale annotations and an unchanged one is loaded instead of recomputed."""
    fingerprint = datasets.fingerprint.Hasher.hash([dataset._fingerprint, retriever.fingerprint])
    cache_file = None
    if cache_dir is not None:
        Path(cache_dir).mkdir(parents=True, exist_ok=True)
        cache_file = str(Path(cache_dir) / f"concepts-{fingerprint}.arrow")
    return dataset.map(
        retriever, batched=True, num_proc=num_proc, new_fingerprint=fingerprint, cache_file_name=cache_file,
        load_from_cache_file=cache_file is not None, desc="retrieving ConceptNet concepts",
    )  # fmt: skip
