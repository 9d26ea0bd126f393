"""Per-model featurizers: response examples (``empathetic_models.data``) → model tensors.

Tokenization is owned by the featurizer, not by the data layer, so subword models (BART, BlenderBot)
can bring their own. :func:`featurizer_for` is the one place where a ``model_type`` picks its featurizer.
"""

from __future__ import annotations

import json
import logging
from bisect import bisect_right
from collections.abc import Sequence
from itertools import accumulate
from pathlib import Path

import torch
from transformers import PreTrainedTokenizerBase
from transformers.utils import cached_file

from .data import LISTENER, SPEAKER
from .knowledge.retrieval import KNOWLEDGE_FILE, ConceptRetriever
from .text import word_tokenize

logger = logging.getLogger(__name__)

STATE_IDS = {SPEAKER: 0, LISTENER: 1}
CONCEPT_STATE = 2  # KEMP's vertex state of ConceptNet concepts


def default_roles(num_utterances: int) -> list[str]:
    """Roles for a user-supplied dialogue: the last utterance is the speaker's, roles alternate backwards."""
    return [SPEAKER if (num_utterances - 1 - i) % 2 == 0 else LISTENER for i in range(num_utterances)]


class WordContextFeaturizer:
    """Word-level featurizer of the from-scratch models (MoEL's preprocessing).

    Encoder input ``[CLS] u_1 … u_n`` (each utterance word-tokenized), ``dialogue_state_ids`` 0 for speaker
    tokens (and [CLS]), 1 for listener tokens; ``labels`` = target words + [EOS]; ``emotion_labels``.
    A history longer than ``max_source_length`` tokens keeps [CLS] and its most recent tokens (the oldest
    words are dropped, and the number of truncated examples is logged).
    """

    model_input_names = ("input_ids", "attention_mask", "dialogue_state_ids")
    use_dialogue_states = True

    def __init__(self, tokenizer: PreTrainedTokenizerBase, max_source_length: int = 512, max_target_length: int = 128):
        if max_source_length < 2:
            raise ValueError("max_source_length must leave room for [CLS] and at least one word")
        self.tokenizer = tokenizer
        self.max_source_length, self.max_target_length = max_source_length, max_target_length
        self.vocab = tokenizer.get_vocab()
        self.unk_id, self.cls_id, self.eos_id = tokenizer.unk_token_id, tokenizer.cls_token_id, tokenizer.eos_token_id
        self.pad_id = tokenizer.pad_token_id

    @classmethod
    def from_checkpoint(cls, tokenizer: PreTrainedTokenizerBase, checkpoint: str | Path, **kwargs):
        """The featurizer of a saved model (folder or hub id): reads whatever it saved beside the weights."""
        return cls(tokenizer, **kwargs)

    def save_pretrained(self, folder: str | Path) -> None:
        """Save what :meth:`from_checkpoint` needs besides the tokenizer (nothing for word-context models)."""

    def _ids(self, text: str) -> list[int]:
        return [self.vocab.get(word, self.unk_id) for word in word_tokenize(text)]

    def encode_context(self, context: Sequence[str], roles: Sequence[str] | None = None) -> tuple[list[int], list[int], bool]:
        """Ids and dialogue states of ``[CLS] context``; the flag says whether it was truncated."""
        roles = default_roles(len(context)) if roles is None else roles
        ids, states = [self.cls_id], [STATE_IDS[SPEAKER]]
        for utterance, role in zip(context, roles, strict=True):
            words = self._ids(utterance)
            ids += words
            states += [STATE_IDS[role]] * len(words)
        truncated = len(ids) > self.max_source_length
        if truncated:
            keep = self.max_source_length - 1
            ids, states = [self.cls_id] + ids[-keep:], [states[0]] + states[-keep:]
        return ids, states, truncated

    def encode_target(self, target: str) -> list[int]:
        return self._ids(target)[: self.max_target_length - 1] + [self.eos_id]

    def __call__(self, batch: dict[str, list]) -> dict[str, list]:
        """Batched ``Dataset.map`` function over response examples."""
        encoded = [self.encode_context(c, r) for c, r in zip(batch["context"], batch["context_roles"], strict=True)]
        if (num_truncated := sum(t for _, _, t in encoded)) > 0:
            logger.info("%d dialogue histories exceeded %d tokens; kept their most recent tokens", num_truncated, self.max_source_length)
        features = {"input_ids": [e[0] for e in encoded]}
        if self.use_dialogue_states:
            features["dialogue_state_ids"] = [e[1] for e in encoded]
        if "target" in batch:
            features["labels"] = [self.encode_target(t) for t in batch["target"]]
        if "emotion" in batch:
            features["emotion_labels"] = list(batch["emotion"])
        return features

    def pad(self, features: list[dict]) -> dict[str, torch.Tensor]:
        """Right-pad a list of featurized examples into a batch (labels padded with -100)."""
        batch: dict[str, torch.Tensor] = {}
        ids = [f["input_ids"] for f in features]
        width = max(map(len, ids))
        batch["input_ids"] = torch.tensor([x + [self.pad_id] * (width - len(x)) for x in ids])
        batch["attention_mask"] = torch.tensor([[1] * len(x) + [0] * (width - len(x)) for x in ids])
        if "dialogue_state_ids" in features[0]:
            batch["dialogue_state_ids"] = torch.tensor([f["dialogue_state_ids"] + [0] * (width - len(f["dialogue_state_ids"])) for f in features])
        if "labels" in features[0]:
            length = max(len(f["labels"]) for f in features)
            batch["labels"] = torch.tensor([f["labels"] + [-100] * (length - len(f["labels"])) for f in features])
        if "emotion_labels" in features[0]:
            batch["emotion_labels"] = torch.tensor([f["emotion_labels"] for f in features])
        return batch

    def encode_dialogues(self, dialogues: Sequence[Sequence[str]]) -> dict[str, torch.Tensor]:
        """Batch of validated user dialogues (lists of utterances, last = speaker) → model inputs."""
        names = ("input_ids", "dialogue_state_ids") if self.use_dialogue_states else ("input_ids",)
        return self.pad([dict(zip(names, self.encode_context(d)[:2])) for d in dialogues])


