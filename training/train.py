"""Train an empathetic-models architecture on EmpatheticDialogues, then evaluate it on test and write its card.

    python -m empathetic_models.training.train RECIPE.yaml [--flag value ...]
    empathetic-models train RECIPE.yaml [--flag value ...]          (the same, in the CLI's process)
    accelerate launch -m empathetic_models.training.train RECIPE.yaml [--flag value ...]

RECIPE is a YAML file or the name of one in ``training/recipes/`` (e.g. ``sample``); flags given after it
override the recipe. Every flag of the three argument groups below and of ``Seq2SeqTrainingArguments`` is
accepted (``--help`` lists them). Re-running into an ``output_dir`` that holds checkpoints resumes from the
latest one unless ``--overwrite_output_dir true``.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import torch
import yaml
from transformers import (
    AutoConfig,
    AutoModelForSeq2SeqLM,
    AutoTokenizer,
    EarlyStoppingCallback,
    HfArgumentParser,
    Seq2SeqTrainingArguments,
    set_seed,
)

import empathetic_models
from empathetic_models.backbones import warm_started_encoder_decoder
from empathetic_models.cards import write_card
from empathetic_models.checkpoints import CheckpointError, check_checkpoint_folder
from empathetic_models.data import load_empathetic_dialogues
from empathetic_models.embeddings import load_glove_embeddings
from empathetic_models.evaluation import write_results
from empathetic_models.evaluation.curves import attach_learning_curve, learning_curve_svg
from empathetic_models.featurization import Featurizer, MissingResourceError, featurizer_class
from empathetic_models.inference import evaluate_model
from empathetic_models.provenance import provenance
from empathetic_models.tokenization import build_word_tokenizer, vocabulary_texts
from empathetic_models.training.callbacks import EvalClockCallback, PretrainingPhaseCallback
from empathetic_models.training.collators import EmpatheticDataCollator
from empathetic_models.training.trainer import EmpatheticTrainer, checkpoint_step, checkpoint_to_resume, whole_run_train_loss

logger = logging.getLogger("empathetic_models.training.train")
RECIPES_DIR = Path(__file__).parent / "recipes"


@dataclass
class ModelArguments:
    model_type: str = field(default="empathetic_transformer", metadata={"help": f"one of {sorted(empathetic_models.MODEL_TYPES)}"})
    model_name_or_path: str | None = field(default=None, metadata={"help": "start from this checkpoint (folder or hub id) instead of random weights"})
    model_config: str | None = field(default=None, metadata={"help": 'JSON dict of config overrides, e.g. \'{"d_model": 300}\''})
    embeddings: str | None = field(default=None, metadata={"help": "GloVe-format text file to initialise word embeddings"})
    conceptnet: str | None = field(default=None, metadata={"help": "kemp, case(_blenderbot), imagine, nec: ConceptNet 5 assertions CSV or ConceptNet 4 TSV (.gz ok)"})
    vad_lexicon: str | None = field(default=None, metadata={"help": "kemp, case(_blenderbot): NRC-VAD-Lexicon.txt"})
    cause_detector: str | None = field(default=None, metadata={"help": "emocause: cause detector (empathetic_models.training.train_cause_detector output) that annotates ED"})
    reasoner_pretraining_steps: int = field(default=0, metadata={"help": "emocause: first train the emotion reasoner alone (L_r) for this many steps"})
    atomic: list[str] | None = field(default=None, metadata={"help": "case, imagine, nec: ATOMIC tuple files for commonsense by retrieval (see empathetic-models knowledge)"})
    comet: str | None = field(default=None, metadata={"help": "case(_blenderbot), imagine, nec: a COMET-ATOMIC2020 checkpoint (hub id or path) for commonsense instead"})
    commonsense_encoder: str | None = field(default=None, metadata={"help": "sentence encoder of ATOMIC retrieval (default all-MiniLM-L6-v2)"})
    er_classifier: str | None = field(default=None, metadata={"help": "imagine: Emotional Reactions classifier (empathetic_models.training.train_mechanism_classifier)"})
    ip_classifier: str | None = field(default=None, metadata={"help": "imagine: Interpretations classifier"})
    ex_classifier: str | None = field(default=None, metadata={"help": "imagine: Explorations classifier"})
    bow_pretraining_steps: int = field(default=0, metadata={"help": "case(_blenderbot): first train L_BOW alone (the knowledge discernment) for this many steps"})
    warm_start_encoder: str | None = field(default=None, metadata={"help": "nec, case_blenderbot: backbone = this encoder warm-started as an encoder-decoder (e.g. all-MiniLM-L6-v2)"})
    entity_scorer: str | None = field(default=None, metadata={"help": "nec: entity-knowledge scorer (python -m empathetic_models.training.train_entity_scorer) that picks K_E; default: cosine"})
    min_word_frequency: int = field(default=1, metadata={"help": "words seen fewer times in train map to [UNK]"})


@dataclass
class DataArguments:
    data_source: str = field(default="sample", metadata={"help": "'sample' (embedded), a folder with the ED CSVs, the official tarball or its URL"})
    split_style: Literal["full", "paper"] = field(default="full", metadata={"help": "'paper' drops the conversations the published splits lack"})
    max_source_length: int = field(default=512, metadata={"help": "longer histories keep [CLS] and their most recent tokens"})
    max_target_length: int = field(default=128, metadata={"help": "responses are cut to this many tokens (EOS included)"})
    max_train_samples: int | None = field(default=None, metadata={"help": "use only the first N training examples"})
    max_eval_samples: int | None = field(default=None, metadata={"help": "use only the first N validation examples"})
    knowledge_cache_dir: str | None = field(default=None, metadata={"help": "where knowledge annotations (concepts, causes, commonsense, mechanisms) are cached (default: <datasets cache>/empathetic_models)"})
    preprocessing_num_workers: int | None = field(default=None, metadata={"help": "processes for knowledge annotation"})


@dataclass
class EvaluationArguments:
    evaluate_test: bool = field(default=True, metadata={"help": "after training: generate on test, score, write results and card"})
    max_test_samples: int | None = field(default=None, metadata={"help": "score only the first N test examples"})
    test_batch_size: int = field(default=64, metadata={"help": "batch size for test scoring and generation"})
    early_stopping_patience: int | None = field(default=3, metadata={"help": "evaluations without improvement of metric_for_best_model before stopping; none = off"})
    selection_burn_in_steps: int = field(default=0, metadata={"help": "evaluations before this step are logged but neither select nor count towards early stopping"})
    overwrite_output_dir: bool = field(default=False, metadata={"help": "start afresh instead of resuming from checkpoints in output_dir"})


ARGUMENT_GROUPS = (ModelArguments, DataArguments, EvaluationArguments, Seq2SeqTrainingArguments)


def recipe_argv(argv: list[str]) -> list[str]:
    """Turn ``RECIPE [flags]`` into flags: the recipe's keys first, so later flags override them (a later
    ``--model_config`` JSON overrides the recipe's ``model_config`` key by key)."""
    if not argv or argv[0].startswith("-"):
        return argv
    recipe = Path(argv[0])
    if not recipe.suffix:
        recipe = RECIPES_DIR / f"{argv[0]}.yaml"
    if not recipe.is_file():
        known = ", ".join(sorted(p.stem for p in RECIPES_DIR.glob("*.yaml")))
        raise SystemExit(f"recipe not found: {argv[0]} (a YAML path, or one of: {known})")
    settings, rest = yaml.safe_load(recipe.read_text()) or {}, list(argv[1:])
    for flag in ("--model_config", "--model-config"):  # a later --model_config updates the recipe's, key by key
        while flag in rest[:-1] and isinstance(settings.get("model_config"), dict):
            i = rest.index(flag)
            settings["model_config"] = {**settings["model_config"], **json.loads(rest[i + 1])}
            del rest[i : i + 2]
    flags = []
    for key, value in settings.items():
        if isinstance(value, (dict, list)):
            value = json.dumps(value)
        flags += [f"--{key}", str(value)]
    return flags + rest


