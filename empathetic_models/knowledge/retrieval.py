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

import gzip
import json
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


KNOWLEDGE_FILE = "kemp_knowledge.json.gz"  # the retrieval table saved next to a KEMP checkpoint
KNOWLEDGE_FORMAT = "empathetic-models/kemp-knowledge/1"


class ConceptRetriever:
    """Callable for ``Dataset.map(batched=True)``: adds ``concepts``, ``concept_sources`` (index of the context
    word each concept hangs from, counting the flattened context words from 0) and ``concept_intensities``.

    Built from a ConceptNet index and the NRC-VAD lexicon, it keeps only what retrieval needs: each head
    word's top-K′ concepts with their η, and η of the words themselves. :meth:`save` writes that table as the
    compact file that travels with a KEMP checkpoint; :meth:`load` restores it without the resources.
    """

    def __init__(self, index: ConceptIndex, lexicon: VADLexicon, vocabulary=None, config: RetrievalConfig = RetrievalConfig()):
        allowed = (lambda c: c in vocabulary) if vocabulary is not None else (lambda c: True)
        top: dict[str, list[tuple[str, float]]] = {}
        for head, edges in index.edges.items():
            if " " in head or head in STOPWORDS:
                continue
            candidates = {
                e.tail for e in edges
                if e.weight > config.min_weight and " " not in e.tail and e.tail not in STOPWORDS and allowed(e.tail)
            }  # fmt: skip
            scored = sorted(((c, lexicon.intensity(c)) for c in candidates), key=lambda ce: (-ce[1], ce[0]))
            if scored:
                top[head] = scored[: config.concepts_per_token]
        words = lexicon.vad if vocabulary is None else (w for w in vocabulary if w in lexicon)
        intensities = {w: eta for w in words if (eta := lexicon.intensity(w)) > 0}
        self._set(top, intensities, config, index.source)

    def _set(self, top, intensities, config: RetrievalConfig, source: str) -> None:
        self.top, self.intensities, self.config, self.source = top, intensities, config, source
        self.fingerprint = datasets.fingerprint.Hasher.hash(
            [sorted(top.items()), sorted(intensities.items()), asdict(config), source]
        )

    def intensity(self, word: str) -> float:
        """η(word) of KEMP eq. 1 (0 outside the lexicon)."""
        return self.intensities.get(word, 0.0)

    def save(self, path: str | Path) -> None:
        """Write the retrieval table (gzipped JSON; a few hundred KB for an ED vocabulary)."""
        blob = {
            "format": KNOWLEDGE_FORMAT, "source": self.source, "config": asdict(self.config),
            "concepts": self.top, "intensities": self.intensities,
        }  # fmt: skip
        with gzip.open(path, "wt", encoding="utf-8") as f:
            json.dump(blob, f, separators=(",", ":"))

    @classmethod
    def load(cls, path: str | Path) -> ConceptRetriever:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(
                f"KEMP knowledge file not found: {path}; a KEMP checkpoint folder must hold {KNOWLEDGE_FILE} "
                "(written by training, or by ConceptRetriever.save)"
            )
        with gzip.open(path, "rt", encoding="utf-8") as f:
            blob = json.load(f)
        if blob.get("format") != KNOWLEDGE_FORMAT:
            raise ValueError(f"{path}: not a KEMP knowledge file (format {blob.get('format')!r}, expected {KNOWLEDGE_FORMAT!r})")
        retriever = cls.__new__(cls)
        top = {head: [(c, eta) for c, eta in concepts] for head, concepts in blob["concepts"].items()}
        retriever._set(top, blob["intensities"], RetrievalConfig(**blob["config"]), blob["source"])
        return retriever

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