class KempFeaturizer(WordContextFeaturizer):
    """KEMP's emotional context graph vertices (kemp.txt, "Emotional Context Graph").

    ``input_ids`` = ``[CLS] x_1 … x_m c_1 … c_k``: the flattened context words, then the ConceptNet concepts
    retrieved for them (at most ``concepts_per_dialogue``); ``dialogue_state_ids`` 0/1 for speaker/listener
    words, 2 for concepts; ``concept_sources`` the vertex index of each concept's source word (-1 for words);
    ``emotion_intensity`` η of every vertex (eq. 1; 0 for [CLS] and words outside NRC-VAD). The model derives
    the graph's edges from these. Concepts come from ``concepts``/``concept_sources``/``concept_intensities``
    columns when the examples were annotated (:func:`~empathetic_models.knowledge.annotate_concepts`),
    otherwise from the retriever. Long histories keep their most recent words, leaving room for the concepts.
    """

    model_input_names = ("input_ids", "attention_mask", "dialogue_state_ids", "concept_sources", "emotion_intensity")

    def __init__(
        self, tokenizer: PreTrainedTokenizerBase, retriever: ConceptRetriever | None = None, max_source_length: int = 512,
        max_target_length: int = 128, max_concepts: int | None = None,
    ):  # fmt: skip
        if retriever is None:
            raise ValueError(
                "KEMP needs its ConceptNet + NRC-VAD retrieval table: pass retriever= (built with ConceptRetriever from "
                f"the resources) or load the featurizer from a KEMP checkpoint holding {KNOWLEDGE_FILE}"
            )
        super().__init__(tokenizer, max_source_length, max_target_length)
        self.retriever = retriever
        self.max_concepts = retriever.config.concepts_per_dialogue if max_concepts is None else max_concepts
        self.max_words = max_source_length - 1 - self.max_concepts
        if self.max_words < 1:
            raise ValueError(f"max_source_length={max_source_length} leaves no room for words beside [CLS] and {self.max_concepts} concepts")

    @classmethod
    def from_checkpoint(cls, tokenizer: PreTrainedTokenizerBase, checkpoint: str | Path, **kwargs):
        if Path(checkpoint).is_dir():
            path = Path(checkpoint) / KNOWLEDGE_FILE
            path = path if path.is_file() else None
        else:  # a hub id
            try:
                path = cached_file(str(checkpoint), KNOWLEDGE_FILE, _raise_exceptions_for_missing_entries=False)
            except OSError as error:
                raise FileNotFoundError(f"cannot read {KNOWLEDGE_FILE} of {checkpoint}: {error}") from None
        if path is None:
            raise FileNotFoundError(f"{checkpoint} has no {KNOWLEDGE_FILE}: it is not a complete KEMP checkpoint (the retrieval table travels with the weights)")
        return cls(tokenizer, ConceptRetriever.load(path), **kwargs)

    def save_pretrained(self, folder: str | Path) -> None:
        self.retriever.save(Path(folder) / KNOWLEDGE_FILE)

    def _word_pieces(self, words: Sequence[str]) -> list[list[int]]:
        """Token ids of each word: one vocabulary entry here; subword featurizers split words into pieces."""
        return [[self.vocab.get(w, self.unk_id)] for w in words]

    def encode_graph(self, context: Sequence[str], roles: Sequence[str] | None = None, annotation: tuple | None = None) -> tuple[dict, bool]:
        """Vertex features of one dialogue; ``annotation`` = (concepts, sources, intensities) over the full context.
        A word of several pieces gives a vertex per piece (its state and η on each); a concept's source is the
        first piece of its word."""
        roles = default_roles(len(context)) if roles is None else roles
        words, states = [], []
        for utterance, role in zip(context, roles, strict=True):
            tokens = word_tokenize(utterance)
            words += tokens
            states += [STATE_IDS[role]] * len(tokens)
        pieces = self._word_pieces(words)
        kept_pieces = list(accumulate(len(p) for p in reversed(pieces)))  # pieces of the last 1, 2, … words
        dropped = len(words) - bisect_right(kept_pieces, self.max_words)
        words, states, pieces = words[dropped:], states[dropped:], pieces[dropped:]
        if annotation is None:
            concepts, sources, intensities = self.retriever.retrieve(words)
        else:  # sources count the full context's words: shift past the dropped ones
            kept = [(c, s - dropped, e) for c, s, e in zip(*annotation, strict=True) if s >= dropped]
            concepts, sources, intensities = ([k[i] for k in kept] for i in range(3))
        features = {"input_ids": [self.cls_id], "dialogue_state_ids": [STATE_IDS[SPEAKER]], "concept_sources": [-1], "emotion_intensity": [0.0]}
        first_piece = []
        for word, state, word_pieces in zip(words, states, pieces, strict=True):
            first_piece.append(len(features["input_ids"]))
            self._add_vertices(features, word_pieces, state, -1, self.retriever.intensity(word))
        for concept_pieces, source, intensity in zip(self._word_pieces(concepts), sources, intensities, strict=True):
            if len(features["input_ids"]) + len(concept_pieces) > self.max_source_length:
                break
            self._add_vertices(features, concept_pieces, CONCEPT_STATE, first_piece[source], intensity)
        return features, dropped > 0

    @staticmethod
    def _add_vertices(features: dict, ids: list[int], state: int, source: int, intensity: float) -> None:
        features["input_ids"] += ids
        features["dialogue_state_ids"] += [state] * len(ids)
        features["concept_sources"] += [source] * len(ids)
        features["emotion_intensity"] += [intensity] * len(ids)

    def __call__(self, batch: dict[str, list]) -> dict[str, list]:
        annotations = [None] * len(batch["context"])
        if "concepts" in batch:
            annotations = list(zip(batch["concepts"], batch["concept_sources"], batch["concept_intensities"], strict=True))
        encoded = [self.encode_graph(c, r, a) for c, r, a in zip(batch["context"], batch["context_roles"], annotations, strict=True)]
        if (num_truncated := sum(t for _, t in encoded)) > 0:
            logger.info("%d dialogue histories exceeded %d words; kept their most recent words", num_truncated, self.max_words)
        features = {name: [e[name] for e, _ in encoded] for name in encoded[0][0]}
        if "target" in batch:
            features["labels"] = [self.encode_target(t) for t in batch["target"]]
        if "emotion" in batch:
            features["emotion_labels"] = list(batch["emotion"])
        return features

    def pad(self, features: list[dict]) -> dict[str, torch.Tensor]:
        batch = super().pad(features)
        width = batch["input_ids"].shape[1]
        batch["concept_sources"] = torch.tensor([f["concept_sources"] + [-1] * (width - len(f["concept_sources"])) for f in features])
        batch["emotion_intensity"] = torch.tensor([f["emotion_intensity"] + [0.0] * (width - len(f["emotion_intensity"])) for f in features])
        return batch

    def encode_dialogues(self, dialogues: Sequence[Sequence[str]]) -> dict[str, torch.Tensor]:
        return self.pad([self.encode_graph(d)[0] for d in dialogues])


