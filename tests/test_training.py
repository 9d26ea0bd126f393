"""Training entry point: recipes, loss-term logging, early stopping, resume, 2-process DDP, outputs."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

import empathetic_models  # noqa: F401  (registers the architectures)
from empathetic_models.training.train import main, recipe_argv

TINY = ["--model_config", '{"d_model": 32, "attention_dim": 8, "ffn_dim": 16}', "--report_to", "none"]
REPO = Path(__file__).resolve().parents[1]


def _train(output_dir: Path, *flags: str) -> dict:
    return main(["sample", "--output_dir", str(output_dir), *TINY, *flags])


def _log_history(output_dir: Path) -> list[dict]:
    return json.loads((output_dir / "trainer_state.json").read_text())["log_history"]


def test_recipe_flags_come_first_so_command_line_overrides_win():
    argv = recipe_argv(["sample", "--learning_rate", "0.5"])
    assert argv[-2:] == ["--learning_rate", "0.5"]
    assert argv.index("--data_source") < argv.index("--learning_rate")
    assert json.loads(argv[argv.index("--model_config") + 1])["d_model"] == 300


def test_a_later_model_config_updates_the_recipes_key_by_key():
    argv = recipe_argv(["emocause", "--model_config", '{"gating": "hard"}', "--seed", "3"])
    config = json.loads(argv[argv.index("--model_config") + 1])
    assert config["gating"] == "hard" and config["d_model"] == 300 and config["encoder_layers"] == 6
    assert argv.count("--model_config") == 1 and argv[-2:] == ["--seed", "3"]


def test_unknown_recipe_names_the_known_ones():
    with pytest.raises(SystemExit, match="recipe not found: nope.*sample"):
        recipe_argv(["nope"])


def test_sample_run_logs_every_loss_term_and_writes_a_loadable_checkpoint(tmp_path):
    out = tmp_path / "run"
    info = _train(out, "--max_steps", "8", "--eval_strategy", "steps", "--eval_steps", "4", "--save_steps", "4",
                  "--save_strategy", "steps", "--logging_steps", "2", "--max_test_samples", "12")  # fmt: skip
    history = _log_history(out)
    train_logs = [h for h in history if "loss" in h and "eval_loss" not in h]
    eval_logs = [h for h in history if "eval_loss" in h]
    assert train_logs and eval_logs
    for log in train_logs:  # the total is the sum of its logged terms (emotion weight 1)
        assert log["loss"] == pytest.approx(log["generation_loss"] + log["emotion_loss"], abs=0.02)
    assert {"eval_generation_loss", "eval_emotion_loss"} <= eval_logs[-1].keys()

    assert info["world_size"] == 1 and info["global_step"] == 8 and info["split_style"] == "full"
    results = json.loads((out / "results" / "test_results.json").read_text())
    assert results["num_examples"] == 12 and results["split_style"] == "full"
    assert {"ppl", "bleu_1", "bleu_4", "dist_1", "dist_2", "sent_std", "emotion_accuracy"} <= results["metrics"].keys()
    assert results["train_wall_clock_s"] > 0 and results["commit"]
    # the sample recipe keeps the best checkpoint: the time to reach it is recorded, within the whole run's
    assert info["best_eval_step"] in (4, 8) and 0 < results["wall_clock_to_best_eval_s"] <= info["train_wall_clock_s"]
    rows = (out / "results" / "test_generations.jsonl").read_text().splitlines()
    assert len(rows) == 12 and "prediction" in json.loads(rows[0])
    assert "model-index" in (out / "README.md").read_text()
    # the selection evidence: one {step, eval_ppl} per evaluation, the metric that selected, a drawn curve
    assert results["selection_metric"] == "eval_ppl"
    assert [p["step"] for p in results["learning_curve"]] == [4, 8]
    assert all(p["eval_ppl"] > 1 for p in results["learning_curve"])
    assert results["best_eval_metric"] == min(p["eval_ppl"] for p in results["learning_curve"])
    assert "<polyline" in (out / "results" / "learning_curve.svg").read_text()

    from empathetic_models.cli import main as cli

    assert cli(["publish", str(out), "--name", "sample_run", "--results-dir", str(tmp_path / "published"), "--note", "a test"]) == 0
    published = tmp_path / "published" / "empathetic_transformer"
    record = json.loads((published / "sample_run.json").read_text())
    assert record["learning_curve"] == results["learning_curve"] and record["note"] == "a test"
    assert {"sample_run.md", "sample_run.svg", "sample_run.card.md"} <= {p.name for p in published.iterdir()}

    model = AutoModelForSeq2SeqLM.from_pretrained(out)
    tokenizer = AutoTokenizer.from_pretrained(out)
    assert model.config.vocab_size == len(tokenizer) and model.generation_config.max_new_tokens == 30


def test_early_stopping_on_validation_loss(tmp_path):
    # learning rate 0: the validation loss never improves, so patience 1 stops at the second evaluation
    info = _train(tmp_path / "run", "--learning_rate", "0", "--warmup_steps", "0", "--num_train_epochs", "10",
                  "--early_stopping_patience", "1", "--evaluate_test", "false")  # fmt: skip
    steps_per_epoch = 26  # 411 sample examples / batch 16
    assert info["global_step"] == 2 * steps_per_epoch


def test_interrupted_training_resumes_from_the_last_checkpoint(tmp_path, caplog):
    out = tmp_path / "run"
    flags = ["--save_strategy", "steps", "--save_steps", "3", "--eval_strategy", "no", "--load_best_model_at_end", "false",
             "--evaluate_test", "false", "--logging_steps", "1"]  # fmt: skip
    _train(out, "--max_steps", "3", *flags)
    first_vocab = AutoTokenizer.from_pretrained(out).get_vocab()
    with caplog.at_level(logging.INFO, logger="empathetic_models.training.train"):
        info = _train(out, "--max_steps", "6", *flags)
    assert "resuming from" in caplog.text and "checkpoint-3" in caplog.text
    assert info["global_step"] == 6
    steps = [h["step"] for h in _log_history(out) if "loss" in h]
    assert steps[:3] == [1, 2, 3] and steps[-1] == 6  # one history across both runs
    assert AutoTokenizer.from_pretrained(out).get_vocab() == first_vocab

    fresh = _train(out, "--max_steps", "2", *flags, "--overwrite_output_dir", "true")
    assert fresh["global_step"] == 2


# Runs empathetic_models.training.train under a process launcher and writes the input_ids of every batch this rank trained on
# to batches_rank<N>.json: the real trainer, observed (not replaced) so the test can compare what each rank saw.
RECORDING_DRIVER = """
import json, os, sys
from empathetic_models.training import train
from empathetic_models.training.trainer import EmpatheticTrainer

