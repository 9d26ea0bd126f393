"""ConceptNet concept index: ``head → [Edge(relation, tail, weight)]``.

Two dump formats are read:
- the official ConceptNet 5 assertions CSV (``conceptnet-assertions-5.7.0.csv``, tab-separated
  ``uri, /r/Relation, /c/en/head/..., /c/en/tail/..., {"weight": w, ...}``): English-English edges, the
  JSON ``weight`` as confidence (the scale KEMP's threshold s > 0.1 was set on);
- ConceptNet 4 as a TSV with header ``head relation tail score freq`` (the Divisi2 English graph): negated
  assertions (``freq < 0``) are dropped, ``ConceptuallyRelatedTo`` is renamed ``RelatedTo``, and the weight is
  Divisi2's ``freq/10 · log2(score + 1)`` — a different scale from ConceptNet 5's, recorded in ``source``.
Relations KEMP's preprocessing removes (:data:`KEMP_REMOVED_RELATIONS`) are skipped by default.
"""

from __future__ import annotations

import gzip
import json
import math
from collections import defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import NamedTuple

from .fingerprint import content_fingerprint, file_fingerprint

# relations dropped by KEMP's released preprocessing (not useful for empathetic responses)
KEMP_REMOVED_RELATIONS = frozenset(
    {
        "Antonym", "ExternalURL", "NotDesires", "NotHasProperty", "NotCapableOf", "dbpedia", "DistinctFrom",
        "EtymologicallyDerivedFrom", "EtymologicallyRelatedTo", "SymbolOf", "FormOf", "AtLocation", "DerivedFrom",
        "CreatedBy", "Synonym", "MadeOf",
    }
)  # fmt: skip
CN4_RELATION_NAMES = {"ConceptuallyRelatedTo": "RelatedTo"}  # ConceptNet 4 name → ConceptNet 5 name
CN4_HEADER = ["head", "relation", "tail", "score", "freq"]


class Edge(NamedTuple):
    relation: str
    tail: str
    weight: float


def _open_text(path: Path):
    return gzip.open(path, "rt", encoding="utf-8") if path.suffix == ".gz" else open(path, encoding="utf-8")


class ConceptIndex:
    """Outgoing ConceptNet edges per head concept (lower-cased, words joined by spaces)."""

    def __init__(self, edges: dict[str, list[Edge]], source: str, fingerprint: str | None = None):
        self.edges, self.source, self._fingerprint = edges, source, fingerprint

    def fingerprint(self) -> str:
        """Identity of the index: the dump file's hash (plus the filter), or a hash of the edges."""
        if self._fingerprint is None:
            self._fingerprint = content_fingerprint([self.source, sorted((h, list(map(list, es))) for h, es in self.edges.items())])
        return self._fingerprint

    @classmethod
    def from_file(cls, path: str | Path, removed_relations: Iterable[str] = KEMP_REMOVED_RELATIONS) -> ConceptIndex:
        """Build from a ConceptNet 5 assertions CSV or a ConceptNet 4 TSV (detected from the first line)."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"ConceptNet dump not found: {path} (conceptnet-assertions-5.7.0.csv[.gz] or a ConceptNet 4 TSV)")
        with _open_text(path) as f:
            first = f.readline().rstrip("\n").split("\t")
        removed = frozenset(removed_relations)
        fingerprint = content_fingerprint([file_fingerprint(path), sorted(removed)])
        if first == CN4_HEADER:
            source = f"ConceptNet 4 ({path.name}); weight = freq/10 * log2(score+1)"
            return cls._collect(cls._conceptnet4(path, removed), source, fingerprint)
        if len(first) == 5 and first[1].startswith("/r/"):
            return cls._collect(cls._conceptnet5(path, removed), f"ConceptNet 5 ({path.name}); weight = edge weight", fingerprint)
        raise ValueError(f"{path}: neither a ConceptNet 5 assertions CSV nor a ConceptNet 4 TSV with header {CN4_HEADER}")

    @staticmethod
    def _conceptnet4(path: Path, removed: frozenset[str]) -> Iterator[tuple[str, Edge]]:
        with _open_text(path) as f:
            next(f)
            for number, line in enumerate(f, 2):
                fields = line.rstrip("\n").split("\t")
                if len(fields) != 5:
                    raise ValueError(f"{path}:{number}: expected 5 tab-separated fields, got {len(fields)}")
                head, relation, tail, score, freq = fields
                relation = CN4_RELATION_NAMES.get(relation, relation)
                if float(freq) < 0 or relation in removed:  # negated assertion / irrelevant relation
                    continue
                yield head.lower(), Edge(relation, tail.lower(), float(freq) / 10 * math.log2(float(score) + 1))

    @staticmethod
    def _conceptnet5(path: Path, removed: frozenset[str]) -> Iterator[tuple[str, Edge]]:
        with _open_text(path) as f:
            for number, line in enumerate(f, 1):
                if "\t/c/en/" not in line:
                    continue
                fields = line.rstrip("\n").split("\t")
                if len(fields) != 5:
                    raise ValueError(f"{path}:{number}: expected 5 tab-separated fields, got {len(fields)}")
                _, relation, start, end, info = fields
                relation = relation.split("/")[2]
                if not (start.startswith("/c/en/") and end.startswith("/c/en/")) or relation in removed:
                    continue
                head, tail = (uri.split("/")[3].replace("_", " ").lower() for uri in (start, end))
                yield head, Edge(relation, tail, float(json.loads(info).get("weight", 1.0)))

    @classmethod
    def _collect(cls, pairs: Iterable[tuple[str, Edge]], source: str, fingerprint: str) -> ConceptIndex:
        edges: dict[str, list[Edge]] = defaultdict(list)
        for head, edge in pairs:
            if head != edge.tail:
                edges[head].append(edge)
        return cls(dict(edges), source, fingerprint)

    def __contains__(self, head: str) -> bool:
        return head in self.edges

    def __len__(self) -> int:
        return len(self.edges)

    def get(self, head: str) -> list[Edge]:
        return self.edges.get(head, [])

    def num_edges(self) -> int:
        return sum(map(len, self.edges.values()))

    def restrict(self, heads: Iterable[str]) -> ConceptIndex:
        """The sub-index of ``heads`` (e.g. a model's vocabulary), to ship with a checkpoint."""
        return ConceptIndex({h: self.edges[h] for h in heads if h in self.edges}, self.source)

    def save(self, path: str | Path) -> None:
        """Compact gzipped JSON: ``{"source": ..., "edges": {head: [[relation, tail, weight], ...]}}``."""
        blob = {"source": self.source, "edges": {h: [list(e) for e in es] for h, es in self.edges.items()}}
        with gzip.open(path, "wt", encoding="utf-8") as f:
            json.dump(blob, f, separators=(",", ":"))

    @classmethod
    def load(cls, path: str | Path) -> ConceptIndex:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"concept index not found: {path}")
        with gzip.open(path, "rt", encoding="utf-8") as f:
            blob = json.load(f)
        return cls({h: [Edge(*e) for e in es] for h, es in blob["edges"].items()}, blob["source"])