class CauseLabelFeaturizer(WordContextFeaturizer):
    """Word-context inputs plus, for annotated examples (``cause_word_labels`` from
    :func:`~empathetic_models.knowledge.causes.annotate_causes`), ``cause_labels`` aligned with ``input_ids``
    ([CLS] = 1; a truncated history keeps the labels of its kept words; padding = -100). No dialogue states:
    the model's inputs are word + position + emotion embeddings."""

    model_input_names = ("input_ids", "attention_mask")
    use_dialogue_states = False

    def __call__(self, batch: dict[str, list]) -> dict[str, list]:
        features = super().__call__(batch)
        if "cause_word_labels" in batch:
            labels = []
            for ids, word_labels in zip(features["input_ids"], batch["cause_word_labels"], strict=True):
                if len(word_labels) < len(ids):
                    raise ValueError(f"{len(word_labels)} cause labels for {len(ids)} tokens: the annotation does not match this tokenization")
                labels.append([word_labels[0]] + word_labels[len(word_labels) - len(ids) + 1 :])
            features["cause_labels"] = labels
        return features

    def pad(self, features: list[dict]) -> dict[str, torch.Tensor]:
        batch = super().pad(features)
        if "cause_labels" in features[0]:
            width = batch["input_ids"].shape[1]
            batch["cause_labels"] = torch.tensor([f["cause_labels"] + [-100] * (width - len(f["cause_labels"])) for f in features])
        return batch


