"""Per-model featurizers: response examples (``empathetic_models.data``) → model tensors.

Tokenization is owned by the featurizer, not by the data layer, so subword models (BART, BlenderBot)
can bring their own. :func:`featurizer_for` is the one place where a ``model_type`` picks its featurizer.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import torch
from transformers import PreTrainedTokenizerBase

from .data import LISTENER, SPEAKER
from .text import word_tokenize

logger = logging.getLogger(__name__)

STATE_IDS = {SPEAKER: 0, LISTENER: 1}


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

    def __init__(self, tokenizer: PreTrainedTokenizerBase, max_source_length: int = 512, max_target_length: int = 128):
        if max_source_length < 2:
            raise ValueError("max_source_length must leave room for [CLS] and at least one word")
        self.tokenizer = tokenizer
        self.max_source_length, self.max_target_length = max_source_length, max_target_length
        self.vocab = tokenizer.get_vocab()
        self.unk_id, self.cls_id, self.eos_id = tokenizer.unk_token_id, tokenizer.cls_token_id, tokenizer.eos_token_id
        self.pad_id = tokenizer.pad_token_id

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
        features = {"input_ids": [e[0] for e in encoded], "dialogue_state_ids": [e[1] for e in encoded]}
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
        return self.pad([dict(zip(("input_ids", "dialogue_state_ids"), self.encode_context(d)[:2])) for d in dialogues])


FEATURIZERS = {"empathetic_transformer": WordContextFeaturizer}


def featurizer_for(model_type: str, tokenizer: PreTrainedTokenizerBase, **kwargs) -> WordContextFeaturizer:
    """The featurizer of ``model_type`` (a config's ``model_type``) around ``tokenizer``."""
    try:
        return FEATURIZERS[model_type](tokenizer, **kwargs)
    except KeyError:
        raise ValueError(f"no featurizer for model_type {model_type!r}; known: {sorted(FEATURIZERS)}") from None
