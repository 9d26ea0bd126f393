"""Train a communication-mechanism classifier (EPITOME: Emotional Reactions, Interpretations or Explorations)
and report its test scores.

    python -m training.train_mechanism_classifier --mechanism er --encoder ENCODER --epitome_dir DIR --output_dir OUT

ENCODER is any Hugging Face encoder by hub id or path (EPITOME used RoBERTa; all-MiniLM-L6-v2 offline). Input:
(seeker post, response) as a sentence pair; output: level 0 / 1 / 2. The classifier is saved with
``save_pretrained`` and ``OUT/results/mechanism_results.json`` holds its test 3-level accuracy and macro-F1 and
its binary (weak + strong → 1) accuracy and F1, on the seeded 75:5:20 split. Every ``TrainingArguments`` flag is
accepted (``--help``).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from transformers import (
    AutoModelForSequenceClassification,
    AutoTokenizer,
    DataCollatorWithPadding,
    HfArgumentParser,
    Trainer,
    TrainingArguments,
    set_seed,
)
from transformers.trainer_utils import get_last_checkpoint

from empathetic_models.knowledge.mechanisms import LEVELS, MECHANISMS, load_epitome, mechanism_scores
from empathetic_models.provenance import provenance

logger = logging.getLogger("training.train_mechanism_classifier")


@dataclass
class MechanismArguments:
    mechanism: str = field(metadata={"help": f"one of {sorted(MECHANISMS)}"})
    encoder: str = field(metadata={"help": "encoder hub id or path (RoBERTa in EPITOME; all-MiniLM-L6-v2 offline)"})
    epitome_dir: str = field(metadata={"help": "folder with EPITOME's <mechanism>-reddit.csv files"})
    max_length: int = field(default=256, metadata={"help": "tokens per (seeker post, response) pair"})
    split_seed: int = field(default=42, metadata={"help": "seed of the 75:5:20 split"})


def compute_metrics(prediction) -> dict[str, float]:
    return mechanism_scores(prediction.label_ids, prediction.predictions.argmax(-1))


def main(argv: list[str] | None = None) -> dict:
    parser = HfArgumentParser((MechanismArguments, TrainingArguments), description=__doc__)
    args, training_args = parser.parse_args_into_dataclasses(args=sys.argv[1:] if argv is None else argv)
    run_provenance = provenance("python -m training.train_mechanism_classifier" if argv is None else None)
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=training_args.get_process_log_level())
    set_seed(training_args.seed)
    data = load_epitome(args.epitome_dir, args.mechanism, args.split_seed)
    tokenizer = AutoTokenizer.from_pretrained(args.encoder)
    model = AutoModelForSequenceClassification.from_pretrained(
        args.encoder, num_labels=len(LEVELS), id2label=dict(LEVELS), label2id={v: k for k, v in LEVELS.items()},
        ignore_mismatched_sizes=True,  # an encoder that comes with another classification head gets a new 3-level one
    )

    def tokenize(batch):
        encoded = tokenizer(batch["seeker_post"], batch["response_post"], truncation="longest_first", max_length=args.max_length)
        return {**encoded, "labels": batch["label"]}

    with training_args.main_process_first(desc="tokenizing"):
        features = {s: data[s].map(tokenize, batched=True, remove_columns=data[s].column_names, desc=f"tokenizing {s}") for s in data}
    trainer = Trainer(
        model=model, args=training_args, train_dataset=features["train"], eval_dataset=features["valid"],
        data_collator=DataCollatorWithPadding(tokenizer), processing_class=tokenizer, compute_metrics=compute_metrics,
    )  # fmt: skip
    output_dir = Path(training_args.output_dir)
    last_checkpoint = get_last_checkpoint(str(output_dir)) if output_dir.is_dir() else None
    start = time.perf_counter()
    trainer.train(resume_from_checkpoint=last_checkpoint)
    train_seconds = time.perf_counter() - start
    trainer.save_model()
    test = trainer.evaluate(features["test"], metric_key_prefix="test")
    results = {
        **run_provenance,
        "task": f"EPITOME (Reddit) {MECHANISMS[args.mechanism]}: (seeker post, response) → level 0/1/2",
        "mechanism": args.mechanism,
        "encoder": args.encoder,
        "split": {name: len(features[name]) for name in features},
        "metrics": {k: round(test[f"test_{k}"], 2) for k in ("accuracy", "macro_f1", "binary_accuracy", "binary_f1")},
        "train_wall_clock_s": round(train_seconds, 2),
    }
    if trainer.is_world_process_zero():
        (output_dir / "results").mkdir(parents=True, exist_ok=True)
        (output_dir / "results" / "mechanism_results.json").write_text(json.dumps(results, indent=2) + "\n")
        logger.info("EPITOME %s test: %s", args.mechanism, results["metrics"])
    return results


if __name__ == "__main__":
    main()
