"""Featurizers: ED response examples (``empathetic_models.data``) and served dialogues → model tensors.

One :class:`Featurizer` per input family owns everything between a dialogue and the model: the resources it is
built from (:meth:`Featurizer.from_arguments`, the training command line), the knowledge annotation of a dataset
split (:meth:`~Featurizer.annotate`, cached under a ``datasets`` fingerprint in one cache location) or of served
dialogues (:meth:`~Featurizer.annotate_batch`: the same annotators, so training, test and serving see the same
inputs), tokenization, padding, a :meth:`~Featurizer.describe` line for results and cards, and
:meth:`~Featurizer.save_pretrained` / :meth:`~Featurizer.from_pretrained` of whatever it needs to serve.
:data:`FEATURIZERS` maps a config's ``model_type`` to its class (one registry line per model).
"""

from __future__ import annotations

import json
import logging
from bisect import bisect_right
from collections.abc import Callable, Sequence
from itertools import accumulate
from pathlib import Path
from typing import ClassVar

import datasets
import torch
from torch.nn.utils.rnn import pad_sequence
from transformers import PreTrainedTokenizerBase
from transformers.utils import cached_file

from .data import LISTENER, SPEAKER
from .knowledge.retrieval import KNOWLEDGE_FILE, ConceptRetriever
from .text import word_tokenize

logger = logging.getLogger(__name__)

STATE_IDS = {SPEAKER: 0, LISTENER: 1}
CONCEPT_STATE = 2  # KEMP's vertex state of ConceptNet concepts
FEATURIZER_CONFIG = "featurizer_config.json"  # the featurizer's settings and resource files, beside the weights
FEATURIZERS: dict[str, type[Featurizer]] = {}


class MissingResourceError(ValueError):
    """A featurizer cannot be built or used without a resource; the message names it and how to provide it."""


def register_featurizer(model_type: str):
    """Class decorator: ``model_type`` (a config's) is featurized by this class."""

    def register(cls):
        cls.model_type = model_type
        FEATURIZERS[model_type] = cls
        return cls

    return register


def default_roles(num_utterances: int) -> list[str]:
    """Roles for a user-supplied dialogue: the last utterance is the speaker's, roles alternate backwards."""
    return [SPEAKER if (num_utterances - 1 - i) % 2 == 0 else LISTENER for i in range(num_utterances)]


def knowledge_cache(cache_dir: str | Path | None, kind: str) -> Path:
    """The one cache location of knowledge annotations: ``<cache_dir>/<kind>``, by default under the datasets cache."""
    return Path(cache_dir or Path(datasets.config.HF_DATASETS_CACHE) / "empathetic_models") / kind


def pad_rows(rows: Sequence[Sequence], value, dtype=None) -> torch.Tensor:
    """Right-pad sequences of different lengths into one (N, max length) tensor."""
    return pad_sequence([torch.tensor(row, dtype=dtype) for row in rows], batch_first=True, padding_value=value)


def pad_grid(grids: Sequence[Sequence[Sequence[int]]], value: int) -> torch.Tensor:
    """Right-pad examples holding several sequences each into one (N, max rows, max length) tensor."""
    rows, width = max(len(g) for g in grids), max([len(seq) for g in grids for seq in g] + [1])
    out = torch.full((len(grids), rows, width), value)
    for b, grid in enumerate(grids):
        for n, seq in enumerate(grid):
            out[b, n, : len(seq)] = torch.tensor(seq, dtype=out.dtype)
    return out


def _locator(checkpoint: str | Path) -> Callable[[str], Path]:
    """``locate(name)``: the local path of a file saved in ``checkpoint`` (a folder or a hub id)."""

    def locate(name: str) -> Path:
        if Path(checkpoint).is_dir():
            path = Path(checkpoint) / name
            if not path.is_file():
                raise FileNotFoundError(f"{checkpoint} has no {name}: the checkpoint is incomplete (the featurizer saves it with the weights)")
            return path
        try:
            return Path(cached_file(str(checkpoint), name))
        except OSError as error:
            raise FileNotFoundError(f"cannot read {name} of {checkpoint}: {error}") from None

    return locate