class ImagineFeaturizer(WordContextFeaturizer):
    """IMAGINE's inputs (imagine.txt §3): the context S; the cause sequence C = [CLS] + the utterances flagged in
    ``cause_flags`` (:func:`~empathetic_models.knowledge.causes.annotate_causes`; C = S when none is flagged or the
    examples carry no flags); ``knowledge_ids`` (4, K) = S_Affect (the xReact inferences, no [CLS]), S_Behav,
    S_Phys, S_Events ([CLS] + the inferences of their relations, joined) from the ``imagine_*`` columns of
    :func:`~empathetic_models.knowledge.annotate_commonsense` or from ``commonsense`` (any source, asked with C);
    ``mechanism_labels`` (er, ip, ex) from the ``cm_*`` columns of :func:`~empathetic_models.knowledge.annotate_mechanisms`.
    New dialogues without a commonsense source get no knowledge (the model then refines C alone).
    """

    model_input_names = WordContextFeaturizer.model_input_names + (
        "cause_input_ids", "cause_attention_mask", "cause_state_ids", "knowledge_ids", "knowledge_attention_mask",
    )  # fmt: skip

    def __init__(self, tokenizer: PreTrainedTokenizerBase, commonsense=None, inferences_per_relation: int = 5,
                 max_knowledge_length: int = 64, max_source_length: int = 512, max_target_length: int = 128):  # fmt: skip
        super().__init__(tokenizer, max_source_length, max_target_length)
        self.commonsense, self.inferences_per_relation, self.max_knowledge_length = commonsense, inferences_per_relation, max_knowledge_length

    def encode_knowledge(self, inferences: dict[str, Sequence[str]]) -> list[list[int]]:
        from modeling.modeling_imagine import KNOWLEDGE_TYPES

        from .knowledge.commonsense import IMAGINE_RELATION_TYPES

        rows = []
        for kind in KNOWLEDGE_TYPES:
            words = [i for r in IMAGINE_RELATION_TYPES[kind] for tail in inferences[r][: self.inferences_per_relation] for i in self._ids(tail)]
            prefix = [] if kind == "Affect" else [self.cls_id]  # S_Affect has no [CLS] (eq. 12 averages it)
            rows.append((prefix + words)[: self.max_knowledge_length] or [self.pad_id])
        return rows

    def _knowledge_rows(self, batch: dict, heads: list[str]) -> list[list[list[int]]] | None:
        from .knowledge.commonsense import IMAGINE_RELATIONS

        if "imagine_xReact" in batch:
            return [self.encode_knowledge({r: batch[f"imagine_{r}"][n] for r in IMAGINE_RELATIONS}) for n in range(len(heads))]
        if self.commonsense is None:
            return None
        unique = list(dict.fromkeys(heads))
        inferred = dict(zip(unique, self.commonsense.infer(unique, IMAGINE_RELATIONS, self.inferences_per_relation), strict=True))
        return [self.encode_knowledge(inferred[h]) for h in heads]

    def encode_causes(self, context, roles, flags) -> tuple[list[int], list[int]]:
        kept = [(u, r) for u, r, f in zip(context, roles, flags or [], strict=False) if f] or list(zip(context, roles, strict=True))
        ids, states, _ = self.encode_context([u for u, _ in kept], [r for _, r in kept])
        return ids, states

    def _features(self, contexts, roles, flags, knowledge_source: dict) -> dict[str, list]:
        from .knowledge.commonsense_annotation import cause_sequence

        causes = [self.encode_causes(c, r, f) for c, r, f in zip(contexts, roles, flags, strict=True)]
        features = {"cause_input_ids": [c[0] for c in causes], "cause_state_ids": [c[1] for c in causes]}
        knowledge = self._knowledge_rows(knowledge_source, [cause_sequence(c, f) for c, f in zip(contexts, flags, strict=True)])
        if knowledge is not None:
            features["knowledge_ids"] = knowledge
        return features

    def __call__(self, batch: dict[str, list]) -> dict[str, list]:
        features = super().__call__(batch)
        flags = batch.get("cause_flags") or [None] * len(batch["context"])
        features.update(self._features(batch["context"], batch["context_roles"], flags, batch))
        if "cm_er" in batch:
            features["mechanism_labels"] = [list(x) for x in zip(batch["cm_er"], batch["cm_ip"], batch["cm_ex"], strict=True)]
        return features

    def pad(self, features: list[dict]) -> dict[str, torch.Tensor]:
        batch = super().pad(features)
        width = max(len(f["cause_input_ids"]) for f in features)
        batch["cause_input_ids"] = torch.tensor([f["cause_input_ids"] + [self.pad_id] * (width - len(f["cause_input_ids"])) for f in features])
        batch["cause_attention_mask"] = batch["cause_input_ids"].ne(self.pad_id).long()
        batch["cause_state_ids"] = torch.tensor([f["cause_state_ids"] + [0] * (width - len(f["cause_state_ids"])) for f in features])
        if "knowledge_ids" in features[0]:
            width = max(len(row) for f in features for row in f["knowledge_ids"])
            batch["knowledge_ids"] = torch.tensor([[row + [self.pad_id] * (width - len(row)) for row in f["knowledge_ids"]] for f in features])
            batch["knowledge_attention_mask"] = batch["knowledge_ids"].ne(self.pad_id).long()
        if "mechanism_labels" in features[0]:
            batch["mechanism_labels"] = torch.tensor([f["mechanism_labels"] for f in features])
        return batch

    def encode_dialogues(self, dialogues: Sequence[Sequence[str]]) -> dict[str, torch.Tensor]:
        roles = [default_roles(len(d)) for d in dialogues]
        base = [dict(zip(("input_ids", "dialogue_state_ids"), self.encode_context(d, r)[:2], strict=True)) for d, r in zip(dialogues, roles, strict=True)]
        extra = self._features(dialogues, roles, [None] * len(dialogues), {})
        return self.pad([{**b, **{k: v[n] for k, v in extra.items()}} for n, b in enumerate(base)])


