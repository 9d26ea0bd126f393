"""Generation from a saved folder in a clean Python process that cannot import this repository: what a user of
``trust_remote_code=True`` gets with only the folder (the code ``save_pretrained`` copied beside the weights)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Mapping
from pathlib import Path

import torch

_CHILD = textwrap.dedent(
    """
    import importlib, importlib.util, json, os, sys

    # Hide the editable install of this repository: its meta-path finder, path hook and path entries.
    sys.meta_path[:] = [f for f in sys.meta_path if "__editable__" not in getattr(f, "__module__", "")]
    sys.path_hooks[:] = [h for h in sys.path_hooks if "__editable__" not in getattr(h, "__module__", "")]
    sys.path[:] = [p for p in sys.path if "__editable__" not in p
                   and not os.path.isdir(os.path.join(p or ".", "empathetic_models"))
                   and not os.path.isdir(os.path.join(p or ".", "modeling"))]
    sys.path_importer_cache.clear()
    importlib.invalidate_caches()
    for name in ("empathetic_models", "modeling"):
        assert importlib.util.find_spec(name) is None, f"{name} is still importable"

    import torch
    from transformers import AutoModelForSeq2SeqLM

    model = AutoModelForSeq2SeqLM.from_pretrained(sys.argv[1], trust_remote_code=True)
    assert "empathetic_models" not in sys.modules and "modeling" not in sys.modules
    inputs = {k: torch.tensor(v) for k, v in json.loads(sys.argv[2]).items()}
    with torch.no_grad():
        tokens = model.generate(**inputs, **json.loads(sys.argv[3]))
    print(json.dumps({"module": type(model).__module__, "tokens": tokens.tolist()}))
    """
)


def generate_without_the_package(folder: str | Path, inputs: Mapping[str, torch.Tensor], workdir: Path, **generate_kwargs) -> dict:
    """``{"module": the loaded class's module, "tokens": generate(**inputs, **generate_kwargs)}`` from a child
    process that loads ``folder`` with ``trust_remote_code=True`` and has neither ``empathetic_models`` nor
    ``modeling`` importable; fails the test with the child's stderr if it does not finish."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "HF_"))}
    env.update(PYTHONPATH="", HF_HOME=str(workdir / "hf"), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    payload = json.dumps({k: v.tolist() for k, v in inputs.items()})
    result = subprocess.run([sys.executable, "-c", _CHILD, str(folder), payload, json.dumps(generate_kwargs)], cwd=workdir, env=env,
                            capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    child = json.loads(result.stdout.strip().splitlines()[-1])
    assert child["module"].startswith("transformers_modules"), child["module"]
    return child
