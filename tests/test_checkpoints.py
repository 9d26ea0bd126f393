"""Damaged or mismatched checkpoint folders fail with one message naming the file and the fix; nothing is modified."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from empathetic_models.checkpoints import CheckpointError, check_checkpoint_folder
from empathetic_models.cli import main
from empathetic_models.inference import load_checkpoint


def _hashes(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.fixture
def copy_of(tiny_checkpoint, tmp_path):
    def copy(name: str) -> Path:
        folder = tmp_path / name
        shutil.copytree(tiny_checkpoint, folder)
        return folder

    return copy


def _damage(folder: Path, how: str) -> None:
    if how == "truncated weights":
        weights = folder / "model.safetensors"
        weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    elif how == "no tokenizer":
        for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
            (folder / name).unlink(missing_ok=True)
    elif how == "another model's config":
        config = json.loads((folder / "config.json").read_text())
        (folder / "config.json").write_text(json.dumps({**config, "model_type": "kemp"}))
    elif how == "no weights":
        (folder / "model.safetensors").unlink()
    elif how == "unreadable config":
        (folder / "config.json").write_text("{ not json")


@pytest.mark.parametrize("how, names, fix", [
    ("truncated weights", "model.safetensors", "copy it again"),
    ("no tokenizer", "tokenizer.json", "tokenizer.save_pretrained"),
    ("another model's config", "config.json", 'set "model_type": \'empathetic_transformer\''),
    ("no weights", "model.safetensors", "model.save_pretrained"),
    ("unreadable config", "config.json", "not valid JSON"),
])  # fmt: skip
def test_a_damaged_checkpoint_fails_naming_the_file_and_the_fix(copy_of, how, names, fix, capsys):
    folder = copy_of(how.replace(" ", "_").replace("'", ""))
    _damage(folder, how)
    before = _hashes(folder)
    with pytest.raises(CheckpointError) as error:
        load_checkpoint(folder, "cpu")
    assert names in str(error.value) and fix in str(error.value) and str(folder) in str(error.value)
    # the CLI prints the same message as one line, no traceback, exit status 2
    dialogues = folder.parent / f"{folder.name}.jsonl"
    dialogues.write_text(json.dumps({"dialogue": ["I lost my keys."]}) + "\n")
    assert main(["generate", "--model", str(folder), "--input", str(dialogues), "--output", str(folder.parent / "out.jsonl")]) == 2
    assert fix in capsys.readouterr().err
    assert _hashes(folder) == before  # nothing written or repaired behind the user's back


def test_an_intact_checkpoint_passes_the_checks(tiny_checkpoint):
    check_checkpoint_folder(tiny_checkpoint)  # raises nothing
    model, tokenizer, _ = load_checkpoint(tiny_checkpoint, "cpu")
    assert model.config.model_type == "empathetic_transformer" and len(tokenizer) == model.config.vocab_size
