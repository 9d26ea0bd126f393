"""Scoring commonsense sources on held-out ATOMIC-2020 queries: BLEU-1/2 of each source's first inference
against the gold tails (all tails of the query are references), per relation, and speed.

The held-out queries are the official 5,000-query ATOMIC-2020 system-eval sample, for which the released
COMET-BART generations exist (:class:`ReleasedGenerations` replays them as a source, the reference point).
Retrieval sources must not index the evaluated heads: :func:`exclude_heads` drops them from the tuples.
"""

from __future__ import annotations

import json
import time
import warnings
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path

from nltk.translate.bleu_score import corpus_bleu

from .commonsense import CommonsenseSource, clean_tails, load_atomic


def normalize_head(head: str) -> str:
    """Heads compared across ATOMIC versions: lower-case, ``___`` blanks removed, white space collapsed."""
    return " ".join(head.replace("___", " ").lower().split())


def load_system_eval(path: str | Path) -> list[dict]:
    """Queries ``{head, relation, tails}`` of the ATOMIC-2020 system-eval TSV (``head @@ relation<TAB>tails``)."""
    grouped: dict[tuple[str, str], list[str]] = defaultdict(list)
    for head, relation, tail in load_atomic(path):
        grouped[(head, relation)].append(tail)
    return [{"head": h, "relation": r, "tails": t} for (h, r), t in grouped.items()]


def exclude_heads(triples: Sequence[tuple[str, str, str]], heads: Sequence[str]) -> list[tuple[str, str, str]]:
    held_out = {normalize_head(h) for h in heads}
    return [t for t in triples if normalize_head(t[0]) not in held_out]


class ReleasedGenerations(CommonsenseSource):
    """The released COMET-BART (ATOMIC-2020) beam outputs of the system-eval sample, replayed as a source."""

    def __init__(self, path: str | Path):
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"released COMET generations not found: {path}")
        self.generations: dict[tuple[str, str], list[str]] = {}
        with open(path, encoding="utf-8") as f:
            for line in f:
                record = json.loads(line)
                self.generations[(record["head"], record["relation"])] = record["generations"]
        self.relations = frozenset(r for _, r in self.generations)
        self.name = f"COMET-BART ATOMIC-2020, released generations ({path.name})"

    def fingerprint(self) -> str:
        return self.name

    def infer(self, heads, relations, k=5):
        self._check(relations)
        return [{r: clean_tails(self.generations.get((h, r), []), k) for r in relations} for h in heads]


def commonsense_bleu(hypotheses: Sequence[str], references: Sequence[Sequence[str]]) -> dict[str, float | None]:
    """Corpus BLEU-1 and BLEU-2 × 100 (lower-cased white-space tokens; every gold tail a reference). BLEU-2 is 0
    for relations whose tails are single words (xReact, xAttr): report BLEU-1 beside it."""
    if not hypotheses:
        return {"bleu_1": None, "bleu_2": None}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        scores = corpus_bleu(
            [[r.lower().split() for r in refs] for refs in references], [h.lower().split() for h in hypotheses],
            weights=[(1.0,), (0.5, 0.5)],
        )  # fmt: skip
    return {f"bleu_{n}": round(100.0 * float(score), 2) for n, score in enumerate(scores, 1)}


COMPARISON_GROUPS = {
    "social": ("xIntent", "xNeed", "xWant", "xEffect", "xReact", "xAttr", "oEffect", "oReact", "oWant"),
    "physical/entity": ("ObjectUse", "AtLocation", "MadeUpOf", "HasProperty", "CapableOf", "Desires", "Causes", "xReason"),
}


def compare_sources(
    queries: Sequence[dict], sources: Mapping[str, CommonsenseSource], groups: Mapping[str, Sequence[str]] = COMPARISON_GROUPS,
    batch_size: int = 256,
) -> dict:
    """Per source, per relation and per relation group: queries, coverage (share with an inference) and BLEU
    of the first inference (pooled over the group's queries; unanswered queries count as misses in
    coverage only); queries/s of ``infer``."""
    report = {}
    for name, source in sources.items():
        answerable = [q for q in queries if q["relation"] in source.relations]
        by_relation: dict[str, list[dict]] = defaultdict(list)
        for query in answerable:
            by_relation[query["relation"]].append(query)
        start = time.perf_counter()
        first: dict[int, str] = {}
        for relation, group in by_relation.items():
            for offset in range(0, len(group), batch_size):
                chunk = group[offset : offset + batch_size]
                for query, row in zip(chunk, source.infer([q["head"] for q in chunk], [relation], k=1), strict=True):
                    if row[relation]:
                        first[id(query)] = row[relation][0]
        seconds = time.perf_counter() - start
        relations = {}
        for relation, group in sorted(by_relation.items()):
            answered = [q for q in group if id(q) in first]
            relations[relation] = {
                "queries": len(group),
                "coverage": round(len(answered) / len(group), 4),
                **commonsense_bleu([first[id(q)] for q in answered], [q["tails"] for q in answered]),
            }
        pooled = {}
        for group, members in groups.items():
            asked = [q for q in queries if q["relation"] in members]
            answered = [q for q in asked if id(q) in first]
            pooled[group] = {
                "queries": len(asked),
                "coverage": round(len(answered) / max(1, len(asked)), 4),
                **commonsense_bleu([first[id(q)] for q in answered], [q["tails"] for q in answered]),
            }
        answered = [q for q in answerable if id(q) in first]
        report[name] = {
            "source": source.name,
            "queries": len(answerable),
            "coverage": round(len(answered) / max(1, len(answerable)), 4),
            **commonsense_bleu([first[id(q)] for q in answered], [q["tails"] for q in answered]),
            "queries_per_second": round(len(answerable) / seconds, 1) if seconds else None,
            "groups": pooled,
            "relations": relations,
        }
    return report


__all__ = ["COMPARISON_GROUPS", "ReleasedGenerations", "commonsense_bleu", "compare_sources", "exclude_heads", "load_system_eval", "normalize_head"]
