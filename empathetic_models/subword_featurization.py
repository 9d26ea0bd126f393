"""Featurizers of the models on pretrained subword backbones (BART, BlenderBot-small, warm-started encoders).

:class:`NecFeaturizer` (nec.txt §3.2–3.4): the encoder input I_enc = U ⊕ [SEP] ⊕ P_r ⊕ L(K_E) (eq. 3), the social
knowledge K_S (one inference per relation, the one closest to U by sentence-embedding cosine, eqs. 6–7) as
``knowledge_input_ids``, and for contrastive training the negatives of other emotions (D) and the most frequent
training responses (H). Commonsense comes from the ``nec_*`` columns of
:func:`~empathetic_models.knowledge.annotate_commonsense` (task ``nec``) or, for new dialogues, from the source the
featurizer was given.
"""

from __future__ import annotations

import json
import logging
import random
import zlib
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import torch
from transformers import PreTrainedTokenizerBase

from .featurization import (
    Featurizer,
    MissingResourceError,
    _commonsense,
    _load_classifier_part,
    _load_commonsense,
    _locator,
    _save_classifier_part,
    _save_commonsense,
    knowledge_cache,
    register_featurizer,
)
from .knowledge.commonsense import ENTITY_RELATIONS, SOCIAL_RELATIONS
from .knowledge.entity_scorer import linearize

NEC_FILE = "nec_featurizer.json"  # NEC's settings before featurizer_config.json
RELEVANCE_PROMPT = "The following knowledge facts are highly relevant to the left query:"  # P_r of eq. 3
logger = logging.getLogger(__name__)
DIFF_EMOTION, HIGH_FREQUENCY = 0, 3  # indices into empathetic_models.modeling.configuration_nec.NEGATIVE_SOURCES


def _pad(rows: list[list[int]], width: int, value: int) -> list[list[int]]:
    return [row + [value] * (width - len(row)) for row in rows]


