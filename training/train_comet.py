"""Train a COMET-style commonsense generator on ATOMIC tuples and score it on held-out ATOMIC-2020 queries.

    python -m empathetic_models.training.train_comet --atomic FILE [FILE ...] --queries SYSTEM_EVAL_TSV --output_dir OUT \\
        (--model_name_or_path SEQ2SEQ | --warm_start_encoder ENCODER | --scratch_config JSON --tokenizer_name TOK) [...]

Inputs are COMET-ATOMIC2020 prompts ``"{head} {relation} [GEN]"`` and targets the tails. The backbone is any
seq2seq checkpoint by hub id or path (``facebook/bart-large`` as COMET-ATOMIC2020 used), or an encoder
warm-started into a BERT2BERT ``EncoderDecoderModel`` (the offline all-MiniLM-L6-v2 here), or a randomly
initialised seq2seq of a given config (a small BART that trains on a CPU). Every head of
``--queries`` is removed from the training tuples; after training the model is saved with its tokenizer
(``empathetic_models.knowledge.COMET.from_pretrained(OUT)`` loads it) and ``OUT/results/comet_results.json``
holds its BLEU-1/2 per relation on the queries, beside whatever else ``--compare_*`` names. Every
``Seq2SeqTrainingArguments`` flag is accepted (``--help``).
"""

from __future__ import annotations

import json
import logging
import random
import sys
from dataclasses import dataclass, field
from pathlib import Path

import datasets
from transformers import (
    AutoConfig,
    AutoModelForSeq2SeqLM,
    AutoTokenizer,
    DataCollatorForSeq2Seq,
    HfArgumentParser,
    Seq2SeqTrainer,
    Seq2SeqTrainingArguments,
    set_seed,
)

from empathetic_models.backbones import warm_started_encoder_decoder
from empathetic_models.knowledge.commonsense import COMET, load_atomic
from empathetic_models.knowledge.commonsense_eval import compare_sources, exclude_heads, load_system_eval
from empathetic_models.provenance import provenance
from empathetic_models.training.trainer import train_from_last_checkpoint

logger = logging.getLogger("empathetic_models.training.train_comet")


@dataclass
class CometArguments:
    atomic: list[str] = field(metadata={"help": "ATOMIC tuple files to train on (TSV/.gz; see empathetic_models.knowledge.load_atomic)"})
    queries: str = field(metadata={"help": "held-out ATOMIC-2020 system-eval TSV: its heads are excluded from training and scored"})
    model_name_or_path: str | None = field(default=None, metadata={"help": "seq2seq backbone (e.g. facebook/bart-large)"})
    warm_start_encoder: str | None = field(default=None, metadata={"help": "or: an encoder warm-started as BERT2BERT"})
    scratch_config: str | None = field(default=None, metadata={"help": 'or: a randomly initialised seq2seq, e.g. \'{"model_type": "bart", "d_model": 256}\''})
    tokenizer_name: str | None = field(default=None, metadata={"help": "tokenizer of --scratch_config (hub id or path)"})
    relations: list[str] | None = field(default=None, metadata={"help": "train on these relations only (default: all)"})
    max_source_length: int = field(default=48)
    max_target_length: int = field(default=24)
    validation_tuples: int = field(default=2000, metadata={"help": "training tuples held out for eval_loss"})
    num_beams: int = field(default=5, metadata={"help": "beams when scoring (COMET-ATOMIC2020: 5)"})
    max_queries: int | None = field(default=None, metadata={"help": "score only the first N queries"})