seen, step = [], EmpatheticTrainer.training_step
def training_step(self, model, inputs, *args, **kwargs):
    seen.append(inputs["input_ids"].tolist())
    return step(self, model, inputs, *args, **kwargs)
EmpatheticTrainer.training_step = training_step
train.main(sys.argv[1:])
out = sys.argv[sys.argv.index("--output_dir") + 1]
with open(os.path.join(out, "batches_rank%s.json" % os.environ.get("RANK", "0")), "w") as f:
    json.dump(seen, f)
"""


def _run_recorded(tmp_path: Path, name: str, processes: int, batch_size: int) -> Path:
    out = tmp_path / name
    driver = tmp_path / "record_batches.py"
    driver.write_text(RECORDING_DRIVER)
    launcher = [sys.executable, str(driver)]
    if processes > 1:
        launcher = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", str(processes),
                    "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no", str(driver)]  # fmt: skip
    command = [
        *launcher, "sample", "--output_dir", str(out), *TINY, "--max_steps", "4", "--logging_steps", "1",
        "--per_device_train_batch_size", str(batch_size), "--eval_strategy", "no", "--save_strategy", "no",
        "--load_best_model_at_end", "false", "--evaluate_test", "false", "--use_cpu", "true", "--seed", "7",
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return out


def test_two_process_training_matches_one_process_with_the_same_global_batch(tmp_path):
    ddp = _run_recorded(tmp_path, "ddp", processes=2, batch_size=8)
    single = _run_recorded(tmp_path, "single", processes=1, batch_size=16)

    info = json.loads((ddp / "run_info.json").read_text())
    assert info["world_size"] == 2 and info["global_step"] == 4
    rank0, rank1 = (json.loads((ddp / f"batches_rank{r}.json").read_text()) for r in (0, 1))
    reference = json.loads((single / "batches_rank0.json").read_text())
    assert len(rank0) == len(rank1) == len(reference) == 4
    pad = AutoTokenizer.from_pretrained(ddp).pad_token_id
    for step in range(4):
        assert rank0[step] != rank1[step]  # the ranks trained on different examples
        # and together on exactly the 16 examples the single process took at that step (order aside)
        assert sorted(_unpadded(rank0[step], pad) + _unpadded(rank1[step], pad)) == sorted(_unpadded(reference[step], pad))

    # same global batch → same losses; the small difference is DDP averaging two per-rank token means
    ddp_losses = [h["loss"] for h in _log_history(ddp) if "loss" in h]
    single_losses = [h["loss"] for h in _log_history(single) if "loss" in h]
    assert len(ddp_losses) == len(single_losses) == 4
    assert ddp_losses == pytest.approx(single_losses, rel=0.01)
    assert AutoModelForSeq2SeqLM.from_pretrained(ddp).model.shared.weight.dtype == torch.float32


def _unpadded(batch: list[list[int]], pad: int) -> list[tuple[int, ...]]:
    return [tuple(t for t in row if t != pad) for row in batch]


def test_accelerate_configs_are_valid_launch_configs():
    import yaml

    folder = REPO / "training" / "accelerate_configs"
    configs = {p.stem: yaml.safe_load(p.read_text()) for p in folder.glob("*.yaml")}
    assert set(configs) == {"single_gpu", "multi_gpu", "fsdp"}
    assert configs["multi_gpu"]["distributed_type"] == "MULTI_GPU" and configs["fsdp"]["distributed_type"] == "FSDP"
    for config in configs.values():
        assert config["num_machines"] == 1 and "mixed_precision" in config


@pytest.mark.parametrize("overrides", [{}, {"label_smoothing": 0.3}, {"emotion_loss_weight": 5.0}])
def test_eval_ppl_is_exp_of_the_token_mean_response_nll_alone(tmp_path, sample_ed, word_tokenizer, overrides):
    from conftest import make_tiny_model
    from transformers import Seq2SeqTrainingArguments

    from empathetic_models.featurization import featurizer_for
    from empathetic_models.training.collators import EmpatheticDataCollator
    from empathetic_models.training.trainer import EmpatheticTrainer

    model = make_tiny_model(word_tokenizer, **overrides)
    featurizer = featurizer_for("empathetic_transformer", word_tokenizer)
    valid = sample_ed["valid"].select(range(40))
    features = valid.map(featurizer, batched=True, remove_columns=valid.column_names)
    args = Seq2SeqTrainingArguments(str(tmp_path), per_device_eval_batch_size=16, report_to="none", use_cpu=True)
    trainer = EmpatheticTrainer(model=model, args=args, eval_dataset=features, data_collator=EmpatheticDataCollator(featurizer),
                                featurizer=featurizer)  # fmt: skip
    metrics = trainer.evaluate()
    # by hand: every response token's NLL under the model, averaged over tokens (not over batches of unequal size)
    batch = featurizer.pad(list(features))
    with torch.no_grad():
        logits = model.eval()(**{k: v for k, v in batch.items() if k != "labels"}, decoder_input_ids=None, labels=batch["labels"]).logits
    labels = batch["labels"]
    nll = torch.nn.functional.cross_entropy(logits.flatten(0, 1).double(), labels.flatten(), reduction="sum") / labels.ne(-100).sum()
    assert metrics["eval_ppl"] == pytest.approx(torch.exp(nll).item(), rel=1e-4)
    assert metrics["eval_response_tokens"] == int(labels.ne(-100).sum())
    assert metrics["eval_loss"] != pytest.approx(metrics["eval_generation_loss"])  # the emotion term is in eval_loss only


def test_selection_skips_evaluations_before_the_burn_in(tmp_path):
    # learning rate 0: both evaluations give the same PPL, so without a burn-in the first (step 6) would stay the best;
    # with a burn-in of 10 steps it is logged but not a candidate, and step 12 is selected
    out = tmp_path / "run"
    info = _train(out, "--max_steps", "12", "--learning_rate", "0", "--warmup_steps", "0", "--eval_strategy", "steps", "--eval_steps", "6",
                  "--save_strategy", "steps", "--save_steps", "6",
                  "--metric_for_best_model", "eval_ppl", "--selection_burn_in_steps", "10", "--evaluate_test", "false")  # fmt: skip
    evals = [h for h in _log_history(out) if "eval_ppl" in h]
    assert [h["step"] for h in evals] == [6, 12]
    assert info["best_eval_step"] == 12 and info["best_eval_metric"] == pytest.approx(evals[1]["eval_ppl"])


SAVE_FLAGS = ["--save_strategy", "steps", "--save_steps", "3", "--eval_strategy", "no", "--load_best_model_at_end", "false",
              "--evaluate_test", "false", "--logging_steps", "1"]  # fmt: skip


def _folder_hashes(folder: Path) -> dict[str, str]:
    import hashlib

    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_save_cut_by_a_full_disk_leaves_no_partial_checkpoint_and_the_run_resumes(tmp_path, monkeypatch, caplog):
    from empathetic_models.training.trainer import missing_checkpoint_files

    out = tmp_path / "run"
    real_save = torch.save

    def full_disk(obj, f, *args, **kwargs):  # the disk fills while checkpoint-6 writes its optimizer state
        if "checkpoint-6" in str(f) and str(f).endswith("optimizer.pt"):
            raise OSError(28, "No space left on device")
        return real_save(obj, f, *args, **kwargs)

    monkeypatch.setattr(torch, "save", full_disk)
    with pytest.raises(OSError, match="No space left"):
        _train(out, "--max_steps", "9", *SAVE_FLAGS)
    monkeypatch.setattr(torch, "save", real_save)
    assert not (out / "checkpoint-6").exists()  # absent, not partial
    assert missing_checkpoint_files(out / "checkpoint-3") == []
    before = _folder_hashes(out / "checkpoint-3")
    clock = json.loads((out / "checkpoint-3" / "trainer_state.json").read_text())["stateful_callbacks"]["EvalClockCallback"]
    seconds_before = clock["attributes"]["elapsed_before"]

    # a partial folder left by a save that was not staged (older code): skipped with a warning naming it
    (out / "checkpoint-7").mkdir()
    (out / "checkpoint-7" / "config.json").write_text("{}")
    with caplog.at_level(logging.INFO):
        info = _train(out, "--max_steps", "6", *SAVE_FLAGS)
    assert "skipping incomplete checkpoint" in caplog.text and "checkpoint-7" in caplog.text
    assert "resuming from" in caplog.text and str(out / "checkpoint-3") in caplog.text
    assert _folder_hashes(out / "checkpoint-3") == before  # the checkpoint it resumed from is untouched
    assert info["global_step"] == 6 and info["resumed_from"] == {"checkpoint": str(out / "checkpoint-3"), "step": 3}
    assert missing_checkpoint_files(out / "checkpoint-6") == [] and not any((out / ".staging").iterdir())
    history = _log_history(out)
    assert [h["step"] for h in history if "loss" in h] == [1, 2, 3, 4, 5, 6]
    assert info["train_loss"] == pytest.approx(sum(h["loss"] for h in history if "loss" in h) / 6)  # the whole run's steps
    assert 0 < seconds_before < info["train_wall_clock_s"]  # the time spent before the resume is counted
    assert info["train_wall_clock_this_process_s"] > 0


def test_a_run_killed_with_sigkill_leaves_only_complete_checkpoints_and_resumes(tmp_path):
    import signal
    import time

    from empathetic_models.training.trainer import missing_checkpoint_files

    out = tmp_path / "run"
    command = [sys.executable, "-m", "empathetic_models.training.train", "sample", "--output_dir", str(out), *TINY, "--max_steps", "400",
               *SAVE_FLAGS, "--save_steps", "2", "--save_total_limit", "3", "--use_cpu", "true"]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while time.time() < deadline and len(list(out.glob("checkpoint-*"))) < 2:
        time.sleep(0.05)
    time.sleep(0.3)  # somewhere inside the next steps or saves
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    checkpoints = sorted(out.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[1]))
    assert len(checkpoints) >= 2, "the run was killed before it saved twice"
    assert all(missing_checkpoint_files(c) == [] for c in checkpoints)
    last = int(checkpoints[-1].name.split("-")[1])
    info = _train(out, "--max_steps", str(last + 2), *SAVE_FLAGS, "--save_steps", "2")
    assert info["resumed_from"]["step"] == last and info["global_step"] == last + 2