def parse_args(argv: list[str] | None = None):
    parser = HfArgumentParser(ARGUMENT_GROUPS, description=__doc__)
    return parser.parse_args_into_dataclasses(args=recipe_argv(sys.argv[1:] if argv is None else argv))


def build_tokenizer(model_args: ModelArguments, train_split):
    if model_args.model_name_or_path or model_args.warm_start_encoder:
        return AutoTokenizer.from_pretrained(model_args.model_name_or_path or model_args.warm_start_encoder)
    return build_word_tokenizer(vocabulary_texts(train_split), min_frequency=model_args.min_word_frequency)


def build_model(model_args: ModelArguments, tokenizer):
    """``--model_name_or_path`` (with ``--model_config`` overrides), a new NEC / CASE-BlenderBot around a pretrained
    backbone, or a new model of ``--model_type`` on the word vocabulary."""
    overrides = json.loads(model_args.model_config) if model_args.model_config else {}
    path, model_type = model_args.model_name_or_path, model_args.model_type
    if model_type in empathetic_models.BACKBONE_ARCHITECTURES and not (path and AutoConfig.from_pretrained(path).model_type == model_type):
        if not (path or model_args.warm_start_encoder):
            raise SystemExit(f"{model_type} needs --model_name_or_path (a BART / BlenderBot-small checkpoint) or --warm_start_encoder (an encoder)")
        backbone = warm_started_encoder_decoder(model_args.warm_start_encoder)[0] if model_args.warm_start_encoder else path
        return empathetic_models.BACKBONE_ARCHITECTURES[model_type][1].from_backbone(backbone, **overrides)
    if path:
        return AutoModelForSeq2SeqLM.from_pretrained(path, **overrides)
    tokens = dict(pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                  decoder_start_token_id=tokenizer.bos_token_id)  # fmt: skip
    if hasattr(empathetic_models.ARCHITECTURES[model_args.model_type][0], "cls_token_id"):  # CASE's posteriors read [CLS]
        tokens["cls_token_id"] = tokenizer.cls_token_id
    config = AutoConfig.for_model(model_args.model_type, vocab_size=len(tokenizer), **tokens, **overrides)
    model = AutoModelForSeq2SeqLM.from_config(config)
    if model_args.embeddings:
        load_glove_embeddings(model_args.embeddings, tokenizer, model)
    return model


