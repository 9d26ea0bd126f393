"""Train an utterance-level emotion-cause detector (RECCON causal emotion entailment) and report its test F1.

    python -m empathetic_models.training.train_cause_detector --encoder ENCODER --reccon_dir DIR --output_dir OUT [--flag value ...]

ENCODER is any Hugging Face encoder by hub id or path (RECCON used roberta-base). The detector is saved with
``save_pretrained`` (an ``AutoModelForSequenceClassification`` with labels not-cause / cause) and its tokenizer;
``OUT/results/cause_detector_results.json`` holds the RECCON test F1 (positive, negative, macro) beside
RECCON's published RoBERTa-base figures. Every ``TrainingArguments`` flag is accepted (``--help``).
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, field

from transformers import AutoTokenizer, HfArgumentParser, TrainingArguments, set_seed

from empathetic_models.knowledge.causes import CAUSE_LABELS, PUBLISHED_ROBERTA_BASE, cause_f1, encode_pairs, load_reccon
from empathetic_models.provenance import provenance
from empathetic_models.training.pair_classifier import AdapterArguments, pair_classifier, train_pair_classifier

logger = logging.getLogger("empathetic_models.training.train_cause_detector")


@dataclass
class CauseDetectorArguments:
    encoder: str = field(metadata={"help": "encoder hub id or path (roberta-base in RECCON; all-MiniLM-L6-v2 offline)"})
    reccon_dir: str = field(metadata={"help": "folder with RECCON's dailydialog_{train,valid,test}.json"})
    max_length: int = field(default=256, metadata={"help": "tokens per (emotion, target, candidate, history) input"})
    max_train_samples: int | None = field(default=None, metadata={"help": "use only the first N training pairs"})
    max_eval_samples: int | None = field(default=None, metadata={"help": "use only the first N valid/test pairs"})


def compute_metrics(prediction) -> dict[str, float]:
    return cause_f1(prediction.label_ids, prediction.predictions.argmax(-1))


def main(argv: list[str] | None = None) -> dict:
    parser = HfArgumentParser((CauseDetectorArguments, AdapterArguments, TrainingArguments), description=__doc__)
    args, adapter, training_args = parser.parse_args_into_dataclasses(args=sys.argv[1:] if argv is None else argv)
    run_provenance = provenance()
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=training_args.get_process_log_level())
    set_seed(training_args.seed)

    data = load_reccon(args.reccon_dir)
    if args.max_train_samples:
        data["train"] = data["train"].select(range(min(args.max_train_samples, len(data["train"]))))
    if args.max_eval_samples:
        for split in ("valid", "test"):
            data[split] = data[split].select(range(min(args.max_eval_samples, len(data[split]))))
    tokenizer = AutoTokenizer.from_pretrained(args.encoder)
    model = pair_classifier(args.encoder, CAUSE_LABELS, adapter)

    def tokenize(batch):
        encoded = encode_pairs(tokenizer, batch["emotion"], batch["target"], batch["candidate"], batch["history"], args.max_length)
        return {**encoded, "labels": batch["label"]}

    with training_args.main_process_first(desc="tokenizing"):
        features = {s: data[s].map(tokenize, batched=True, remove_columns=data[s].column_names, desc=f"tokenizing {s}") for s in data}
    results = train_pair_classifier(model, tokenizer, features, training_args, compute_metrics, ("f1_pos", "f1_neg", "macro_f1"),
                                    "cause_detector_results", {
        **run_provenance,
        "task": "RECCON causal emotion entailment (DailyDialog, with context)",
        "encoder": args.encoder,
        "train_pairs": len(features["train"]),
        "test_pairs": len(features["test"]),
        "published_roberta_base": PUBLISHED_ROBERTA_BASE,
    }, args.max_length)  # fmt: skip
    logger.info("RoBERTa-base in RECCON: %s", PUBLISHED_ROBERTA_BASE)
    return results


if __name__ == "__main__":
    main()