@register_featurizer("nec")
class NecFeaturizer(Featurizer):
    """Features of NEC (see the module docstring). ``selector`` is a
    :class:`~empathetic_models.knowledge.SentenceEncoder` (the paper: MPNet, all-mpnet-base-v2; offline also
    all-MiniLM-L6-v2); it picks K_S (eqs. 6–7). K_E = the top ``entity_triples`` entity triples by the paper's
    SAKDP-style scorer when ``scorer`` (an :class:`~empathetic_models.knowledge.EntityKnowledgeScorer`) is given,
    else by the selector's cosine to U."""

    model_input_names = ("input_ids", "attention_mask", "knowledge_input_ids", "knowledge_attention_mask")

    def __init__(
        self,
        tokenizer: PreTrainedTokenizerBase,
        selector=None,
        scorer=None,
        commonsense=None,
        entity_triples: int = 3,
        use_entity_knowledge: bool = True,
        high_frequency: Sequence[str] = (),
        emotion_responses: dict[str, list[str]] | None = None,
        diff_emotion: int = 3,
        max_source_length: int = 512,
        max_target_length: int = 64,
        max_knowledge_length: int = 32,
    ):
        super().__init__(tokenizer, max_source_length, max_target_length)
        self.selector, self.scorer, self.commonsense = selector, scorer, commonsense
        self.entity_triples, self.use_entity_knowledge = entity_triples, use_entity_knowledge
        self.high_frequency, self.emotion_responses, self.diff_emotion = list(high_frequency), emotion_responses or {}, diff_emotion
        self.max_knowledge_length = max_knowledge_length
        self.separator = tokenizer.sep_token or tokenizer.eos_token

    @classmethod
    def from_arguments(cls, tokenizer, config, arguments, **settings):
        from .knowledge.entity_scorer import EntityKnowledgeScorer
        from .knowledge.sentence_encoder import SentenceEncoder

        if not (arguments.comet or (arguments.atomic and arguments.conceptnet)):
            raise MissingResourceError("nec needs commonsense: --comet a COMET-ATOMIC2020 checkpoint, or --atomic ATOMIC tuples and --conceptnet")
        scorer = EntityKnowledgeScorer.from_pretrained(arguments.entity_scorer) if arguments.entity_scorer else None
        return cls(tokenizer, selector=SentenceEncoder.from_pretrained(arguments.commonsense_encoder), scorer=scorer,
                   commonsense=_commonsense(arguments, "nec"), use_entity_knowledge=config.use_entity_knowledge, **settings)  # fmt: skip

    def fit(self, train) -> NecFeaturizer:
        return self.fit_negatives(train)

    def annotate(self, dataset, cache_dir=None, num_proc=None):
        from .knowledge.commonsense_annotation import annotate_commonsense

        if self.commonsense is None:
            raise MissingResourceError("NEC needs its commonsense source (commonsense=...) to annotate a dataset")
        return annotate_commonsense(dataset, self.commonsense, "nec", knowledge_cache(cache_dir, "commonsense"))

    def describe(self) -> str:
        k_e = f"K_E by the scorer {self.scorer.name}" if self.scorer is not None else "K_E by the same cosine"
        commonsense = self.commonsense.name if self.commonsense is not None else "none"
        selector = self.selector.name if self.selector is not None else "all-MiniLM-L6-v2 (default)"
        return f"commonsense: {commonsense}; K_S by cosine under {selector}; {k_e}"

    def fit_negatives(self, train, high_frequency: int = 3, per_emotion: int = 2000) -> NecFeaturizer:
        """H = the ``high_frequency`` most frequent training responses; a pool of up to ``per_emotion`` responses
        per emotion for D (§3.4). ``train``: ED response examples with ``target`` and ``emotion``."""
        targets, emotions = train["target"], train["emotion"]
        counts = Counter(t.strip().lower() for t in targets)
        self.high_frequency = [t for t, _ in counts.most_common(high_frequency)]
        pool: dict[str, list[str]] = {}
        for target, emotion in zip(targets, emotions, strict=True):
            name = str(emotion)
            if len(pool.setdefault(name, [])) < per_emotion:
                pool[name].append(target)
        self.emotion_responses = pool
        return self

    # --- knowledge -------------------------------------------------------------------------------------------

    def annotate_batch(self, batch: dict[str, list]) -> dict[str, list]:
        if all(f"nec_{r}" in batch for r in SOCIAL_RELATIONS) and "nec_entity_knowledge" in batch:
            return batch
        if self.commonsense is None:
            raise ValueError(
                "NEC needs commonsense: annotate the examples (empathetic_models.knowledge.annotate_commonsense, task 'nec') "
                "or give the featurizer a commonsense source (commonsense=...)"
            )
        from .knowledge.commonsense_annotation import CommonsenseAnnotator

        return {**batch, **CommonsenseAnnotator(self.commonsense, "nec")({"context": batch["context"]})}

    def _require_selector(self):
        if self.selector is None:
            from .knowledge.sentence_encoder import SentenceEncoder

            self.selector = SentenceEncoder.from_pretrained(None)
        return self.selector

    def select_knowledge(self, histories: list[str], social: dict[str, list[list[str]]], triples: list[list[dict]]):
        """K_S: per example and relation the inference of highest cosine to U (eqs. 6–7); K_E: the
        ``entity_triples`` triples the scorer ranks highest (else: of highest cosine to U). One encoder (and one
        scorer) call for all texts of the batch."""
        candidates = sorted({t for r in SOCIAL_RELATIONS for row in social[r] for t in row}
                            | {self.linearize(t) for row in triples for t in row})  # fmt: skip
        selector = self._require_selector()
        vectors = selector.encode(histories + candidates)
        u, index = vectors[: len(histories)], {text: i for i, text in enumerate(candidates)}
        cand = vectors[len(histories) :]

        def best(i: int, texts: list[str], n: int) -> list[str]:
            if not texts:
                return []
            scores = cand[[index[t] for t in texts]] @ u[i]
            return [texts[j] for j in scores.topk(min(n, len(texts))).indices.tolist()]

        k_s = [[(best(i, social[r][i], 1) or [""])[0] for r in SOCIAL_RELATIONS] for i in range(len(histories))]
        if self.scorer is None:
            k_e = [best(i, [self.linearize(t) for t in row], self.entity_triples) for i, row in enumerate(triples)]
            return k_s, k_e
        facts = [[self.linearize(t) for t in row] for row in triples]
        scores = self.scorer.scores([h for h, row in zip(histories, facts, strict=True) for _ in row], [f for row in facts for f in row]).split([len(r) for r in facts])
        k_e = [[row[j] for j in s.topk(min(self.entity_triples, len(row))).indices.tolist()] for row, s in zip(facts, scores, strict=True)]
        return k_s, k_e

    linearize = staticmethod(linearize)

    # --- tokens ----------------------------------------------------------------------------------------------

    def encode_source(self, history: str, entity_facts: list[str]) -> list[int]:
        """I_enc = U ⊕ [SEP] ⊕ P_r ⊕ L(K_E) (eq. 3); a too-long U loses its oldest tokens, never the knowledge."""
        knowledge = f" {self.separator} {RELEVANCE_PROMPT} " + " ".join(f"{fact}." for fact in entity_facts) if entity_facts else ""
        ids = self.tokenizer(history + knowledge)["input_ids"]
        if len(ids) <= self.max_source_length:
            return ids
        tail = self.tokenizer(knowledge, add_special_tokens=False)["input_ids"] if knowledge else []
        head = self.tokenizer(history)["input_ids"]
        keep = max(self.max_source_length - len(tail) - 1, 1)
        return ([head[0]] + head[1:-1][-(keep - 1) :] + tail + [head[-1]])[: self.max_source_length]

    def _tokens(self, texts: list[str], limit: int) -> list[list[int]]:
        return [ids[:limit] for ids in self.tokenizer(texts)["input_ids"]] if texts else []

    def _negatives(self, context: Sequence[str], target: str, emotion) -> list[tuple[str, int]]:
        rng = random.Random(zlib.crc32((" ".join(context) + "\t" + target).encode()))  # the same negatives every epoch
        others = [e for e in self.emotion_responses if e != str(emotion)]
        negatives = [(rng.choice(self.emotion_responses[rng.choice(others)]), DIFF_EMOTION) for _ in range(self.diff_emotion if others else 0)]
        return negatives + [(text, HIGH_FREQUENCY) for text in self.high_frequency]

    def __call__(self, batch: dict[str, list]) -> dict[str, list]:
        """Batched ``Dataset.map`` function over response examples (with the ``nec_*`` commonsense columns)."""
        batch = self.annotate_batch(batch)
        histories = [" ".join(context) for context in batch["context"]]
        social = {r: batch[f"nec_{r}"] for r in SOCIAL_RELATIONS}
        triples = [[t for t in row if t["relation"] in ENTITY_RELATIONS] for row in batch["nec_entity_knowledge"]]
        k_s, k_e = self.select_knowledge(histories, social, triples)
        features = {
            "input_ids": [self.encode_source(h, facts if self.use_entity_knowledge else []) for h, facts in zip(histories, k_e, strict=True)],
            "knowledge_input_ids": [[ids if text else [] for ids, text in zip(self._tokens(row, self.max_knowledge_length), row, strict=True)] for row in k_s],
        }
        if "target" in batch:
            features["labels"] = self._tokens(list(batch["target"]), self.max_target_length)
            if self.high_frequency or self.emotion_responses:
                negatives = [self._negatives(c, t, e) for c, t, e in zip(batch["context"], batch["target"], batch["emotion"], strict=True)]
                features["negative_ids"] = [self._tokens([text for text, _ in row], self.max_target_length) for row in negatives]
                features["negative_sources"] = [[source for _, source in row] for row in negatives]
        return features

    def pad(self, features: list[dict]) -> dict[str, torch.Tensor]:
        """Right-pad featurized examples into a batch (labels with -100; absent negatives with source -1)."""
        ids = [f["input_ids"] for f in features]
        width = max(map(len, ids))
        batch = {"input_ids": torch.tensor(_pad(ids, width, self.pad_id)),
                 "attention_mask": torch.tensor([[1] * len(x) + [0] * (width - len(x)) for x in ids])}  # fmt: skip
        knowledge = [f["knowledge_input_ids"] for f in features]
        k = max(len(row) for row in knowledge)
        t = max([len(x) for row in knowledge for x in row] + [1])
        rows = [_pad(row + [[]] * (k - len(row)), t, self.pad_id) for row in knowledge]
        batch["knowledge_input_ids"] = torch.tensor(rows)
        batch["knowledge_attention_mask"] = torch.tensor([[[1] * len(x) + [0] * (t - len(x)) for x in row + [[]] * (k - len(row))] for row in knowledge])
        if "labels" in features[0]:
            labels = [f["labels"] for f in features]
            batch["labels"] = torch.tensor(_pad(labels, max(map(len, labels)), -100))
        if "negative_ids" in features[0]:
            c = max(len(f["negative_ids"]) for f in features)
            t = max([len(x) for f in features for x in f["negative_ids"]] + [1])
            batch["negative_ids"] = torch.tensor([_pad(f["negative_ids"] + [[]] * (c - len(f["negative_ids"])), t, self.pad_id) for f in features])
            batch["negative_sources"] = torch.tensor([f["negative_sources"] + [-1] * (c - len(f["negative_sources"])) for f in features])
        return batch

    # --- checkpoints -----------------------------------------------------------------------------------------

    def settings(self) -> dict:
        return {**super().settings(), "entity_triples": self.entity_triples, "use_entity_knowledge": self.use_entity_knowledge,
                "max_knowledge_length": self.max_knowledge_length, "high_frequency": self.high_frequency}  # fmt: skip

    def save_resources(self, folder: Path) -> dict:
        """The commonsense (ATOMIC tuples / ConceptNet edges; COMET by name) and the entity scorer travel with the
        checkpoint; the selector, a public sentence encoder, is referenced by name; the D pool is training-only."""
        return {"commonsense": _save_commonsense(self.commonsense, folder), "selector": None if self.selector is None else self.selector.name,
                "entity_scorer": _save_classifier_part(self.scorer, folder, "entity_scorer")}  # fmt: skip

    @classmethod
    def load_resources(cls, resources, checkpoint, locate):
        from .knowledge.entity_scorer import EntityKnowledgeScorer
        from .knowledge.sentence_encoder import SentenceEncoder

        loaded = {"commonsense": _load_commonsense(resources.get("commonsense"), locate),
                  "scorer": _load_classifier_part(EntityKnowledgeScorer, checkpoint, resources.get("entity_scorer"))}  # fmt: skip
        if name := resources.get("selector"):
            loaded["selector"] = SentenceEncoder.from_pretrained(name)
        return loaded

    @classmethod
    def legacy_config(cls, checkpoint):
        """``nec_featurizer.json`` of older checkpoints: settings and the selector / scorer names."""
        try:
            saved = json.loads(_locator(checkpoint)(NEC_FILE).read_text())
        except FileNotFoundError:
            return {"settings": {}, "resources": {}}
        resources = {"selector": saved.pop("selector", None), "commonsense": None}
        scorer, spec = saved.pop("entity_scorer", None), saved.pop("commonsense", None)
        if scorer or spec:
            logger.warning("%s predates saved NEC resources: its scorer / commonsense (%s, %s) are not restored", checkpoint, scorer, spec)
        return {"settings": saved, "resources": resources}


__all__ = ["NEC_FILE", "RELEVANCE_PROMPT", "NecFeaturizer"]
