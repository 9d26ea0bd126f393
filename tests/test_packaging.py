"""The wheel: every data folder packaged as data, no setuptools 'would be ignored' warnings, no analysis code in results."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_wheel_packages_the_data_folders_without_setuptools_warnings(tmp_path):
    source = tmp_path / "src"
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(".git", "*.egg-info", "build", "__pycache__", ".pytest_cache", "checkpoints"))
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-build-isolation", "-v", "-w", str(tmp_path / "dist")],
                          capture_output=True, text=True, timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    log = done.stdout + done.stderr
    assert "would be ignored" not in log and "is absent from the `packages` configuration" not in log
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for expected in ("training/recipes/kemp.yaml", "training/accelerate_configs/single_gpu.yaml", "hub_cards/templates/kemp.md",
                     "empathetic_models/evaluation/metrics/ed_bleu/ed_bleu.py", "modeling/modeling_kemp.py"):  # fmt: skip
        assert expected in names, expected
    assert not any(name.startswith("hub_cards/results/") and name.endswith(".py") for name in names)  # results hold data only
    assert not any(name.startswith("tests/") for name in names)
