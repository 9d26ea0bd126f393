"""Annotating all of EmpatheticDialogues with one kind of knowledge and writing it with its statistics: the jobs
behind ``empathetic-models annotate-concepts``, ``annotate-causes``, ``annotate-mechanisms`` and ``knowledge annotate``.

Each loads ED (``data_source``, ``split_style``), annotates every split (cached under ``cache_dir`` by the
annotator), writes ``OUTPUT_DIR/dataset`` (``save_to_disk``) and ``OUTPUT_DIR/<kind>_stats.json`` (provenance,
the annotator's identity, per split its size, a summary of the annotation and the wall-clock) and returns the stats.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from ..data import describe_split, load_empathetic_dialogues, save_annotated
from ..provenance import provenance


def annotate_ed_concepts(conceptnet: str, vad_lexicon: str, output_dir: str | Path, data_source: str = "sample",
                         split_style: str = "full", cache_dir: str | Path | None = None, num_proc: int | None = None) -> dict:  # fmt: skip
    """KEMP's emotional ConceptNet concepts per dialogue (:func:`~empathetic_models.knowledge.annotate_concepts`)
    into ``OUTPUT_DIR/dataset`` and ``concept_stats.json`` (mean concepts per dialogue per split)."""
    from . import ConceptIndex, ConceptRetriever, VADLexicon, annotate_concepts

    start = time.perf_counter()
    retriever = ConceptRetriever(ConceptIndex.from_file(conceptnet), VADLexicon.from_file(vad_lexicon))
    load_seconds = time.perf_counter() - start
    dataset = load_empathetic_dialogues(data_source, split_style=split_style)
    stats = {
        **provenance("empathetic-models"),
        "num_proc": num_proc or 1,
        "split": "train, valid, test",
        "split_style": describe_split(dataset),
        "concept_source": retriever.source,
        "fingerprint": retriever.fingerprint,
        "resource_load_s": round(load_seconds, 2),
        "splits": {},
    }
    for split in dataset:
        start = time.perf_counter()
        dataset[split] = annotate_concepts(dataset[split], retriever, cache_dir, num_proc)
        counts = [len(c) for c in dataset[split]["concepts"]]
        stats["splits"][split] = {
            "examples": len(counts),
            "mean_concepts_per_dialogue": round(sum(counts) / len(counts), 3),
            "annotate_wall_clock_s": round(time.perf_counter() - start, 2),
        }
    save_annotated(dataset, stats, output_dir, "concept_stats.json")
    return stats


def annotate_ed_causes(cause_detector: str, output_dir: str | Path, data_source: str = "sample", split_style: str = "full",
                       threshold: float = 0.5, max_length: int | None = None, batch_size: int = 64,
                       cache_dir: str | Path | None = None) -> dict:  # fmt: skip
    """The emotion-cause context utterances by a cause detector (:func:`~empathetic_models.knowledge.causes.annotate_causes`,
    ``P(cause) >= threshold``) into ``OUTPUT_DIR/dataset`` and ``cause_stats.json`` (cause-utterance rate per split)."""
    from .causes import CauseDetector, annotate_causes

    detector = CauseDetector.from_pretrained(cause_detector, max_length=max_length)
    dataset = load_empathetic_dialogues(data_source, split_style=split_style)
    stats = {
        **provenance("empathetic-models"),
        "detector": detector.name,
        "threshold": threshold,
        "split_style": describe_split(dataset),
        "splits": {},
    }
    for split in dataset:
        start = time.perf_counter()
        dataset[split] = annotate_causes(dataset[split], detector, cache_dir, threshold, batch_size)
        flags = [f for example in dataset[split]["cause_flags"] for f in example]
        stats["splits"][split] = {
            "examples": len(dataset[split]),
            "context_utterances": len(flags),
            "cause_utterance_rate": round(sum(flags) / len(flags), 4),
            "annotate_wall_clock_s": round(time.perf_counter() - start, 2),
        }
    save_annotated(dataset, stats, output_dir, "cause_stats.json")
    return stats


def annotate_ed_mechanisms(classifiers: Mapping[str, str | None], output_dir: str | Path, data_source: str = "sample",
                           split_style: str = "full", max_length: int | None = None, batch_size: int = 64,
                           cache_dir: str | Path | None = None) -> dict:  # fmt: skip
    """The communication mechanisms of every ED response by EPITOME-trained classifiers (``classifiers``: ``er`` /
    ``ip`` / ``ex`` → folder or hub id; at least one) into ``OUTPUT_DIR/dataset`` (:func:`~empathetic_models.knowledge.annotate_mechanisms`)
    and ``mechanism_stats.json`` (share of each mechanism per split)."""
    from .mechanisms import MechanismClassifier, annotate_mechanisms

    paths = {key: classifiers.get(key) for key in ("er", "ip", "ex") if classifiers.get(key)}
    if not paths:
        raise ValueError("give at least one classifier: --er-classifier, --ip-classifier and/or --ex-classifier "
                         "(trained by python -m empathetic_models.training.train_mechanism_classifier)")  # fmt: skip
    loaded = {key: MechanismClassifier.from_pretrained(path, key, max_length) for key, path in paths.items()}
    dataset = load_empathetic_dialogues(data_source, split_style=split_style)
    stats = {**provenance("empathetic-models"), "classifiers": {k: c.name for k, c in loaded.items()},
             "split_style": describe_split(dataset), "splits": {}}  # fmt: skip
    for split in dataset:
        start = time.perf_counter()
        dataset[split] = annotate_mechanisms(dataset[split], loaded, cache_dir, batch_size)
        stats["splits"][split] = {
            "examples": len(dataset[split]),
            **{f"share_{k}": round(100 * sum(dataset[split][f"cm_{k}"]) / len(dataset[split]), 2) for k in loaded},
            "annotate_wall_clock_s": round(time.perf_counter() - start, 2),
        }
    save_annotated(dataset, stats, output_dir, "mechanism_stats.json")
    return stats


def annotate_ed_commonsense(output_dir: str | Path, tasks: Sequence[str] = ("case", "imagine", "nec"), atomic: Sequence[str] | None = None,
                            conceptnet: str | None = None, comet: str | None = None, encoder: str | None = None,
                            cache_dir: str | Path = Path.home() / ".cache" / "empathetic_models" / "commonsense",
                            neighbors: int = 25, data_source: str = "sample", split_style: str = "full", k: int = 5,
                            max_entities: int = 10, batch_size: int = 256) -> dict:  # fmt: skip
    """The commonsense columns each of ``tasks`` (case, imagine, nec) reads
    (:func:`~empathetic_models.knowledge.annotate_commonsense`), from a COMET checkpoint or ATOMIC retrieval
    (index in ``CACHE_DIR/atomic_index``) + ConceptNet (:func:`~empathetic_models.knowledge.commonsense.offline_commonsense`),
    annotations cached in ``CACHE_DIR/annotations``; writes ``OUTPUT_DIR/dataset`` and ``commonsense_stats.json``
    (build and per-split, per-task wall-clock; the source of every column)."""
    from .commonsense import offline_commonsense
    from .commonsense_annotation import annotate_commonsense, commonsense_sources

    start = time.perf_counter()
    knowledge = offline_commonsense(atomic=atomic, conceptnet=conceptnet, comet=comet, encoder=encoder,
                                    cache_dir=Path(cache_dir) / "atomic_index", neighbors=neighbors)  # fmt: skip
    build_seconds = time.perf_counter() - start
    dataset = load_empathetic_dialogues(data_source, split_style=split_style)
    stats = {**provenance("empathetic-models"), "tasks": list(tasks), "k": k, "split_style": describe_split(dataset),
             "knowledge_build_wall_clock_s": round(build_seconds, 2), "splits": {}}  # fmt: skip
    for split in dataset:
        stats["splits"][split] = {"examples": len(dataset[split])}
        for task in tasks:
            start = time.perf_counter()
            dataset[split] = annotate_commonsense(dataset[split], knowledge, task, Path(cache_dir) / "annotations", k,
                                                  max_entities, batch_size)  # fmt: skip
            stats["splits"][split][f"{task}_wall_clock_s"] = round(time.perf_counter() - start, 2)
    stats["columns"] = commonsense_sources(dataset["train"])
    stats["total_wall_clock_s"] = round(build_seconds + sum(v for s in stats["splits"].values() for key, v in s.items() if key.endswith("_s")), 2)
    save_annotated(dataset, stats, output_dir, "commonsense_stats.json")
    return stats


__all__ = ["annotate_ed_causes", "annotate_ed_commonsense", "annotate_ed_concepts", "annotate_ed_mechanisms"]