def build_featurizer(model, tokenizer, model_args: ModelArguments, data_args: DataArguments, checkpoint: str | None):
    """The model's featurizer: read from ``checkpoint`` when resuming or fine-tuning a model of this type, else built
    by its class from the resource flags (:meth:`~empathetic_models.featurization.Featurizer.from_arguments`)."""
    positions = getattr(model.config, "max_position_embeddings", None) or getattr(model.config.get_text_config(decoder=True), "max_position_embeddings", 512)
    lengths = {"max_source_length": min(data_args.max_source_length, positions), "max_target_length": min(data_args.max_target_length, positions)}
    model_type = model.config.model_type
    if checkpoint and AutoConfig.from_pretrained(checkpoint).model_type == model_type:  # its own checkpoint, not a backbone's
        return Featurizer.from_pretrained(checkpoint, tokenizer, **lengths)
    try:
        return featurizer_class(model_type).from_arguments(tokenizer, model.config, model_args, **lengths)
    except MissingResourceError as error:
        raise SystemExit(f"{model_type}: {error}") from None


def main(argv: list[str] | None = None) -> dict:
    """Train, then evaluate on test (see the module docstring); returns the run's summary. Under a launcher, the
    process group is shut down at the end (a process exiting with it alive can abort at exit)."""
    try:
        return run(argv)
    finally:
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()