def _read_featurizer_config(checkpoint: str | Path) -> dict | None:
    if Path(checkpoint).is_dir():
        path = Path(checkpoint) / FEATURIZER_CONFIG
        path = path if path.is_file() else None
    else:
        try:
            path = cached_file(str(checkpoint), FEATURIZER_CONFIG, _raise_exceptions_for_missing_entries=False)
        except OSError as error:
            raise FileNotFoundError(f"{checkpoint}: no such checkpoint folder, and not a reachable hub repository ({error})") from None
    if path is None:
        return None
    try:
        return json.loads(Path(path).read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not valid JSON ({error}); re-save the checkpoint's featurizer") from None


class Featurizer:
    """Base of every featurizer (see the module docstring).

    Subclasses set ``model_input_names`` and implement :meth:`__call__` (a batched ``Dataset.map`` function over
    response examples) and :meth:`pad`; those with knowledge override :meth:`from_arguments`, :meth:`annotate`,
    :meth:`annotate_batch`, :meth:`describe` and the resource hooks :meth:`save_resources` / :meth:`load_resources`.
    """

    model_type: ClassVar[str | None] = None
    model_input_names: ClassVar[tuple[str, ...]] = ("input_ids", "attention_mask")
    needs_emotion: ClassVar[bool] = False  # annotating a served dialogue reads its emotion (IMAGINE's causes)

    def __init__(self, tokenizer: PreTrainedTokenizerBase, max_source_length: int = 512, max_target_length: int = 128):
        self.tokenizer = tokenizer
        self.max_source_length, self.max_target_length = max_source_length, max_target_length
        self.pad_id = tokenizer.pad_token_id

    # --- building -------------------------------------------------------------------------------------------

    @classmethod
    def from_arguments(cls, tokenizer: PreTrainedTokenizerBase, config, arguments, **settings) -> Featurizer:
        """Build from the training command line: ``arguments`` holds the resource flags (``empathetic_models.training.train``'s
        ``ModelArguments``), ``config`` is the model's; ``settings`` are lengths. Raises :class:`MissingResourceError`."""
        return cls(tokenizer, **settings)

    def fit(self, train: datasets.Dataset) -> Featurizer:
        """Learn what the featurizer takes from the training split (NEC's negatives); nothing by default."""
        return self

    # --- knowledge ------------------------------------------------------------------------------------------

    def annotate(self, dataset: datasets.Dataset, cache_dir: str | Path | None = None, num_proc: int | None = None) -> datasets.Dataset:
        """``dataset`` with the knowledge columns :meth:`__call__` reads, cached under :func:`knowledge_cache`."""
        return dataset

    def annotate_batch(self, batch: dict[str, list]) -> dict[str, list]:
        """The same columns for a batch that lacks them (served dialogues), uncached."""
        return batch

    def describe(self) -> str | None:
        """Where the knowledge comes from, for results and cards (``None``: no knowledge)."""
        return None

    # --- features -------------------------------------------------------------------------------------------

    def __call__(self, batch: dict[str, list]) -> dict[str, list]:
        raise NotImplementedError

    def pad(self, features: list[dict]) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def encode_examples(self, batch: dict[str, list]) -> dict[str, torch.Tensor]:
        """Model inputs (no labels) of a batch of examples, annotated here where a column is missing."""
        columns = self(batch)
        padded = self.pad([dict(zip(columns, row, strict=True)) for row in zip(*columns.values(), strict=True)])
        return {k: v for k, v in padded.items() if k in self.model_input_names}

    def encode_dialogues(self, dialogues: Sequence[Sequence[str]], emotions: Sequence[int] | None = None) -> dict[str, torch.Tensor]:
        """Model inputs of validated user dialogues (lists of utterances, last = speaker); ``emotions`` (label ids)
        where the annotation reads them (:attr:`needs_emotion`)."""
        batch = {"context": [list(d) for d in dialogues], "context_roles": [default_roles(len(d)) for d in dialogues]}
        if emotions is not None:
            batch["emotion"] = list(emotions)
        return self.encode_examples(batch)

    def perception_inputs(self, dialogues: Sequence[Sequence[str]]) -> dict[str, torch.Tensor]:
        """Inputs from which the model's encoder predicts the emotion before the annotation that reads it
        (:attr:`needs_emotion` featurizers only)."""
        raise NotImplementedError(f"{type(self).__name__} does not read the emotion of a served dialogue")

    # --- checkpoints ----------------------------------------------------------------------------------------

    def settings(self) -> dict:
        """Constructor arguments (JSON) that :meth:`from_pretrained` passes back."""
        return {"max_source_length": self.max_source_length, "max_target_length": self.max_target_length}

    def save_resources(self, folder: Path) -> dict:
        """Write the resources serving needs into ``folder``; returns their description (file names)."""
        return {}

    @classmethod
    def load_resources(cls, resources: dict, checkpoint: str | Path, locate: Callable[[str], Path]) -> dict:
        """Constructor arguments restored from :meth:`save_resources`'s description."""
        return {}

    @classmethod
    def legacy_config(cls, checkpoint: str | Path) -> dict:
        """Settings and resources of a checkpoint saved before ``featurizer_config.json`` existed."""
        return {"settings": {}, "resources": {}}

    def save_pretrained(self, folder: str | Path) -> None:
        """``featurizer_config.json`` (type, settings, resources) and the resource files, beside the weights."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        blob = {"featurizer_type": self.model_type, "settings": self.settings(), "resources": self.save_resources(folder)}
        tmp = folder / (FEATURIZER_CONFIG + ".tmp")
        tmp.write_text(json.dumps(blob, indent=2, sort_keys=True) + "\n")
        tmp.replace(folder / FEATURIZER_CONFIG)

    @classmethod
    def from_pretrained(cls, checkpoint: str | Path, tokenizer: PreTrainedTokenizerBase | None = None, **overrides) -> Featurizer:
        """The featurizer saved with ``checkpoint`` (folder or hub id); ``overrides`` replace saved settings."""
        blob = _read_featurizer_config(checkpoint)
        if blob is None:  # older checkpoints: the class follows the model's type
            from transformers import AutoConfig

            target = featurizer_class(AutoConfig.from_pretrained(checkpoint).model_type) if cls is Featurizer else cls
            blob = target.legacy_config(checkpoint)
        else:
            target = featurizer_class(blob["featurizer_type"])
        if not issubclass(target, cls):
            raise ValueError(f"{checkpoint} holds a {target.__name__} ({blob.get('featurizer_type')}), not a {cls.__name__}")
        if tokenizer is None:
            from transformers import AutoTokenizer

            tokenizer = AutoTokenizer.from_pretrained(checkpoint)
        resources = target.load_resources(blob["resources"], checkpoint, _locator(checkpoint)) if blob["resources"] else {}
        return target(tokenizer, **{**blob["settings"], **resources, **overrides})

    from_checkpoint = classmethod(lambda cls, tokenizer, checkpoint, **kw: cls.from_pretrained(checkpoint, tokenizer, **kw))


def featurizer_class(model_type: str) -> type[Featurizer]:
    """The featurizer class registered for ``model_type``."""
    try:
        return FEATURIZERS[model_type]
    except KeyError:
        raise ValueError(f"no featurizer for model_type {model_type!r}; known: {sorted(FEATURIZERS)}") from None


@register_featurizer("empathetic_transformer")
class WordContextFeaturizer(Featurizer):
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
        super().__init__(tokenizer, max_source_length, max_target_length)
        self.vocab = tokenizer.get_vocab()
        self.unk_id, self.cls_id, self.eos_id = tokenizer.unk_token_id, tokenizer.cls_token_id, tokenizer.eos_token_id

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

    def _targets(self, batch: dict[str, list], features: dict[str, list]) -> dict[str, list]:
        if "target" in batch:
            features["labels"] = [self.encode_target(t) for t in batch["target"]]
        if "emotion" in batch:
            features["emotion_labels"] = list(batch["emotion"])
        return features

    def __call__(self, batch: dict[str, list]) -> dict[str, list]:
        """Batched ``Dataset.map`` function over response examples."""
        batch = self.annotate_batch(batch)
        roles = batch.get("context_roles") or [default_roles(len(c)) for c in batch["context"]]
        encoded = [self.encode_context(c, r) for c, r in zip(batch["context"], roles, strict=True)]
        if (num_truncated := sum(t for _, _, t in encoded)) > 0:
            logger.info("%d dialogue histories exceeded %d tokens; kept their most recent tokens", num_truncated, self.max_source_length)
        features = {"input_ids": [e[0] for e in encoded]}
        if self.use_dialogue_states:
            features["dialogue_state_ids"] = [e[1] for e in encoded]
        return self._targets(batch, features)

    def pad(self, features: list[dict]) -> dict[str, torch.Tensor]:
        """Right-pad a list of featurized examples into a batch (labels padded with -100)."""
        batch = {"input_ids": pad_rows([f["input_ids"] for f in features], self.pad_id)}
        batch["attention_mask"] = pad_rows([[1] * len(f["input_ids"]) for f in features], 0)
        if "dialogue_state_ids" in features[0]:
            batch["dialogue_state_ids"] = pad_rows([f["dialogue_state_ids"] for f in features], 0)
        if "labels" in features[0]:
            batch["labels"] = pad_rows([f["labels"] for f in features], -100)
        if "emotion_labels" in features[0]:
            batch["emotion_labels"] = torch.tensor([f["emotion_labels"] for f in features])
        return batch


@register_featurizer("kemp")
class KempFeaturizer(WordContextFeaturizer):
    """KEMP's emotional context graph vertices (kemp.txt, "Emotional Context Graph").

    ``input_ids`` = ``[CLS] x_1 … x_m c_1 … c_k``: the flattened context words, then the ConceptNet concepts
    retrieved for them (at most ``concepts_per_dialogue``); ``dialogue_state_ids`` 0/1 for speaker/listener
    words, 2 for concepts; ``concept_sources`` the vertex index of each concept's source word (-1 for words);
    ``emotion_intensity`` η of every vertex (eq. 1; 0 for [CLS] and words outside NRC-VAD). The model derives
    the graph's edges from these. Concepts come from the ``concepts``/``concept_sources``/``concept_intensities``
    columns of :func:`~empathetic_models.knowledge.annotate_concepts` (:meth:`annotate`), which the retrieval
    table (saved with the checkpoint as ``kemp_knowledge.json.gz``) fills. Long histories keep their most
    recent words, leaving room for the concepts.
    """

    model_input_names = ("input_ids", "attention_mask", "dialogue_state_ids", "concept_sources", "emotion_intensity")

    def __init__(
        self, tokenizer: PreTrainedTokenizerBase, retriever: ConceptRetriever | None = None, max_source_length: int = 512,
        max_target_length: int = 128, max_concepts: int | None = None,
    ):  # fmt: skip
        if retriever is None:
            raise MissingResourceError(
                f"{type(self).__name__} needs its ConceptNet + NRC-VAD retrieval table: pass retriever= (built with ConceptRetriever "
                f"from the resources) or load the featurizer from a checkpoint holding {KNOWLEDGE_FILE}"
            )
        super().__init__(tokenizer, max_source_length, max_target_length)
        self.retriever = retriever
        self.max_concepts = retriever.config.concepts_per_dialogue if max_concepts is None else max_concepts
        self.max_words = max_source_length - 1 - self.max_concepts
        if self.max_words < 1:
            raise ValueError(f"max_source_length={max_source_length} leaves no room for words beside [CLS] and {self.max_concepts} concepts")

    @staticmethod
    def build_retriever(arguments, vocabulary=None, **config) -> ConceptRetriever:
        """The retrieval table from ``--conceptnet`` and ``--vad_lexicon``."""
        from .knowledge import ConceptIndex, RetrievalConfig, VADLexicon

        if not (getattr(arguments, "conceptnet", None) and getattr(arguments, "vad_lexicon", None)):
            raise MissingResourceError("needs --conceptnet (a ConceptNet dump) and --vad_lexicon (NRC-VAD-Lexicon.txt)")
        index, lexicon = ConceptIndex.from_file(arguments.conceptnet), VADLexicon.from_file(arguments.vad_lexicon)
        return ConceptRetriever(index, lexicon, vocabulary=vocabulary, config=RetrievalConfig(**config))

    @classmethod
    def from_arguments(cls, tokenizer, config, arguments, **settings):
        return cls(tokenizer, cls.build_retriever(arguments, tokenizer.get_vocab()), **settings)

    def annotate(self, dataset, cache_dir=None, num_proc=None):
        from .knowledge.retrieval import annotate_concepts

        return annotate_concepts(dataset, self.retriever, knowledge_cache(cache_dir, "concepts"), num_proc)

    def annotate_batch(self, batch):
        return batch if "concepts" in batch else {**batch, **self.retriever(batch)}

    def describe(self) -> str:
        return f"{self.retriever.source}; NRC-VAD emotion intensities"

    def settings(self) -> dict:
        return {**super().settings(), "max_concepts": self.max_concepts}

    def save_resources(self, folder: Path) -> dict:
        self.retriever.save(folder / KNOWLEDGE_FILE)
        return {"concepts": KNOWLEDGE_FILE}

    @classmethod
    def load_resources(cls, resources, checkpoint, locate):
        return {"retriever": ConceptRetriever.load(locate(resources["concepts"]))}

    @classmethod
    def legacy_config(cls, checkpoint):
        return {"settings": {}, "resources": {"concepts": KNOWLEDGE_FILE}}

    def _word_pieces(self, words: Sequence[str]) -> list[list[int]]:
        """Token ids of each word: one vocabulary entry here; subword featurizers split words into pieces."""
        return [[self.vocab.get(w, self.unk_id)] for w in words]

    def encode_graph(self, context: Sequence[str], roles: Sequence[str] | None = None, annotation: tuple | None = None) -> tuple[dict, bool]:
        """Vertex features of one dialogue; ``annotation`` = (concepts, sources, intensities) over the full context
        (default: retrieved here, as :meth:`annotate_batch` does). A word of several pieces gives a vertex per
        piece (its state and η on each); a concept's source is the first piece of its word."""
        roles = default_roles(len(context)) if roles is None else roles
        if annotation is None:
            annotation = self.retriever.retrieve([w for u in context for w in word_tokenize(u)])
        words, states = [], []
        for utterance, role in zip(context, roles, strict=True):
            tokens = word_tokenize(utterance)
            words += tokens
            states += [STATE_IDS[role]] * len(tokens)
        pieces = self._word_pieces(words)
        kept_pieces = list(accumulate(len(p) for p in reversed(pieces)))  # pieces of the last 1, 2, … words
        dropped = len(words) - bisect_right(kept_pieces, self.max_words)
        words, states, pieces = words[dropped:], states[dropped:], pieces[dropped:]
        # sources count the full context's words: shift past the dropped ones
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
        batch = self.annotate_batch(batch)
        roles = batch.get("context_roles") or [default_roles(len(c)) for c in batch["context"]]
        annotations = zip(batch["concepts"], batch["concept_sources"], batch["concept_intensities"], strict=True)
        encoded = [self.encode_graph(c, r, a) for c, r, a in zip(batch["context"], roles, annotations, strict=True)]
        if (num_truncated := sum(t for _, t in encoded)) > 0:
            logger.info("%d dialogue histories exceeded %d words; kept their most recent words", num_truncated, self.max_words)
        features = {name: [e[name] for e, _ in encoded] for name in encoded[0][0]}
        return self._targets(batch, features)

    def pad(self, features: list[dict]) -> dict[str, torch.Tensor]:
        batch = super().pad(features)
        batch["concept_sources"] = pad_rows([f["concept_sources"] for f in features], -1)
        batch["emotion_intensity"] = pad_rows([f["emotion_intensity"] for f in features], 0.0, torch.float32)
        return batch


def _cause_threshold(threshold: float | None, detector) -> float:
    """The threshold given, else the detector's own (calibrated on RECCON validation, or 0.5)."""
    return threshold if threshold is not None else (detector.threshold if detector is not None else 0.5)


def _cause_detector(arguments, model_type: str):
    from .knowledge.causes import CauseDetector

    from .knowledge.causes import PACKAGED_DETECTOR

    path = getattr(arguments, "cause_detector", None) or (PACKAGED_DETECTOR if (PACKAGED_DETECTOR / "adapter_config.json").is_file() else None)
    if path is None:
        raise MissingResourceError(f"{model_type} needs --cause_detector (a detector trained with python -m empathetic_models.training.train_cause_detector); "
                                   f"the package's own ({PACKAGED_DETECTOR}) is missing from this install")  # fmt: skip
    return CauseDetector.from_pretrained(path)


def _commonsense(arguments, model_type: str, routes=("atomic", "conceptnet", "comet")):
    """``offline_commonsense`` from the flags ``routes`` allows (ATOMIC retrieval, ConceptNet, COMET)."""
    from .knowledge.commonsense import offline_commonsense

    given = {k: getattr(arguments, k, None) for k in routes}
    if not any(given.values()):
        raise MissingResourceError(f"{model_type} needs commonsense: --comet a COMET-ATOMIC2020 checkpoint, or --atomic ATOMIC tuples"
                                   + (" and --conceptnet" if "conceptnet" in routes else ""))  # fmt: skip
    if given.get("comet"):
        return offline_commonsense(comet=given["comet"])
    return offline_commonsense(atomic=given.get("atomic"), conceptnet=given.get("conceptnet"), encoder=getattr(arguments, "commonsense_encoder", None))


def _save_commonsense(commonsense, folder: Path) -> dict | None:
    if commonsense is None:
        return None
    (folder / "commonsense").mkdir(exist_ok=True)
    return commonsense.save_pretrained(folder / "commonsense")


def _load_commonsense(spec: dict | None, locate):
    from .knowledge.commonsense import load_commonsense

    return None if spec is None else load_commonsense(spec, lambda name: locate(f"commonsense/{name}"))


def _save_classifier_part(part, folder: Path, name: str) -> str | None:
    """A trained classifier of the featurizer (cause detector, entity scorer) saved in the checkpoint's ``name``
    subfolder; returns the name its resources entry records (None: no such part)."""
    if part is None:
        return None
    part.save_pretrained(folder / name)
    return name


def _load_classifier_part(part_class, checkpoint: str | Path, name: str | None):
    """The part :func:`_save_classifier_part` saved, from a checkpoint folder or hub repository."""
    return None if not name else part_class.from_pretrained(str(checkpoint), subfolder=name)


@register_featurizer("emocause")
class CauseLabelFeaturizer(WordContextFeaturizer):
    """Word-context inputs plus, for examples annotated by the cause detector (:meth:`annotate`:
    ``cause_word_labels`` of :func:`~empathetic_models.knowledge.causes.annotate_causes`), ``cause_labels`` aligned
    with ``input_ids`` ([CLS] = 1; a truncated history keeps the labels of its kept words; padding = -100): the
    supervision of the emotion reasoner, which predicts the causes itself at test and serving time, so a saved
    checkpoint names its detector but does not need it. No dialogue states: the model's inputs are word +
    position + emotion embeddings."""

    model_input_names = ("input_ids", "attention_mask")
    use_dialogue_states = False

    def __init__(self, tokenizer, cause_detector=None, cause_detector_name: str | None = None, cause_threshold: float | None = None, **kwargs):
        super().__init__(tokenizer, **kwargs)
        self.cause_detector, self.cause_threshold = cause_detector, _cause_threshold(cause_threshold, cause_detector)
        self.cause_detector_name = cause_detector.name if cause_detector is not None else cause_detector_name

    @classmethod
    def from_arguments(cls, tokenizer, config, arguments, **settings):
        return cls(tokenizer, _cause_detector(arguments, cls.model_type), **settings)

    def annotate(self, dataset, cache_dir=None, num_proc=None):
        from .knowledge.causes import annotate_causes

        if self.cause_detector is None:  # a loaded checkpoint: the reasoner needs no labels to generate
            return dataset
        return annotate_causes(dataset, self.cause_detector, knowledge_cache(cache_dir, "causes"), self.cause_threshold)

    def describe(self) -> str | None:
        return f"emotion causes by the detector {self.cause_detector_name}" if self.cause_detector_name else None

    def settings(self) -> dict:
        return {**super().settings(), "cause_detector_name": self.cause_detector_name, "cause_threshold": self.cause_threshold}

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
            batch["cause_labels"] = pad_rows([f["cause_labels"] for f in features], -100)
        return batch


@register_featurizer("imagine")
class ImagineFeaturizer(WordContextFeaturizer):
    """IMAGINE's inputs (imagine.txt §3): the context S; the cause sequence C = [CLS] + the utterances the cause
    detector flags (§3.1.2, ``cause_flags`` of :func:`~empathetic_models.knowledge.causes.annotate_causes`, read
    against the dialogue's emotion; C = S only where it flags none); ``knowledge_ids`` (4, K) = S_Affect (the
    xReact inferences, no [CLS]), S_Behav, S_Phys, S_Events ([CLS] + the inferences of their relations, joined)
    from the commonsense asked with C (the ``imagine_*`` columns of
    :func:`~empathetic_models.knowledge.annotate_commonsense`); ``mechanism_labels`` (er, ip, ex) of the response
    from the EPITOME classifiers (training only: the model predicts its mechanisms, eq. 7).

    The detector and the commonsense are saved with the checkpoint, so test and served dialogues get C and the
    knowledge exactly as training did. A served dialogue's emotion comes from the model's emotion perception
    (eq. 1, :meth:`perception_inputs`), ED's examples bring their label.
    """

    model_input_names = WordContextFeaturizer.model_input_names + (
        "cause_input_ids", "cause_attention_mask", "cause_state_ids", "knowledge_ids", "knowledge_attention_mask",
    )  # fmt: skip
    needs_emotion = True

    def __init__(
        self, tokenizer: PreTrainedTokenizerBase, cause_detector=None, commonsense=None, mechanism_classifiers: dict | None = None,
        cause_threshold: float | None = None, inferences_per_relation: int = 5, max_knowledge_length: int = 64, max_source_length: int = 512,
        max_target_length: int = 128,
    ):  # fmt: skip
        super().__init__(tokenizer, max_source_length, max_target_length)
        self.cause_detector, self.commonsense, self.mechanism_classifiers = cause_detector, commonsense, mechanism_classifiers or {}
        self.cause_threshold = _cause_threshold(cause_threshold, cause_detector)
        self.inferences_per_relation, self.max_knowledge_length = inferences_per_relation, max_knowledge_length

    @classmethod
    def from_arguments(cls, tokenizer, config, arguments, **settings):
        from .knowledge.mechanisms import MECHANISMS, MechanismClassifier

        paths = {k: getattr(arguments, f"{k}_classifier", None) for k in MECHANISMS}
        if config.use_mechanisms and not all(paths.values()):
            raise MissingResourceError("imagine needs --er_classifier, --ip_classifier and --ex_classifier (python -m empathetic_models.training.train_mechanism_classifier)")
        classifiers = {k: MechanismClassifier.from_pretrained(p, k) for k, p in paths.items() if p}
        return cls(tokenizer, _cause_detector(arguments, "imagine"), _commonsense(arguments, "imagine"), classifiers, **settings)

    def _require(self, resource, what: str):
        if resource is None:
            raise MissingResourceError(f"IMAGINE's {what} is missing: build the featurizer with it or load it from the checkpoint it was saved with")
        return resource

    def annotate(self, dataset, cache_dir=None, num_proc=None):
        from .knowledge.causes import annotate_causes
        from .knowledge.commonsense_annotation import annotate_commonsense
        from .knowledge.mechanisms import annotate_mechanisms

        dataset = annotate_causes(dataset, self._require(self.cause_detector, "cause detector"), knowledge_cache(cache_dir, "causes"), self.cause_threshold)
        dataset = annotate_commonsense(dataset, self._require(self.commonsense, "commonsense source"), "imagine",
                                       knowledge_cache(cache_dir, "commonsense"), self.inferences_per_relation)  # fmt: skip
        if self.mechanism_classifiers and "target" in dataset.column_names:
            dataset = annotate_mechanisms(dataset, self.mechanism_classifiers, knowledge_cache(cache_dir, "mechanisms"))
        return dataset

    def annotate_batch(self, batch):
        from .data import EMOTIONS
        from .knowledge.causes import CauseAnnotator
        from .knowledge.commonsense_annotation import CommonsenseAnnotator

        if "cause_flags" not in batch:
            if "emotion" not in batch:
                raise ValueError("IMAGINE reads the causes of the dialogue's emotion (imagine.txt §3.1.2): give the examples an "
                                 "'emotion' (generate_responses predicts it with the model's emotion perception)")  # fmt: skip
            annotator = CauseAnnotator(self._require(self.cause_detector, "cause detector"), list(EMOTIONS), self.cause_threshold)
            batch = {**batch, **annotator(batch)}
        if "imagine_xReact" not in batch:
            annotator = CommonsenseAnnotator(self._require(self.commonsense, "commonsense source"), "imagine", self.inferences_per_relation)
            batch = {**batch, **annotator(batch)}
        return batch

    def perception_inputs(self, dialogues):
        """S alone (C = S, no knowledge): the emotion perception of eq. 1 reads h_s[0] only."""
        from .knowledge.commonsense import IMAGINE_RELATIONS

        n = len(dialogues)
        batch = {"context": [list(d) for d in dialogues], "cause_flags": [[1] * len(d) for d in dialogues],
                 **{f"imagine_{r}": [[] for _ in range(n)] for r in IMAGINE_RELATIONS}}  # fmt: skip
        return self.encode_examples(batch)

    def describe(self) -> str:
        detector = self.cause_detector.name if self.cause_detector is not None else "none"
        mechanisms = ", ".join(c.name for c in self.mechanism_classifiers.values()) or "none"
        commonsense = self.commonsense.name if self.commonsense is not None else "none"
        return f"emotion causes by the detector {detector} (threshold {self.cause_threshold}); commonsense: {commonsense}; mechanisms: {mechanisms}"

    def settings(self) -> dict:
        return {**super().settings(), "cause_threshold": self.cause_threshold, "inferences_per_relation": self.inferences_per_relation,
                "max_knowledge_length": self.max_knowledge_length}  # fmt: skip

    def save_resources(self, folder: Path) -> dict:
        return {"commonsense": _save_commonsense(self.commonsense, folder),
                "cause_detector": _save_classifier_part(self.cause_detector, folder, "cause_detector")}  # fmt: skip

    @classmethod
    def load_resources(cls, resources, checkpoint, locate):
        from .knowledge.causes import CauseDetector

        return {"cause_detector": _load_classifier_part(CauseDetector, checkpoint, resources.get("cause_detector")),
                "commonsense": _load_commonsense(resources.get("commonsense"), locate)}  # fmt: skip

    def encode_knowledge(self, inferences: dict[str, Sequence[str]]) -> list[list[int]]:
        from .modeling.modeling_imagine import KNOWLEDGE_TYPES

        from .knowledge.commonsense import IMAGINE_RELATION_TYPES

        rows = []
        for kind in KNOWLEDGE_TYPES:
            words = [i for r in IMAGINE_RELATION_TYPES[kind] for tail in inferences[r][: self.inferences_per_relation] for i in self._ids(tail)]
            prefix = [] if kind == "Affect" else [self.cls_id]  # S_Affect has no [CLS] (eq. 12 averages it)
            rows.append((prefix + words)[: self.max_knowledge_length] or [self.pad_id])
        return rows

    def encode_causes(self, context, roles, flags) -> tuple[list[int], list[int]]:
        kept = [(u, r) for u, r, f in zip(context, roles, flags, strict=True) if f] or list(zip(context, roles, strict=True))
        ids, states, _ = self.encode_context([u for u, _ in kept], [r for _, r in kept])
        return ids, states

    def __call__(self, batch: dict[str, list]) -> dict[str, list]:
        from .knowledge.commonsense import IMAGINE_RELATIONS

        batch = self.annotate_batch(batch)
        features = super().__call__(batch)
        roles = batch.get("context_roles") or [default_roles(len(c)) for c in batch["context"]]
        causes = [self.encode_causes(c, r, f) for c, r, f in zip(batch["context"], roles, batch["cause_flags"], strict=True)]
        features["cause_input_ids"], features["cause_state_ids"] = [c[0] for c in causes], [c[1] for c in causes]
        features["knowledge_ids"] = [self.encode_knowledge({r: batch[f"imagine_{r}"][n] for r in IMAGINE_RELATIONS}) for n in range(len(causes))]
        if "cm_er" in batch:
            features["mechanism_labels"] = [list(x) for x in zip(batch["cm_er"], batch["cm_ip"], batch["cm_ex"], strict=True)]
        return features

    def pad(self, features: list[dict]) -> dict[str, torch.Tensor]:
        batch = super().pad(features)
        batch["cause_input_ids"] = pad_rows([f["cause_input_ids"] for f in features], self.pad_id)
        batch["cause_attention_mask"] = batch["cause_input_ids"].ne(self.pad_id).long()
        batch["cause_state_ids"] = pad_rows([f["cause_state_ids"] for f in features], 0)
        batch["knowledge_ids"] = pad_grid([f["knowledge_ids"] for f in features], self.pad_id)
        batch["knowledge_attention_mask"] = batch["knowledge_ids"].ne(self.pad_id).long()
        if "mechanism_labels" in features[0]:
            batch["mechanism_labels"] = torch.tensor([f["mechanism_labels"] for f in features])
        return batch


LEGACY_CASE_FILE = "case_commonsense.json"  # a CASE checkpoint's settings before featurizer_config.json


@register_featurizer("case")
class CaseFeaturizer(KempFeaturizer):
    """CASE's inputs (case.txt §3.1): KEMP's vertex layout for the context and G_EC, keeping the ``max_concepts``
    (N′) concepts of highest emotion intensity ω; and G_CS / the reactions from commonsense.

    ``cs_input_ids`` (N, L): ``[CLS]`` + words of every G_CS vertex — u_0 = x_N, its sub-utterances, then up to
    ``inferences_per_relation`` (l) inferences per (u_i, relation) for xIntent, xNeed, xWant, xEffect;
    ``cs_vertex_types`` / ``cs_owners`` as :func:`empathetic_models.modeling.graphs.cognition_graph` reads them;
    ``reaction_ids`` (U, L): ``[CLS]`` + the xReact inferences of each u_i. Commonsense: the ``cs_*`` columns of
    :func:`~empathetic_models.knowledge.annotate_commonsense` (task ``case``), filled by ``commonsense`` (any
    :class:`~empathetic_models.knowledge.CommonsenseSource`), which is saved with the checkpoint (ATOMIC tuples /
    ConceptNet edges; a COMET model by name) together with the concept table.
    """

    model_input_names = KempFeaturizer.model_input_names + (
        "cs_input_ids", "cs_attention_mask", "cs_vertex_types", "cs_owners", "reaction_ids", "reaction_attention_mask",
    )  # fmt: skip

    def __init__(
        self, tokenizer: PreTrainedTokenizerBase, retriever: ConceptRetriever | None = None, commonsense=None,
        max_concepts: int = 10, inferences_per_relation: int = 5, max_vertex_length: int = 32, max_source_length: int = 512,
        max_target_length: int = 128,
    ):  # fmt: skip
        super().__init__(tokenizer, retriever, max_source_length, max_target_length, max_concepts)
        self.inferences_per_relation, self.max_vertex_length = inferences_per_relation, max_vertex_length
        self.commonsense = commonsense

    @classmethod
    def retrieval_vocabulary(cls, tokenizer):
        """Concepts must be vocabulary words of a word-level model."""
        return tokenizer.get_vocab()

    @classmethod
    def from_arguments(cls, tokenizer, config, arguments, **settings):
        # CASE ranks all retrieved concepts by ω and keeps N′: retrieve without KEMP's per-dialogue cap
        retriever = cls.build_retriever(arguments, cls.retrieval_vocabulary(tokenizer), concepts_per_dialogue=10**6)
        commonsense = _commonsense(arguments, cls.model_type, routes=("atomic", "comet"))
        return cls(tokenizer, retriever, commonsense, max_concepts=config.max_concepts,
                   inferences_per_relation=config.inferences_per_relation, **settings)  # fmt: skip

    def annotate(self, dataset, cache_dir=None, num_proc=None):
        from .knowledge.commonsense_annotation import annotate_commonsense

        dataset = super().annotate(dataset, cache_dir, num_proc)
        if self.commonsense is None:
            raise MissingResourceError("CASE needs its commonsense source (commonsense=...) to annotate a dataset")
        return annotate_commonsense(dataset, self.commonsense, "case", knowledge_cache(cache_dir, "commonsense"), self.inferences_per_relation)

    def annotate_batch(self, batch):
        from .knowledge.commonsense_annotation import CommonsenseAnnotator

        batch = super().annotate_batch(batch)
        if "cs_heads" not in batch:
            if self.commonsense is None:
                raise MissingResourceError(
                    "CASE needs commonsense: annotate the examples (empathetic_models.knowledge.annotate_commonsense, task 'case') "
                    "or give the featurizer a commonsense source (commonsense=...)"
                )
            batch = {**batch, **CommonsenseAnnotator(self.commonsense, "case", self.inferences_per_relation)(batch)}
        return batch

    def describe(self) -> str:
        return super().describe() + (f"; commonsense: {self.commonsense.name}" if self.commonsense is not None else "")

    def settings(self) -> dict:
        return {**super().settings(), "inferences_per_relation": self.inferences_per_relation, "max_vertex_length": self.max_vertex_length}

    def save_resources(self, folder: Path) -> dict:
        return {**super().save_resources(folder), "commonsense": _save_commonsense(self.commonsense, folder)}

    @classmethod
    def load_resources(cls, resources, checkpoint, locate):
        return {**super().load_resources(resources, checkpoint, locate), "commonsense": _load_commonsense(resources.get("commonsense"), locate)}

    @classmethod
    def legacy_config(cls, checkpoint):
        """``case_commonsense.json``: N′ / l / vertex length, and the training machine's resource paths (not portable)."""
        try:
            saved = json.loads(_locator(checkpoint)(LEGACY_CASE_FILE).read_text())
        except FileNotFoundError:
            saved = {"settings": {}}
        if saved.get("commonsense"):
            logger.warning("%s predates saved commonsense: new dialogues need annotated cs_* columns (re-save it with this version)", checkpoint)
        return {"settings": saved["settings"], "resources": {"concepts": KNOWLEDGE_FILE}}

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
        from .modeling.graphs import COGNITION_RELATIONS, KNOWLEDGE, SUB_UTTERANCE, UTTERANCE

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

    def __call__(self, batch: dict[str, list]) -> dict[str, list]:
        from .knowledge.commonsense import SOCIAL_RELATIONS

        batch = self.annotate_batch(batch)
        features = super().__call__(batch)
        encoded = [self.encode_commonsense(batch["cs_heads"][n], {r: batch[f"cs_{r}"][n] for r in SOCIAL_RELATIONS}) for n in range(len(batch["context"]))]
        features.update({name: [e[name] for e in encoded] for name in encoded[0]})
        return features

    def pad(self, features: list[dict]) -> dict[str, torch.Tensor]:
        batch = super().pad(features)
        for name, mask_name in (("cs_input_ids", "cs_attention_mask"), ("reaction_ids", "reaction_attention_mask")):
            batch[name] = pad_grid([f[name] for f in features], self.pad_id)
            batch[mask_name] = batch[name].ne(self.pad_id).long()
        batch["cs_vertex_types"] = pad_rows([f["cs_vertex_types"] for f in features], -1)
        batch["cs_owners"] = pad_rows([f["cs_owners"] for f in features], 0)
        return batch


@register_featurizer("case_blenderbot")
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

    @classmethod
    def retrieval_vocabulary(cls, tokenizer):
        """None: a subword backbone splits any word into pieces, so its concepts need not be vocabulary entries."""
        return None

    def _ids(self, text: str) -> list[int]:
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def _word_pieces(self, words: Sequence[str]) -> list[list[int]]:
        if not words:
            return []
        # a leading space: byte-level BPE (BART) marks word starts with it; BlenderBot-small and WordPiece ignore it
        return [ids or [self.unk_id] for ids in self.tokenizer([" " + w for w in words], add_special_tokens=False)["input_ids"]]


from . import subword_featurization  # noqa: E402, F401  (registers NEC's featurizer)


def featurizer_for(model_type: str, tokenizer: PreTrainedTokenizerBase, checkpoint: str | Path | None = None, **kwargs) -> Featurizer:
    """The featurizer of ``model_type`` around ``tokenizer``: read from ``checkpoint`` (folder or hub id) when given,
    else built from ``kwargs`` (its constructor's arguments)."""
    cls = featurizer_class(model_type)
    return cls.from_pretrained(checkpoint, tokenizer, **kwargs) if checkpoint is not None else cls(tokenizer, **kwargs)
