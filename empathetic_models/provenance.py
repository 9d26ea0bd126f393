"""Where a measurement came from: the command, the code's commit and the hardware (recorded in results files)."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import torch


def started_as() -> str:
    """How this process was started, without its arguments: ``python -m NAME`` for a module run with ``-m`` (the name
    as typed: ``empathetic_models.training.train``, or ``training.train`` from the repository root), else the script's
    file name (the console script: ``empathetic-models``)."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    if spec is not None:
        return f"python -m {spec.name.removesuffix('.__main__')}"
    return Path(sys.argv[0]).name


def provenance(program: str | None = None) -> dict:
    """``command`` (``program``, default :func:`started_as`, + this process's arguments), ``commit`` (git HEAD of the
    code, or ``$EMPATHETIC_MODELS_COMMIT`` where the code runs outside its git checkout), ``hardware``."""
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=Path(__file__).parent, check=True)
        commit = done.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = os.environ.get("EMPATHETIC_MODELS_COMMIT", "unknown")
    if torch.cuda.is_available():
        hardware = torch.cuda.get_device_name(0)
    else:
        hardware = f"CPU ({os.cpu_count()} cores, {platform.processor() or platform.machine()})"
    program = program or started_as()
    return {"command": " ".join([program, *sys.argv[1:]]), "commit": commit, "hardware": hardware}
