"""Train a communication-mechanism classifier (EPITOME: Emotional Reactions, Interpretations or Explorations)
and report its test scores.

    python -m empathetic_models.training.train_mechanism_classifier --mechanism er --encoder ENCODER --epitome_dir DIR --output_dir OUT

ENCODER is any Hugging Face encoder by hub id or path (EPITOME used RoBERTa; all-MiniLM-L6-v2 offline). Input:
(seeker post, response) as a sentence pair; output: level 0 / 1 / 2. The classifier is saved with
``save_pretrained`` and ``OUT/results/mechanism_results.json`` holds its test 3-level accuracy and macro-F1 and
its binary (weak + strong → 1) accuracy and F1, on the seeded 75:5:20 split. Every ``TrainingArguments`` flag is
accepted (``--help``).
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, field

from transformers import AutoTokenizer, HfArgumentParser, TrainingArguments, set_seed

from empathetic_models.knowledge.mechanisms import LEVELS, MECHANISMS, load_epitome, mechanism_scores
from empathetic_models.provenance import provenance
from empathetic_models.training.pair_classifier import AdapterArguments, pair_classifier, train_pair_classifier

logger = logging.getLogger("empathetic_models.training.train_mechanism_classifier")


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
    parser = HfArgumentParser((MechanismArguments, AdapterArguments, TrainingArguments), description=__doc__)
    args, adapter, training_args = parser.parse_args_into_dataclasses(args=sys.argv[1:] if argv is None else argv)
    run_provenance = provenance()
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=training_args.get_process_log_level())
    set_seed(training_args.seed)
    data = load_epitome(args.epitome_dir, args.mechanism, args.split_seed)
    tokenizer = AutoTokenizer.from_pretrained(args.encoder)
    model = pair_classifier(args.encoder, dict(LEVELS), adapter)

    def tokenize(batch):
        encoded = tokenizer(batch["seeker_post"], batch["response_post"], truncation="longest_first", max_length=args.max_length)
        return {**encoded, "labels": batch["label"]}

    with training_args.main_process_first(desc="tokenizing"):
        features = {s: data[s].map(tokenize, batched=True, remove_columns=data[s].column_names, desc=f"tokenizing {s}") for s in data}
    return train_pair_classifier(model, tokenizer, features, training_args, compute_metrics, ("accuracy", "macro_f1", "binary_accuracy", "binary_f1"),
                                 "mechanism_results", {
        **run_provenance,
        "task": f"EPITOME (Reddit) {MECHANISMS[args.mechanism]}: (seeker post, response) → level 0/1/2",
        "mechanism": args.mechanism,
        "encoder": args.encoder,
        "split": {name: len(features[name]) for name in features},
    }, args.max_length)  # fmt: skip


if __name__ == "__main__":
    main()
