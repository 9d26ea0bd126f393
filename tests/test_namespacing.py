"""Installed, everything imports under ``empathetic_models``: a user's own ``modeling.py``, ``training/`` or
``hub_cards.py`` in the working folder never shadows ours, the CLI trains in-process (not by running a module by
name), and no top-level ``modeling`` / ``training`` / ``hub_cards`` is installed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import pytest

import empathetic_models.hub_cards
import empathetic_models.modeling
import empathetic_models.training
from empathetic_models import cli, provenance

OURS = {name: Path(module.__file__).resolve().parent for name, module in
        (("modeling", empathetic_models.modeling), ("training", empathetic_models.training), ("hub_cards", empathetic_models.hub_cards))}  # fmt: skip


def _clean_env() -> dict[str, str]:
    """This environment without PYTHONPATH (the children see the installed package and their working folder only)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    return env


@pytest.fixture
def decoy_folder(tmp_path) -> Path:
    """A user's folder with its own ``modeling.py`` and ``hub_cards.py`` (importing them fails) and ``training/``
    package (its ``train.py`` writes ``decoy_ran`` and exits)."""
    (tmp_path / "modeling.py").write_text('raise ImportError("the decoy modeling.py was imported")\n')
    (tmp_path / "hub_cards.py").write_text('raise ImportError("the decoy hub_cards.py was imported")\n')
    (tmp_path / "training").mkdir()
    (tmp_path / "training" / "__init__.py").write_text("")
    (tmp_path / "training" / "train.py").write_text(textwrap.dedent("""
        from pathlib import Path
        Path(__file__).resolve().parents[1].joinpath("decoy_ran").write_text("the decoy training.train ran")
        raise SystemExit(0)
    """))
    return tmp_path


def test_the_package_imports_its_own_code_beside_a_users_modeling_and_training(decoy_folder):
    child = textwrap.dedent("""
        import json, sys
        import empathetic_models, empathetic_models.hub_cards, empathetic_models.modeling, empathetic_models.training.train
        print(json.dumps({"files": {name: getattr(empathetic_models, name).__file__ for name in ("modeling", "training", "hub_cards")},
                          "top_level": sorted(n for n in ("modeling", "training", "hub_cards") if n in sys.modules)}))
    """)
    done = subprocess.run([sys.executable, "-c", child], cwd=decoy_folder, env=_clean_env(), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert {name: Path(file).resolve().parent for name, file in report["files"].items()} == OURS
    assert report["top_level"] == []  # neither the decoys nor a top-level copy of ours was imported
    assert not (decoy_folder / "decoy_ran").exists()


@pytest.mark.parametrize("launcher", ["console script", "python -m empathetic_models.cli"])
def test_cli_train_runs_our_training_not_a_users_training_package(decoy_folder, launcher):
    if launcher == "console script":
        script = Path(sys.executable).with_name("empathetic-models")
        assert script.is_file(), f"{script}: the package's console script is not installed beside this interpreter"
        command = [str(script)]
    else:  # with -m the working folder, decoys and all, is first on sys.path
        command = [sys.executable, "-m", "empathetic_models.cli"]
    done = subprocess.run([*command, "train", "no_such_recipe"], cwd=decoy_folder, env=_clean_env(), capture_output=True, text=True,
                          timeout=600)  # fmt: skip
    assert not (decoy_folder / "decoy_ran").exists()
    # our training.train ran in this process and failed cleanly on the recipe, listing ours
    assert done.returncode == 1, done.stderr[-3000:]
    assert "recipe not found: no_such_recipe" in done.stderr and "sample" in done.stderr.splitlines()[-1]
    assert "Traceback" not in done.stderr

    helped = subprocess.run([*command, "train", "--help"], cwd=decoy_folder, env=_clean_env(), capture_output=True, text=True, timeout=600)
    assert helped.returncode == 0 and "usage: empathetic-models train" in helped.stdout and "--accelerate" in helped.stdout


def test_no_top_level_modeling_training_or_hub_cards_is_installed(tmp_path):
    # a neutral working folder and no PYTHONPATH: only what is installed is importable
    child = ("import importlib.util, json; print(json.dumps({n: importlib.util.find_spec(n) is not None for n in "
             "('modeling', 'training', 'hub_cards', 'empathetic_models.modeling', 'empathetic_models.training', 'empathetic_models.hub_cards')}))")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", child], cwd=tmp_path, env=_clean_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout) == {"modeling": False, "training": False, "hub_cards": False, "empathetic_models.modeling": True,
                                       "empathetic_models.training": True, "empathetic_models.hub_cards": True}  # fmt: skip


def test_cli_train_calls_training_in_process_with_the_recipe_and_overrides(monkeypatch):
    import empathetic_models.training.train as train

    calls = []
    monkeypatch.setattr(train, "main", lambda argv: calls.append(argv) or {"global_step": 1})
    monkeypatch.setattr(cli.subprocess, "call", lambda *a, **k: pytest.fail("cmd_train started a process"))
    assert cli.main(["train", "sample", "--max_steps", "2"]) == 0
    assert calls == [["sample", "--max_steps", "2"]]


def test_cli_train_under_accelerate_launches_the_namespaced_module(monkeypatch):
    launched = []
    monkeypatch.setattr(cli.subprocess, "call", lambda command: launched.append(command) or 0)
    assert cli.main(["train", "--accelerate", "--accelerate-args=--num_processes=2", "sample", "--max_steps", "2"]) == 0
    assert launched == [["accelerate", "launch", "--num_processes=2", "-m", "empathetic_models.training.train", "sample", "--max_steps", "2"]]


def test_cli_benchmark_calls_the_benchmark_in_process(monkeypatch):
    import empathetic_models.training.benchmark as benchmark

    calls = []
    monkeypatch.setattr(benchmark, "main", lambda argv: calls.append(argv) or {})
    assert cli.main(["benchmark", "--model", "kemp", "--help"]) == 0
    assert calls == [["--model", "kemp", "--help"]]


@pytest.mark.parametrize(("main_spec", "argv", "command"), [
    ("empathetic_models.training.train", ["/x/training/train.py", "sample", "--seed", "7"], "python -m empathetic_models.training.train sample --seed 7"),
    ("training.train", ["/repo/training/train.py", "sample"], "python -m training.train sample"),  # the spelling typed at the repository root
    (None, ["/venv/bin/empathetic-models", "train", "sample", "--seed", "7"], "empathetic-models train sample --seed 7"),  # the CLI, in-process
    ("empathetic_models.cli", ["/x/empathetic_models/cli.py", "train", "sample"], "python -m empathetic_models.cli train sample"),
])  # fmt: skip
def test_provenance_records_the_command_as_it_was_typed(monkeypatch, main_spec, argv, command):
    main = types.ModuleType("__main__")
    main.__spec__ = types.SimpleNamespace(name=main_spec) if main_spec else None
    monkeypatch.setitem(sys.modules, "__main__", main)
    monkeypatch.setattr(sys, "argv", argv)
    assert provenance.provenance()["command"] == command
