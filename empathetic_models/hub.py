"""Publish a checkpoint folder (weights, config with ``auto_map``, model code, tokenizer, generation
config, card) to the Hugging Face Hub."""

from __future__ import annotations

import json
from pathlib import Path

from huggingface_hub import HfApi
from transformers.dynamic_module_utils import get_relative_imports

from .checkpoints import check_checkpoint_folder

try:  # the HTTP client of huggingface_hub >= 2
    from httpx2 import TransportError
except ImportError:  # huggingface_hub 1.x
    from httpx import TransportError

REQUIRED_FILES = ("config.json", "model.safetensors", "generation_config.json", "tokenizer.json", "tokenizer_config.json")
# training leftovers that do not belong in a published model repository
IGNORE_PATTERNS = ["checkpoint-*", "checkpoint-*/**", ".staging/**", "training_args.bin", "*.pt", "*.pth", "runs/**"]


def missing_files(checkpoint_dir: str | Path) -> list[str]:
    """What a checkpoint folder lacks before it can be pushed (empty when ready)."""
    folder = Path(checkpoint_dir)
    missing = [name for name in REQUIRED_FILES if not (folder / name).is_file()]
    readme = folder / "README.md"
    if not readme.is_file():
        missing.append("README.md (run `empathetic-models card` first)")
    elif not readme.read_text(encoding="utf-8").startswith("---"):
        missing.append("model-card metadata in README.md (run `empathetic-models card` to write the card)")
    if (folder / "config.json").is_file():
        auto_map = json.loads((folder / "config.json").read_text()).get("auto_map", {})
        pending = {reference.split(".")[0] for reference in auto_map.values() if isinstance(reference, str)}
        seen: set[str] = set()
        while pending:  # the auto_map modules and, recursively, their same-folder imports
            module = pending.pop()
            seen.add(module)
            if (folder / f"{module}.py").is_file():
                pending |= set(get_relative_imports(str(folder / f"{module}.py"))) - seen
        missing += sorted(f"{m}.py (model code for trust_remote_code)" for m in seen if not (folder / f"{m}.py").is_file())
    return missing


def push_checkpoint(
    checkpoint_dir: str | Path,
    repo_id: str,
    *,
    token: str | None = None,
    private: bool = False,
    commit_message: str = "Upload empathetic-models checkpoint",
    api: HfApi | None = None,
) -> str:
    """Create ``repo_id`` if needed and upload the folder; returns the commit URL.

    The folder is checked first (:func:`missing_files`: config, weights, generation config, tokenizer, card,
    and the model code ``auto_map`` names, with its same-folder imports); a missing piece raises
    ``FileNotFoundError`` naming it; damaged weights or a mismatched config raise
    :class:`~empathetic_models.checkpoints.CheckpointError`, before any network call. Training leftovers (:data:`IGNORE_PATTERNS`) are not uploaded. A Hub that
    cannot be reached raises ``RuntimeError("could not reach the Hub at <endpoint>: ...")``. ``api`` is the
    network client (an ``HfApi``; default ``HfApi(token=token)``).
    """
    folder = Path(checkpoint_dir)
    if not folder.is_dir():
        raise FileNotFoundError(f"checkpoint folder not found: {folder}")
    if missing := missing_files(folder):
        raise FileNotFoundError(f"{folder} is not ready to push; missing: {', '.join(missing)}")
    check_checkpoint_folder(folder)  # truncated weights or a config that does not describe them: never uploaded
    api = api or HfApi(token=token)
    try:
        api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model")
        commit = api.upload_folder(
            folder_path=str(folder), repo_id=repo_id, commit_message=commit_message, ignore_patterns=IGNORE_PATTERNS
        )
    except (TransportError, ConnectionError) as error:  # ConnectionError covers HF_HUB_OFFLINE's OfflineModeIsEnabled
        raise RuntimeError(f"could not reach the Hub at {api.endpoint}: {error}") from error
    return str(getattr(commit, "commit_url", commit))
