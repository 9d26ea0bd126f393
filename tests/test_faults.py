"""Bad input and faults (issue 24) on the paths the first round did not cover: the pipeline factory, training from or
resuming a damaged checkpoint, pushing one, the resume notice at default verbosity, long histories in a batch, and the
smoke-test card. Real tiny models and checkpoints throughout; a damaged folder is hashed before and after."""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from pathlib import Path

import pytest
from transformers import pipeline

import empathetic_models.pipelines  # noqa: F401  (registers the "empathetic-response" task)
from empathetic_models.cards import write_card
from empathetic_models.checkpoints import CheckpointError
from empathetic_models.hub import push_checkpoint
from empathetic_models.training.train import main as train_main

TINY = ["--model_config", '{"d_model": 32, "attention_dim": 8, "ffn_dim": 16}', "--report_to", "none"]


def _hashes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def _truncate_weights(folder: Path) -> None:
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])


def _claim_another_model_type(folder: Path) -> None:
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "model_type": "kemp"}))


def _remove_tokenizer(folder: Path) -> None:
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        (folder / name).unlink(missing_ok=True)


@pytest.fixture
def damaged(tiny_checkpoint, tmp_path):
    def make(how: str) -> Path:
        folder = tmp_path / how.replace(" ", "_").replace("'", "")
        shutil.copytree(tiny_checkpoint, folder)
        {"truncated weights": _truncate_weights, "no tokenizer": _remove_tokenizer, "another model's config": _claim_another_model_type}[how](folder)
        return folder

    return make


@pytest.mark.parametrize("how, message", [
    ("truncated weights", "model.safetensors is corrupt or truncated"),
    ("no tokenizer", "has no tokenizer files (tokenizer.json): copy them from the training output folder"),
    ("another model's config", "declares model_type 'kemp' but its fields do not fit it"),
])  # fmt: skip
def test_the_pipeline_on_a_damaged_checkpoint_names_the_file_and_the_fix(damaged, how, message):
    folder = damaged(how)
    before = _hashes(folder)
    with pytest.raises(ValueError) as error:  # transformers' factory reports our CheckpointError under "Could not load model"
        pipeline("empathetic-response", model=str(folder))
    assert message in str(error.value) and str(folder) in str(error.value)
    assert "install sentencepiece" not in str(error.value)
    assert _hashes(folder) == before


def test_push_refuses_truncated_weights_before_any_network_call(damaged):
    from huggingface_hub import HfApi

    class NoNetwork(HfApi):
        def create_repo(self, *args, **kwargs):
            raise AssertionError("the network was called")

        upload_folder = create_repo

    folder = damaged("truncated weights")
    write_card(folder)
    before = _hashes(folder)
    with pytest.raises(CheckpointError, match="model.safetensors is corrupt or truncated"):
        push_checkpoint(folder, "me/x", api=NoNetwork(endpoint="https://hub.invalid", token="hf_test"))
    assert _hashes(folder) == before


def test_training_from_or_resuming_a_bad_folder_fails_naming_it_before_any_work(damaged, tmp_path):
    folder = damaged("truncated weights")
    before = _hashes(folder)
    with pytest.raises(SystemExit, match="--model_name_or_path: .*model.safetensors is corrupt or truncated .*copy it again"):
        train_main(["sample", "--output_dir", str(tmp_path / "a"), "--model_name_or_path", str(folder), *TINY])
    assert _hashes(folder) == before
    with pytest.raises(SystemExit, match="--resume_from_checkpoint .*nowhere: no such folder"):
        train_main(["sample", "--output_dir", str(tmp_path / "b"), "--resume_from_checkpoint", str(tmp_path / "nowhere"), *TINY])
    partial = tmp_path / "c" / "checkpoint-4"
    partial.mkdir(parents=True)
    (partial / "config.json").write_text("{}")
    with pytest.raises(SystemExit, match="incomplete checkpoint \\(no trainer_state.json, model.safetensors\\)"):
        train_main(["sample", "--output_dir", str(tmp_path / "c"), "--resume_from_checkpoint", str(partial), *TINY])
    with pytest.raises(SystemExit, match="give one of them"):
        train_main(["sample", "--output_dir", str(tmp_path / "c"), "--resume_from_checkpoint", str(partial),
                    "--overwrite_output_dir", "true", *TINY])  # fmt: skip
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()  # nothing was started


def test_resuming_skips_a_checkpoint_with_truncated_weights_and_says_it_resumed_as_a_warning(tmp_path, caplog):
    out = tmp_path / "run"
    flags = ["--save_strategy", "steps", "--save_steps", "1", "--save_total_limit", "5", "--eval_strategy", "no",
             "--load_best_model_at_end", "false", "--evaluate_test", "false", "--logging_steps", "1"]  # fmt: skip
    train_main(["sample", "--output_dir", str(out), *TINY, "--max_steps", "2", *flags])
    _truncate_weights(out / "checkpoint-2")  # e.g. a save cut before saves were staged, or a damaged copy
    kept = _hashes(out / "checkpoint-1")
    with caplog.at_level(logging.WARNING):  # the default verbosity of a run shows warnings, not info
        info = train_main(["sample", "--output_dir", str(out), *TINY, "--max_steps", "3", *flags])
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert any("skipping damaged checkpoint" in m and str(out / "checkpoint-2") in m for m in warnings)
    assert any(m.startswith(f"resuming from {out / 'checkpoint-1'} (step 1)") for m in warnings)
    assert info["resumed_from"] == {"checkpoint": str(out / "checkpoint-1"), "step": 1} and info["global_step"] == 3
    assert json.loads((out / "run_info.json").read_text())["resumed_from"]["step"] == 1
    assert _hashes(out / "checkpoint-1") == kept  # the checkpoint it resumed from is untouched
    from empathetic_models.training.trainer import last_complete_checkpoint

    assert last_complete_checkpoint(out) == str(out / "checkpoint-3")  # checkpoint-2 was saved again, whole


def test_the_pipeline_announces_long_histories_once_numbering_them_in_the_list(tiny_checkpoint, caplog):
    chat = pipeline("empathetic-response", model=str(tiny_checkpoint), max_new_tokens=2)
    long = ["I lost my job today ."] * 2_000
    with caplog.at_level(logging.WARNING, logger="empathetic_models.inference"):
        results = chat([["Hi there ."], long, ["I am happy ."], long])
    assert len(results) == 4
    notices = [r.getMessage() for r in caplog.records if "longer than" in r.getMessage()]
    assert len(notices) == 1 and "2 dialogue history(ies)" in notices[0]
    assert "dialogue 2 (12000 tokens), 4 (12000 tokens)" in notices[0]


def test_a_smoke_test_card_says_how_many_test_responses_are_empty(tiny_checkpoint, tmp_path):
    folder = tmp_path / "sample_run"
    shutil.copytree(tiny_checkpoint, folder)
    results = {"model_type": "empathetic_transformer", "data_source": "sample", "train_examples": 411, "num_examples": 84,
               "empty_responses": 84, "metrics": {"ppl": 300.0}}  # fmt: skip
    text = write_card(folder, results).read_text()
    banner = text[text.index("A smoke-test checkpoint") :].split("\n")[0]
    assert "84 of its 84 test responses are empty" in banner and "not a usable model" in banner
    assert "empathetic-models/empathetic_transformer" not in text
    assert text.index("A smoke-test checkpoint") < text.index("often generic")  # the full-ED limitations come after, as such
