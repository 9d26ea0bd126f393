"""Where a measurement came from: the command, the code's commit and the hardware (recorded in results files)."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import torch


def provenance(program: str | None = None) -> dict:
    """``command`` (``program`` + this process's arguments), ``commit`` (git HEAD of the code, or
    ``$EMPATHETIC_MODELS_COMMIT`` where the code runs outside its git checkout), ``hardware``."""
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=Path(__file__).parent, check=True)
        commit = done.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = os.environ.get("EMPATHETIC_MODELS_COMMIT", "unknown")
    if torch.cuda.is_available():
        hardware = torch.cuda.get_device_name(0)
    else:
        hardware = f"CPU ({os.cpu_count()} cores, {platform.processor() or platform.machine()})"
    program = program or Path(sys.argv[0]).name
    return {"command": " ".join([program, *sys.argv[1:]]), "commit": commit, "hardware": hardware}