COMMONSENSE_FILE = "case_commonsense.json"  # how a CASE checkpoint's featurizer rebuilds its commonsense source


class CaseFeaturizer(KempFeaturizer):
    """CASE's inputs (case.txt §3.1): KEMP's vertex layout for the context and G_EC, keeping the ``max_concepts``
    (N′) concepts of highest emotion intensity ω; and G_CS / the reactions from commonsense.

    ``cs_input_ids`` (N, L): ``[CLS]`` + words of every G_CS vertex — u_0 = x_N, its sub-utterances, then up to
    ``inferences_per_relation`` (l) inferences per (u_i, relation) for xIntent, xNeed, xWant, xEffect;
    ``cs_vertex_types`` / ``cs_owners`` as :func:`modeling.graphs.cognition_graph` reads them;
    ``reaction_ids`` (U, L): ``[CLS]`` + the xReact inferences of each u_i. Commonsense comes from the
    ``cs_*`` columns of :func:`~empathetic_models.knowledge.annotate_commonsense` (task ``case``) when present,
    else from ``commonsense`` (any :class:`~empathetic_models.knowledge.CommonsenseSource`), which is how
    ``generate`` / ``chat`` / the pipeline handle new dialogues.
    """

    model_input_names = KempFeaturizer.model_input_names + (
        "cs_input_ids", "cs_attention_mask", "cs_vertex_types", "cs_owners", "reaction_ids", "reaction_attention_mask",
    )  # fmt: skip

    def __init__(
        self, tokenizer: PreTrainedTokenizerBase, retriever: ConceptRetriever | None = None, commonsense=None,
        commonsense_spec: dict | None = None, max_concepts: int = 10, inferences_per_relation: int = 5,
        max_vertex_length: int = 32, max_source_length: int = 512, max_target_length: int = 128,
    ):  # fmt: skip
        super().__init__(tokenizer, retriever, max_source_length, max_target_length, max_concepts)
        self.inferences_per_relation, self.max_vertex_length = inferences_per_relation, max_vertex_length
        self.commonsense, self.commonsense_spec = commonsense, commonsense_spec

    @classmethod
    def from_checkpoint(cls, tokenizer: PreTrainedTokenizerBase, checkpoint: str | Path, **kwargs):
        """Restore the retrieval table, N′ / l / vertex length and, when its resources are reachable here, the
        commonsense source the model was trained with (``case_commonsense.json``)."""
        if Path(checkpoint).is_dir():
            path = Path(checkpoint) / COMMONSENSE_FILE
            path = path if path.is_file() else None
        else:
            path = cached_file(str(checkpoint), COMMONSENSE_FILE, _raise_exceptions_for_missing_entries=False)
        saved = json.loads(Path(path).read_text()) if path else {"settings": {}, "commonsense": None}
        featurizer = super().from_checkpoint(tokenizer, checkpoint, **{**saved["settings"], **kwargs})
        spec = saved["commonsense"]
        if spec and "commonsense" not in kwargs:
            from .knowledge.commonsense import offline_commonsense

            try:
                featurizer.commonsense, featurizer.commonsense_spec = offline_commonsense(**spec), spec
            except (FileNotFoundError, OSError) as error:
                logger.warning("CASE's commonsense source %s is unavailable here (%s): new dialogues need annotated cs_* columns", spec, error)
        return featurizer

    def save_pretrained(self, folder: str | Path) -> None:
        super().save_pretrained(folder)
        settings = {"max_concepts": self.max_concepts, "inferences_per_relation": self.inferences_per_relation, "max_vertex_length": self.max_vertex_length}
        blob = {"settings": settings, "commonsense": self.commonsense_spec}
        (Path(folder) / COMMONSENSE_FILE).write_text(json.dumps(blob, indent=2) + "\n")

    def encode_graph(self, context, roles=None, annotation=None):
        features, truncated = super().encode_graph(context, roles, annotation)
        concepts = [i for i, state in enumerate(features["dialogue_state_ids"]) if state == CONCEPT_STATE]
        if len(concepts) > self.max_concepts:  # keep the N′ concepts of highest ω (ties: the earlier one)
            drop = set(sorted(concepts, key=lambda i: -features["emotion_intensity"][i])[self.max_concepts :])
            features = {k: [x for i, x in enumerate(v) if i not in drop] for k, v in features.items()}
        return features, truncated

    def _vertex(self, text: str) -> list[int]:
        return [self.cls_id] + self._ids(text)[: self.max_vertex_length - 1]

    def encode_commonsense(self, heads: Sequence[str], inferences: dict[str, Sequence[Sequence[str]]]) -> dict[str, list]:
        """G_CS vertices and reaction sequences of one dialogue; ``inferences[relation][i]`` = tails for ``heads[i]``."""
        from modeling.graphs import COGNITION_RELATIONS, KNOWLEDGE, SUB_UTTERANCE, UTTERANCE

        l = self.inferences_per_relation  # noqa: E741  (the paper's name)
        ids = [self._vertex(h) for h in heads]
        types = [UTTERANCE] + [SUB_UTTERANCE] * (len(heads) - 1)
        owners = list(range(len(heads)))
        for i in range(len(heads)):
            for r, relation in enumerate(COGNITION_RELATIONS):
                for tail in inferences[relation][i][:l]:
                    ids.append(self._vertex(tail))
                    types.append(KNOWLEDGE + r)
                    owners.append(i)
        reactions = [self._vertex(" ".join(tails[:l])) for tails in inferences["xReact"]]
        return {"cs_input_ids": ids, "cs_vertex_types": types, "cs_owners": owners, "reaction_ids": reactions}

    def _commonsense_rows(self, contexts: Sequence[Sequence[str]], batch: dict | None = None) -> list[tuple]:
        from .knowledge.commonsense import SOCIAL_RELATIONS
        from .knowledge.commonsense_annotation import sub_utterances

        if batch is not None and "cs_heads" in batch:
            return [(batch["cs_heads"][n], {r: batch[f"cs_{r}"][n] for r in SOCIAL_RELATIONS}) for n in range(len(contexts))]
        if self.commonsense is None:
            raise ValueError(
                "CASE needs commonsense: annotate the examples (empathetic_models.knowledge.annotate_commonsense, task 'case') "
                "or give the featurizer a commonsense source (commonsense=...)"
            )
        heads = [sub_utterances(context[-1]) for context in contexts]
        unique = list(dict.fromkeys(h for hs in heads for h in hs))
        inferred = dict(zip(unique, self.commonsense.infer(unique, SOCIAL_RELATIONS, self.inferences_per_relation), strict=True))
        return [(hs, {r: [inferred[h][r] for h in hs] for r in SOCIAL_RELATIONS}) for hs in heads]

    def __call__(self, batch: dict[str, list]) -> dict[str, list]:
        features = super().__call__(batch)
        encoded = [self.encode_commonsense(*row) for row in self._commonsense_rows(batch["context"], batch)]
        features.update({name: [e[name] for e in encoded] for name in encoded[0]})
        return features

    def pad(self, features: list[dict]) -> dict[str, torch.Tensor]:
        batch = super().pad(features)
        for name, mask_name in (("cs_input_ids", "cs_attention_mask"), ("reaction_ids", "reaction_attention_mask")):
            rows = max(len(f[name]) for f in features)
            width = max(len(seq) for f in features for seq in f[name])
            ids = torch.full((len(features), rows, width), self.pad_id)
            for b, f in enumerate(features):
                for n, seq in enumerate(f[name]):
                    ids[b, n, : len(seq)] = torch.tensor(seq)
            batch[name], batch[mask_name] = ids, ids.ne(self.pad_id).long()
        rows = batch["cs_input_ids"].shape[1]
        batch["cs_vertex_types"] = torch.tensor([f["cs_vertex_types"] + [-1] * (rows - len(f["cs_vertex_types"])) for f in features])
        batch["cs_owners"] = torch.tensor([f["cs_owners"] + [0] * (rows - len(f["cs_owners"])) for f in features])
        return batch

    def encode_dialogues(self, dialogues: Sequence[Sequence[str]]) -> dict[str, torch.Tensor]:
        graphs = [self.encode_graph(d)[0] for d in dialogues]
        for graph, row in zip(graphs, self._commonsense_rows(dialogues), strict=True):
            graph.update(self.encode_commonsense(*row))
        return self.pad(graphs)


