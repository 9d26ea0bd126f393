"""Scoring commonsense sources on held-out ATOMIC-2020 queries: BLEU-1/2 of each source's first inference
against the gold tails (all tails of the query are references), per relation, and speed.

The held-out queries are the official 5,000-query ATOMIC-2020 system-eval sample, for which the released
COMET-BART generations exist (:class:`ReleasedGenerations` replays them as a source, the reference point).
Retrieval sources must not index the evaluated heads: :func:`exclude_heads` drops them from the tuples.
:func:`write_source_comparison` is the job behind ``empathetic-models knowledge compare``.
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


def write_source_comparison(
    queries_path: str | Path,
    output: str | Path,
    atomic: Sequence[str] | None = None,
    conceptnet: str | None = None,
    comet: Sequence[str] | None = None,
    released_generations: str | None = None,
    encoder: str | None = None,
    cache_dir: str | Path = Path.home() / ".cache" / "empathetic_models" / "commonsense",
    neighbors: Sequence[int] = (25,),
    max_queries: int | None = None,
) -> dict:
    """``empathetic-models knowledge compare``: build the given sources (ATOMIC retrieval over ``atomic`` minus every
    evaluated head, one per ``neighbors`` value, its index cached in ``CACHE_DIR/atomic_index``; ConceptNet; each COMET
    checkpoint; the released COMET-BART generations), score them on the first ``max_queries`` system-eval queries
    (:func:`compare_sources`) and write the report with provenance and build times to ``OUTPUT.json`` and its
    :func:`comparison_markdown` to ``OUTPUT.md``; returns the report."""
    from ..provenance import provenance
    from .commonsense import COMET, AtomicRetriever, ConceptNetCommonsense
    from .sentence_encoder import SentenceEncoder

    queries = load_system_eval(queries_path)
    if max_queries:
        queries = queries[:max_queries]
    sources, build = {}, {}
    if atomic:
        start = time.perf_counter()
        triples = exclude_heads(load_atomic(atomic), [q["head"] for q in queries])  # never index an evaluated head
        sentence_encoder = SentenceEncoder.from_pretrained(encoder)
        name = ", ".join(Path(p).name for p in atomic) + " minus the evaluated heads"
        for k in neighbors:  # the first builds (or loads) the cached head embeddings: its time includes loading
            key = "atomic_retrieval" if len(neighbors) == 1 else f"atomic_retrieval_{k}nn"
            sources[key] = AtomicRetriever(triples, sentence_encoder, name, Path(cache_dir) / "atomic_index", k)
            build[key] = round(time.perf_counter() - start, 2)
            start = time.perf_counter()
    if conceptnet:
        start = time.perf_counter()
        sources["conceptnet"] = ConceptNetCommonsense.from_file(conceptnet)
        build["conceptnet"] = round(time.perf_counter() - start, 2)
    for path in comet or []:
        start = time.perf_counter()
        sources[f"comet:{Path(path).name}"] = COMET.from_pretrained(path)
        build[f"comet:{Path(path).name}"] = round(time.perf_counter() - start, 2)
    if released_generations:
        sources["comet_bart_released"] = ReleasedGenerations(released_generations)
    if not sources:
        raise ValueError("nothing to compare: give --atomic, --conceptnet, --comet and/or --released-generations")
    report = {**provenance("empathetic-models"), "queries_file": Path(queries_path).name, "queries": len(queries),
              "metric": "corpus BLEU-1/2 x 100 of the first inference vs all gold tails (lower-cased white-space tokens)",
              "build_wall_clock_s": build, "sources": compare_sources(queries, sources)}  # fmt: skip
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    output.with_suffix(".md").write_text(comparison_markdown(report))
    return report


def comparison_markdown(report: Mapping) -> str:
    """The Markdown of a :func:`write_source_comparison` report: BLEU-2 / BLEU-1 (coverage) per relation group (pooled)
    and per relation, one column per source, then each source's description, queries/s and build time."""
    names = list(report["sources"])

    def cell(entry):
        if entry is None or entry["bleu_1"] is None:
            return "—"
        return f"{entry['bleu_2']:.2f} / {entry['bleu_1']:.2f} ({100 * entry['coverage']:.0f}%)"

    lines = [f"# Commonsense sources on {report['queries']} held-out ATOMIC-2020 queries ({report['queries_file']})", "",
             f"BLEU-2 / BLEU-1 (coverage); {report['metric']}. Command: `{report['command']}` at {report['commit']}.", "",
             "| relation | queries | " + " | ".join(names) + " |", "|---|---|" + "---|" * len(names)]  # fmt: skip
    first = report["sources"][names[0]]
    for group in first["groups"]:
        entries = [report["sources"][n]["groups"][group] for n in names]
        lines.append(f"| **{group}** (pooled) | {entries[0]['queries']} | " + " | ".join(cell(e) for e in entries) + " |")
    relations = sorted({r for n in names for r in report["sources"][n]["relations"]})
    for relation in relations:
        entries = [report["sources"][n]["relations"].get(relation) for n in names]
        count = next(e["queries"] for e in entries if e)
        lines.append(f"| {relation} | {count} | " + " | ".join(cell(e) for e in entries) + " |")
    lines += ["", "| source | what | queries/s | build (s) |", "|---|---|---|---|"]
    for name in names:
        entry = report["sources"][name]
        lines.append(f"| {name} | {entry['source']} | {entry['queries_per_second']} | {report['build_wall_clock_s'].get(name, '—')} |")
    return "\n".join(lines) + "\n"


__all__ = ["COMPARISON_GROUPS", "ReleasedGenerations", "commonsense_bleu", "compare_sources", "comparison_markdown", "exclude_heads",
           "load_system_eval", "normalize_head", "write_source_comparison"]
