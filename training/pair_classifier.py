"""The run shared by the pair-classifier scripts (cause detector, mechanism classifiers, entity scorer): train a
sequence classifier with ``Trainer`` (resuming from the output folder's last checkpoint), save it, score the test
split and write ``OUT/results/<name>.json``."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import datasets
from transformers import AutoModelForSequenceClassification, DataCollatorWithPadding, PreTrainedModel, PreTrainedTokenizerBase, Trainer, TrainingArguments

from empathetic_models.knowledge.classifier import INPUT_LENGTH_FIELD, lora_classifier, save_classifier
from empathetic_models.training.trainer import train_from_last_checkpoint

logger = logging.getLogger(__name__)


@dataclass
class AdapterArguments:
    lora_rank: int = field(default=0, metadata={"help": "0: fine-tune every weight (as the papers); r > 0: train a rank-r LoRA adapter "
                                                        "on the query/value projections plus the head, over the frozen encoder (a "
                                                        "few hundred kB to save, small enough to commit)"})
    lora_alpha: int | None = field(default=None, metadata={"help": "LoRA scaling alpha (default 2 × rank)"})
    lora_dropout: float = field(default=0.1, metadata={"help": "dropout on the LoRA branch"})


def pair_classifier(encoder: str, labels: dict[int, str], adapter: AdapterArguments) -> PreTrainedModel:
    """A sequence classifier over ``encoder`` with ``labels`` (id → name): a new head (an encoder that comes with
    another one gets it replaced), as a LoRA model when ``adapter.lora_rank`` > 0."""
    model = AutoModelForSequenceClassification.from_pretrained(
        encoder, num_labels=len(labels), id2label=dict(labels), label2id={v: k for k, v in labels.items()}, ignore_mismatched_sizes=True,
    )  # fmt: skip
    return lora_classifier(model, adapter.lora_rank, adapter.lora_alpha, adapter.lora_dropout) if adapter.lora_rank > 0 else model


def train_pair_classifier(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    features: dict[str, datasets.Dataset],
    training_args: TrainingArguments,
    compute_metrics: Callable,
    metric_names: tuple[str, ...],
    results_name: str,
    description: dict,
    max_length: int,
) -> dict:
    """Train on ``features["train"]`` (validation: ``"valid"``), test on ``"test"``; returns ``description`` with
    the test ``metrics`` (``metric_names``, rounded) and ``train_wall_clock_s``, as written to the results file. The
    inputs were cut to ``max_length`` tokens: the saved config records it, and the loaders serve with it."""
    # recorded in the saved config, so the classifier is served with the input length it was trained on
    setattr((model.get_base_model() if hasattr(model, "peft_config") else model).config, INPUT_LENGTH_FIELD, max_length)
    trainer = Trainer(
        model=model.train(), args=training_args, train_dataset=features["train"], eval_dataset=features["valid"],
        data_collator=DataCollatorWithPadding(tokenizer), processing_class=tokenizer, compute_metrics=compute_metrics,
    )  # fmt: skip
    train_seconds = train_from_last_checkpoint(trainer)
    output_dir = Path(training_args.output_dir)
    if trainer.is_world_process_zero():
        save_classifier(trainer.model, tokenizer, output_dir)  # an adapter also gets its classifier config
    test = trainer.evaluate(features["test"], metric_key_prefix="test")
    results = {**description, "metrics": {k: round(test[f"test_{k}"], 2) for k in metric_names}, "train_wall_clock_s": round(train_seconds, 2)}
    if hasattr(model, "peft_config"):
        config = model.peft_config["default"]
        results["adapter"] = {"method": "LoRA", "rank": config.r, "alpha": config.lora_alpha, "dropout": config.lora_dropout,
                              "target_modules": sorted(config.target_modules), "trained_in_full": sorted(set(config.modules_to_save or [])),
                              "trainable_parameters": sum(p.numel() for p in model.parameters() if p.requires_grad),
                              "saved_mb": round(sum(f.stat().st_size for f in output_dir.glob("adapter_model.*")) / 2**20, 3)}  # fmt: skip
    if trainer.is_world_process_zero():
        (output_dir / "results").mkdir(parents=True, exist_ok=True)
        (output_dir / "results" / f"{results_name}.json").write_text(json.dumps(results, indent=2) + "\n")
        logger.info("%s test: %s", results_name, results["metrics"])
    return results