class CaseBlenderbotFeaturizer(CaseFeaturizer):
    """CASE's inputs for a subword backbone (CASE-BlenderBot, case.txt §4.5): :class:`CaseFeaturizer`'s vertices with
    every context word and concept split into the backbone tokenizer's pieces (see :meth:`KempFeaturizer.encode_graph`);
    G_CS vertices, reactions and responses tokenized by it. [CLS] is the tokenizer's CLS (else BOS), EOS its EOS
    (else SEP)."""

    def __init__(self, tokenizer: PreTrainedTokenizerBase, *args, **kwargs):
        super().__init__(tokenizer, *args, **kwargs)
        self.cls_id = tokenizer.cls_token_id if tokenizer.cls_token_id is not None else tokenizer.bos_token_id
        self.eos_id = tokenizer.eos_token_id if tokenizer.eos_token_id is not None else tokenizer.sep_token_id
        if self.cls_id is None or self.eos_id is None or self.pad_id is None:
            raise ValueError(f"{type(tokenizer).__name__} needs a CLS or BOS, an EOS or SEP and a PAD token for CASE-BlenderBot")

    def _ids(self, text: str) -> list[int]:
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def _word_pieces(self, words: Sequence[str]) -> list[list[int]]:
        if not words:
            return []
        # a leading space: byte-level BPE (BART) marks word starts with it; BlenderBot-small and WordPiece ignore it
        return [ids or [self.unk_id] for ids in self.tokenizer([" " + w for w in words], add_special_tokens=False)["input_ids"]]


from .subword_featurization import NecFeaturizer  # noqa: E402  (subword backbones; imports nothing from here)

FEATURIZERS = {
    "empathetic_transformer": WordContextFeaturizer, "kemp": KempFeaturizer, "emocause": CauseLabelFeaturizer, "case": CaseFeaturizer,
    "imagine": ImagineFeaturizer, "nec": NecFeaturizer, "case_blenderbot": CaseBlenderbotFeaturizer,
}  # fmt: skip


def featurizer_for(
    model_type: str, tokenizer: PreTrainedTokenizerBase, checkpoint: str | Path | None = None, **kwargs
) -> WordContextFeaturizer:
    """The featurizer of ``model_type`` (a config's ``model_type``) around ``tokenizer``; with ``checkpoint``
    (folder or hub id) it also reads what the featurizer saved there (e.g. KEMP's retrieval table)."""
    try:
        cls = FEATURIZERS[model_type]
    except KeyError:
        raise ValueError(f"no featurizer for model_type {model_type!r}; known: {sorted(FEATURIZERS)}") from None
    return cls.from_checkpoint(tokenizer, checkpoint, **kwargs) if checkpoint is not None else cls(tokenizer, **kwargs)