def run(argv: list[str] | None = None) -> dict:
    model_args, data_args, eval_args, training_args = parse_args(argv)
    # taken before training: the code that actually runs
    run_provenance = provenance()
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=training_args.get_process_log_level())
    set_seed(training_args.seed)
    output_dir = Path(training_args.output_dir)

    if eval_args.overwrite_output_dir and training_args.resume_from_checkpoint:
        raise SystemExit("--overwrite_output_dir true starts afresh and --resume_from_checkpoint resumes: give one of them")
    last_checkpoint = None
    if training_args.resume_from_checkpoint or (output_dir.is_dir() and not eval_args.overwrite_output_dir):
        # checked (a damaged folder fails naming the file and the fix) and announced as a warning
        last_checkpoint = checkpoint_to_resume(output_dir, training_args.resume_from_checkpoint, need_tokenizer=True)
    if model_args.model_name_or_path:
        try:  # a local folder to start from: the same checks as serving it (hub ids pass through)
            check_checkpoint_folder(model_args.model_name_or_path)
        except CheckpointError as error:
            raise SystemExit(f"--model_name_or_path: {error}") from None
    resumed_from = {"checkpoint": str(last_checkpoint), "step": checkpoint_step(last_checkpoint)} if last_checkpoint else None

    raw = load_empathetic_dialogues(data_args.data_source, split_style=data_args.split_style)
    if data_args.max_train_samples:
        raw["train"] = raw["train"].select(range(min(data_args.max_train_samples, len(raw["train"]))))
    if data_args.max_eval_samples:
        raw["valid"] = raw["valid"].select(range(min(data_args.max_eval_samples, len(raw["valid"]))))
    # a resumed run must keep the vocabulary it started with
    tokenizer = AutoTokenizer.from_pretrained(last_checkpoint) if last_checkpoint else build_tokenizer(model_args, raw["train"])
    model = build_model(model_args, tokenizer)
    featurizer = build_featurizer(model, tokenizer, model_args, data_args, last_checkpoint or model_args.model_name_or_path)
    with training_args.main_process_first(desc="featurizing"):
        featurizer.fit(raw["train"])
        for split in ("train", "valid"):  # the model's knowledge, cached under a fingerprint (one cache location)
            raw[split] = featurizer.annotate(raw[split], data_args.knowledge_cache_dir, data_args.preprocessing_num_workers)
        features = {
            split: raw[split].map(featurizer, batched=True, remove_columns=raw[split].column_names, desc=f"featurizing {split}")
            for split in ("train", "valid")
        }
        # validation batches of similar response length: far less padding to project to the vocabulary, and the
        # same eval_ppl (a sum over tokens); longest first, so the memory peak comes at once
        lengths = [len(labels) for labels in features["valid"]["labels"]]
        features["valid"] = features["valid"].select(sorted(range(len(lengths)), key=lambda i: (-lengths[i], i)))

    clock = EvalClockCallback()
    callbacks = [clock]
    if model_args.reasoner_pretraining_steps:
        callbacks.append(PretrainingPhaseCallback("reasoner_pretraining", model_args.reasoner_pretraining_steps))
    if model_args.bow_pretraining_steps:
        callbacks.append(PretrainingPhaseCallback("bow_pretraining", model_args.bow_pretraining_steps))
    if eval_args.early_stopping_patience and training_args.load_best_model_at_end:
        callbacks.append(EarlyStoppingCallback(early_stopping_patience=eval_args.early_stopping_patience))
    trainer = EmpatheticTrainer(
        model=model,
        args=training_args,
        train_dataset=features["train"],
        eval_dataset=features["valid"],
        data_collator=EmpatheticDataCollator(featurizer),
        processing_class=tokenizer,
        featurizer=featurizer,
        selection_burn_in_steps=eval_args.selection_burn_in_steps,
        callbacks=callbacks,
    )
    start = time.perf_counter()
    train_result = trainer.train(resume_from_checkpoint=last_checkpoint)
    train_seconds = time.perf_counter() - start
    trainer.save_model()  # weights, config (auto_map), code, generation config, tokenizer, featurizer files
    trainer.save_state()
    run_info = {
        **run_provenance,
        "model_type": model.config.model_type,
        "world_size": training_args.world_size,
        "data_source": data_args.data_source,
        "split_style": data_args.split_style,
        "train_examples": len(features["train"]),
        "resumed_from": resumed_from,
        "global_step": train_result.global_step,
        "train_loss": whole_run_train_loss(trainer.state.log_history, train_result.training_loss),
        **clock.summary(trainer.state),  # train_wall_clock_s: the whole run, resumes included
        "train_wall_clock_this_process_s": round(train_seconds, 2),
        "selection_metric": training_args.metric_for_best_model if training_args.load_best_model_at_end else None,
        "embedding_init": model_args.embeddings or ("from " + model_args.model_name_or_path if model_args.model_name_or_path else "random"),
    }
    if (knowledge := featurizer.describe()) is not None:
        run_info["knowledge_source"] = knowledge
    if model.config.model_type in empathetic_models.BACKBONE_ARCHITECTURES:
        backbone = model_args.warm_start_encoder or model_args.model_name_or_path
        run_info["embedding_init"] = f"backbone: {backbone}" + (" (warm-started encoder-decoder)" if model_args.warm_start_encoder else "")
    if not trainer.is_world_process_zero():
        return run_info
    (output_dir / "run_info.json").write_text(json.dumps(run_info, indent=2) + "\n")

    if eval_args.evaluate_test:
        test = load_empathetic_dialogues(data_args.data_source, split_style=data_args.split_style, splits="test")["test"]
        if eval_args.max_test_samples:
            test = test.select(range(min(eval_args.max_test_samples, len(test))))
        trainer.model.eval()
        results, rows = evaluate_model(trainer.model, featurizer, test, eval_args.test_batch_size, str(output_dir),
                                       cache_dir=data_args.knowledge_cache_dir)  # fmt: skip
        keys = ("command", "commit", "hardware", "train_wall_clock_s", "wall_clock_to_best_eval_s", "best_eval_step",
                "data_source", "train_examples", "embedding_init", "knowledge_source")
        results.update({k: run_info[k] for k in keys if k in run_info})
        state = {"log_history": trainer.state.log_history, "best_global_step": trainer.state.best_global_step,
                 "best_metric": trainer.state.best_metric}  # fmt: skip
        attach_learning_curve(results, state, run_info["selection_metric"])
        write_results(results, output_dir / "results", name="test_results")
        with open(output_dir / "results" / "test_generations.jsonl", "w") as f:
            f.writelines(json.dumps(row) + "\n" for row in rows)
        if results["learning_curve"]:
            (output_dir / "results" / "learning_curve.svg").write_text(learning_curve_svg(
                {results["model_type"]: results["learning_curve"]}, marks={results["model_type"]: results["best_eval_step"]}))  # fmt: skip
        write_card(output_dir, output_dir / "results" / "test_results.json")
        logger.info("test metrics: %s", results["metrics"])
        run_info["test_metrics"] = results["metrics"]
    return run_info


if __name__ == "__main__":
    main()
