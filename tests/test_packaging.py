"""The wheel: everything under empathetic_models (the repository's modeling/, training/ and hub_cards/ mapped into it),
every data folder packaged as data, no setuptools 'would be ignored' warnings, no analysis code in results."""

from __future__ import annotations

import configparser
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
    for expected in ("modeling/modeling_kemp.py", "modeling/layers.py", "training/train.py", "training/analysis/knowledge_use.py",
                     "training/recipes/kemp.yaml", "training/accelerate_configs/single_gpu.yaml", "hub_cards/__init__.py",
                     "hub_cards/published.json", "hub_cards/templates/kemp.md", "hub_cards/results/kemp/kemp_ed_paper_split_cpu_protocol.json",
                     "evaluation/metrics/ed_bleu/ed_bleu.py", "resources/stopwords_en.txt", "resources/ed_sample/train.csv.gz",
                     "resources/cause_detector_minilm_lora/adapter_model.safetensors"):  # fmt: skip
        assert f"empathetic_models/{expected}" in names, expected
    # one top-level package: nothing else (a user's own modeling.py or training/ cannot be shadowed by ours, nor ours by it)
    assert {name.split("/")[0] for name in names} == {"empathetic_models", "empathetic_models-0.1.0.dist-info"}
    assert zipfile.ZipFile(wheel).read("empathetic_models-0.1.0.dist-info/top_level.txt").decode().split() == ["empathetic_models"]
    assert not any(name.startswith("empathetic_models/hub_cards/results/") and name.endswith(".py") for name in names)  # data only


def test_every_folder_of_the_package_is_listed_in_setup_cfg():
    """setup.cfg lists the packages (package_dir maps modeling/, training/, hub_cards/ under empathetic_models): a new
    folder must be added there, or its files are not shipped as a package (the wheel test sees setuptools' warning)."""
    options = configparser.ConfigParser()
    options.read(REPO / "setup.cfg")
    packages = set(options["options"]["packages"].split())
    mapped = dict(line.replace(" ", "").split("=") for line in options["options"]["package_dir"].strip().splitlines())
    roots = {"empathetic_models": "empathetic_models", **{folder: package for package, folder in mapped.items()}}
    assert set(roots) == {"empathetic_models", "modeling", "training", "hub_cards"}
    folders = {path.parent.relative_to(REPO) for root in roots for path in (REPO / root).rglob("*")
               if path.is_file() and "__pycache__" not in path.parts}  # fmt: skip
    # each folder holding files, and the folders between it and its root
    expected = {".".join([roots[folder.parts[0]], *folder.parts[1:n]]) for folder in folders for n in range(1, len(folder.parts) + 1)}
    assert expected == packages, f"not listed: {sorted(expected - packages)}; listed but absent: {sorted(packages - expected)}"