def build_model(args: CometArguments):
    if sum(map(bool, (args.model_name_or_path, args.warm_start_encoder, args.scratch_config))) != 1:
        raise SystemExit("give exactly one of --model_name_or_path (a seq2seq), --warm_start_encoder (an encoder), --scratch_config")
    if args.model_name_or_path:
        return AutoModelForSeq2SeqLM.from_pretrained(args.model_name_or_path), AutoTokenizer.from_pretrained(args.model_name_or_path)
    if args.scratch_config:
        if not args.tokenizer_name:
            raise SystemExit("--scratch_config needs --tokenizer_name")
        tokenizer = AutoTokenizer.from_pretrained(args.tokenizer_name)
        settings = json.loads(args.scratch_config)
        start = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.cls_token_id
        end = tokenizer.eos_token_id if tokenizer.eos_token_id is not None else tokenizer.sep_token_id
        config = AutoConfig.for_model(settings.pop("model_type"), vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id,
                                      bos_token_id=start, eos_token_id=end, decoder_start_token_id=start, forced_eos_token_id=None,
                                      **settings)  # fmt: skip
        return AutoModelForSeq2SeqLM.from_config(config), tokenizer
    return warm_started_encoder_decoder(args.warm_start_encoder)


def backbone(args: CometArguments) -> str:
    if args.scratch_config:
        return f"random {args.scratch_config} with the {args.tokenizer_name} tokenizer"
    return args.model_name_or_path or f"BERT2BERT warm-started from {args.warm_start_encoder}"


def main(argv: list[str] | None = None) -> dict:
    parser = HfArgumentParser((CometArguments, Seq2SeqTrainingArguments), description=__doc__)
    args, training_args = parser.parse_args_into_dataclasses(args=sys.argv[1:] if argv is None else argv)
    run_provenance = provenance()
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=training_args.get_process_log_level())
    set_seed(training_args.seed)

    queries = load_system_eval(args.queries)
    if args.max_queries:
        queries = queries[: args.max_queries]
    triples = exclude_heads(load_atomic(args.atomic), [q["head"] for q in queries])
    if args.relations:
        triples = [t for t in triples if t[1] in set(args.relations)]
    random.Random(training_args.seed).shuffle(triples)
    held = min(args.validation_tuples, len(triples) // 10)
    splits = {"valid": triples[:held], "train": triples[held:]}
    model, tokenizer = build_model(args)

    def tokenize(batch):
        prompts = [f"{h} {r} [GEN]" for h, r in zip(batch["head"], batch["relation"], strict=True)]
        encoded = tokenizer(prompts, max_length=args.max_source_length, truncation=True, return_token_type_ids=False)
        encoded["labels"] = tokenizer(text_target=batch["tail"], max_length=args.max_target_length, truncation=True)["input_ids"]
        return encoded

    with training_args.main_process_first(desc="tokenizing"):
        features = {
            name: datasets.Dataset.from_dict(dict(zip(("head", "relation", "tail"), map(list, zip(*rows, strict=True)), strict=True)))
            .map(tokenize, batched=True, remove_columns=["head", "relation", "tail"], desc=f"tokenizing {name}")
            for name, rows in splits.items()
        }
    trainer = Seq2SeqTrainer(
        model=model,
        args=training_args,
        train_dataset=features["train"],
        eval_dataset=features["valid"] if len(features["valid"]) else None,
        data_collator=DataCollatorForSeq2Seq(tokenizer, model=model),
        processing_class=tokenizer,
    )
    train_seconds = train_from_last_checkpoint(trainer)
    output_dir = Path(training_args.output_dir)
    if not trainer.is_world_process_zero():
        return {}
    comet = COMET(trainer.model.eval(), tokenizer, num_beams=args.num_beams, max_new_tokens=args.max_target_length)
    comet.relations = frozenset(relation for _, relation, _ in triples)  # score only what it was trained on
    comet.name = f"COMET-style {backbone(args)} trained on {len(splits['train'])} tuples"
    report = compare_sources(queries, {"trained_comet": comet})["trained_comet"]
    results = {
        **run_provenance,
        "backbone": backbone(args),
        "train_tuples": len(splits["train"]),
        "train_files": [Path(p).name for p in args.atomic],
        "queries": len(queries),
        "train_wall_clock_s": round(train_seconds, 2),
        "score": report,
    }
    (output_dir / "results").mkdir(parents=True, exist_ok=True)
    (output_dir / "results" / "comet_results.json").write_text(json.dumps(results, indent=2) + "\n")
    logger.info("BLEU-2 / BLEU-1 on %d held-out queries: %s / %s", len(queries), report["bleu_2"], report["bleu_1"])
    return results


if __name__ == "__main__":
    main()
