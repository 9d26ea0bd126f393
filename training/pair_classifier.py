"""The run shared by the pair-classifier scripts (cause detector, mechanism classifiers, entity scorer): train a
sequence classifier with ``Trainer`` (resuming from the output folder's last checkpoint), save it, score the test
split and write ``OUT/results/<name>.json``."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import datasets
from transformers import DataCollatorWithPadding, PreTrainedModel, PreTrainedTokenizerBase, Trainer, TrainingArguments

from training.trainer import train_from_last_checkpoint

logger = logging.getLogger(__name__)


def train_pair_classifier(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    features: dict[str, datasets.Dataset],
    training_args: TrainingArguments,
    compute_metrics: Callable,
    metric_names: tuple[str, ...],
    results_name: str,
    description: dict,
) -> dict:
    """Train on ``features["train"]`` (validation: ``"valid"``), test on ``"test"``; returns ``description`` with
    the test ``metrics`` (``metric_names``, rounded) and ``train_wall_clock_s``, as written to the results file."""
    trainer = Trainer(
        model=model.train(), args=training_args, train_dataset=features["train"], eval_dataset=features["valid"],
        data_collator=DataCollatorWithPadding(tokenizer), processing_class=tokenizer, compute_metrics=compute_metrics,
    )  # fmt: skip
    train_seconds = train_from_last_checkpoint(trainer)
    output_dir = Path(training_args.output_dir)
    test = trainer.evaluate(features["test"], metric_key_prefix="test")
    results = {**description, "metrics": {k: round(test[f"test_{k}"], 2) for k in metric_names}, "train_wall_clock_s": round(train_seconds, 2)}
    if trainer.is_world_process_zero():
        (output_dir / "results").mkdir(parents=True, exist_ok=True)
        (output_dir / "results" / f"{results_name}.json").write_text(json.dumps(results, indent=2) + "\n")
        logger.info("%s test: %s", results_name, results["metrics"])
    return results
