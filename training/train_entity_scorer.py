"""Train NEC's entity-knowledge scorer (nec.txt §3.2, after SAKDP) and report its test scores.

    python -m empathetic_models.training.train_entity_scorer --annotated COMMONSENSE/dataset --encoder ENCODER --output_dir OUT

COMMONSENSE/dataset is what ``empathetic-models knowledge annotate --task nec`` wrote (ED with
``nec_entity_knowledge``). Pairs are (history, "ent, rel, tail"), labelled relevant when the entity occurs in the
history and the tail in the gold response or the other way round (the authors' code); training keeps every
positive and ``--negatives_per_positive`` seeded negatives, validation and test keep all pairs. ENCODER is any
Hugging Face encoder (BERT in the paper; all-MiniLM-L6-v2 offline). The scorer is saved with ``save_pretrained``;
``OUT/results/entity_scorer_results.json`` holds test accuracy, precision, recall, F1 of the relevant class and
the positive rate. Pass it to NEC training as ``--entity_scorer OUT``. Every ``TrainingArguments`` flag works.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, field

import datasets
from transformers import AutoTokenizer, HfArgumentParser, TrainingArguments, set_seed

from empathetic_models.knowledge.entity_scorer import EntityKnowledgeScorer, scorer_pairs
from empathetic_models.provenance import provenance
from empathetic_models.training.pair_classifier import AdapterArguments, pair_classifier, train_pair_classifier

logger = logging.getLogger("empathetic_models.training.train_entity_scorer")


@dataclass
class ScorerArguments:
    annotated: str = field(metadata={"help": "save_to_disk folder of ED annotated with --task nec (train/valid/test)"})
    encoder: str = field(metadata={"help": "encoder hub id or path (BERT in the paper; all-MiniLM-L6-v2 offline)"})
    negatives_per_positive: int = field(default=3, metadata={"help": "training negatives kept per positive (seeded)"})
    max_length: int = field(default=256, metadata={"help": "tokens per (history, fact) pair; the history loses its oldest"})
    max_eval_pairs: int | None = field(default=None, metadata={"help": "score only the first N validation / test pairs"})


def binary_scores(labels, predictions) -> dict[str, float]:
    """Accuracy and precision / recall / F1 of the relevant class, ×100."""
    tp = sum(1 for y, p in zip(labels, predictions, strict=True) if y == 1 and p == 1)
    fp = sum(1 for y, p in zip(labels, predictions, strict=True) if y == 0 and p == 1)
    fn = sum(1 for y, p in zip(labels, predictions, strict=True) if y == 1 and p == 0)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    accuracy = sum(int(y == p) for y, p in zip(labels, predictions, strict=True)) / max(len(labels), 1)
    return {"accuracy": 100 * accuracy, "precision": 100 * precision, "recall": 100 * recall, "f1": 100 * f1}


def compute_metrics(prediction) -> dict[str, float]:
    return binary_scores(prediction.label_ids.tolist(), prediction.predictions.argmax(-1).tolist())


def main(argv: list[str] | None = None) -> dict:
    parser = HfArgumentParser((ScorerArguments, AdapterArguments, TrainingArguments), description=__doc__)
    args, adapter, training_args = parser.parse_args_into_dataclasses(args=sys.argv[1:] if argv is None else argv)
    run_provenance = provenance()
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=training_args.get_process_log_level())
    set_seed(training_args.seed)
    annotated = datasets.load_from_disk(args.annotated)
    pairs = {"train": scorer_pairs(annotated["train"], args.negatives_per_positive, training_args.seed)}
    for split in ("valid", "test"):
        pairs[split] = scorer_pairs(annotated[split], None)
        if args.max_eval_pairs:
            pairs[split] = pairs[split].select(range(min(args.max_eval_pairs, len(pairs[split]))))
    tokenizer = AutoTokenizer.from_pretrained(args.encoder)
    model = pair_classifier(args.encoder, {0: "irrelevant", 1: "relevant"}, adapter)
    scorer = EntityKnowledgeScorer(model, tokenizer, args.max_length)  # its encode() is what inference uses

    def tokenize(batch):
        return {**scorer.encode(batch["history"], batch["fact"]), "labels": batch["label"]}

    with training_args.main_process_first(desc="tokenizing"):
        features = {s: pairs[s].map(tokenize, batched=True, remove_columns=pairs[s].column_names, desc=f"tokenizing {s}") for s in pairs}
    return train_pair_classifier(model, tokenizer, features, training_args, compute_metrics, ("accuracy", "precision", "recall", "f1"),
                                 "entity_scorer_results", {
        **run_provenance,
        "task": "NEC entity knowledge: (history, 'ent, rel, tail') → relevant (entity in history and tail in the response, or vice versa)",
        "annotated": args.annotated,
        "encoder": args.encoder,
        "pairs": {s: len(pairs[s]) for s in pairs},
        "positive_rate": {s: round(100 * sum(pairs[s]["label"]) / max(len(pairs[s]), 1), 2) for s in pairs},
    }, args.max_length)  # fmt: skip


if __name__ == "__main__":
    main()
