"""Checks of a checkpoint folder before it is loaded, so a damaged or mismatched folder fails with one message that
names the file and the fix (instead of a safetensors, tokenizer-conversion or config-field traceback).

:func:`check_checkpoint_folder` reads only: the folder is never modified. Hub ids (not local folders) are left to
``from_pretrained``.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from transformers import AutoConfig, AutoModelForSeq2SeqLM, PretrainedConfig

from .modeling.configuration_common import EmpatheticConfig

from . import MODEL_TYPES

WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json")  # any one = weights saved
TOKENIZER_FILES = ("tokenizer.json", "vocab.json", "vocab.txt", "spiece.model", "sentencepiece.bpe.model")


class CheckpointError(ValueError):
    """A checkpoint folder that cannot be loaded as it is; the message names the file and the fix."""


def _config_dict(folder: Path) -> dict:
    path = folder / "config.json"
    if not path.is_file():
        raise CheckpointError(f"{folder} has no config.json: not a saved model folder (give the folder save_pretrained wrote)")
    try:
        config = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise CheckpointError(f"{path} is not valid JSON ({error}): restore it from the training output folder") from error
    if not isinstance(config, dict) or "model_type" not in config:
        raise CheckpointError(f"{path} has no 'model_type': restore it from the training output folder")
    return config


def _weight_names(folder: Path) -> set[str] | None:
    """Tensor names of the folder's weights (None for a pickled ``pytorch_model.bin``, which is not opened here)."""
    from safetensors import SafetensorError, safe_open

    if (folder / "model.safetensors.index.json").is_file():
        index = folder / "model.safetensors.index.json"
        try:
            shards = json.loads(index.read_text())["weight_map"]
        except (json.JSONDecodeError, KeyError) as error:
            raise CheckpointError(f"{index} is corrupt ({error}): re-save the model with save_pretrained") from error
        files = sorted({folder / name for name in shards.values()})
    elif (folder / "model.safetensors").is_file():
        files = [folder / "model.safetensors"]
    elif (folder / "pytorch_model.bin").is_file():
        return None
    else:
        raise CheckpointError(f"{folder} has no weights (model.safetensors): copy them from the training output folder, "
                              f"or save the model there with model.save_pretrained({str(folder)!r})")  # fmt: skip
    names: set[str] = set()
    for file in files:
        if not file.is_file():
            raise CheckpointError(f"{file} is missing (listed in the folder's model.safetensors.index.json): copy it back or re-save the model")
        try:
            with safe_open(str(file), framework="pt") as weights:
                names.update(weights.keys())
        except (SafetensorError, OSError) as error:
            raise CheckpointError(f"{file} is corrupt or truncated ({error}): copy it again from where it was saved (a "
                                  "checkpoint-N folder of the run holds the same weights), or re-save the model") from error  # fmt: skip
    return names


def _expected_names(config: PretrainedConfig) -> set[str]:
    """Parameter and persistent-buffer names of the model ``config`` describes, built on the meta device."""
    with torch.device("meta"):
        model = AutoModelForSeq2SeqLM.from_config(config)
    return set(model.state_dict().keys())


def _matching_model_type(fields: dict, names: set[str], claimed: str) -> str | None:
    """Another of our model types whose architecture, built from ``fields``, has exactly the weights' names."""
    for model_type in sorted(set(MODEL_TYPES) - {claimed}):
        try:
            config = AutoConfig.for_model(model_type, **{k: v for k, v in fields.items() if k != "model_type"})
            expected = _expected_names(config)
            if names <= expected and len(names) >= 0.5 * len(expected):  # tied weights are saved once
                return model_type
        except Exception:  # noqa: BLE001 - any architecture these fields cannot build is simply not the match
            continue
    return None


def explain_config_mismatch(folder: str, fields: dict, error: Exception) -> CheckpointError:
    """The error for a local ``folder`` whose config.json ``fields`` do not build the class of their ``model_type``
    (``error``): it names the model type the saved weights belong to, when one of ours fits them. Installed as
    ``EmpatheticConfig.mismatch_explainer``, so ``AutoConfig.from_pretrained`` and ``pipeline()`` say it too."""
    folder_path, claimed = Path(folder), fields.get("model_type")
    try:
        names = _weight_names(folder_path)
    except CheckpointError:
        names = None  # damaged weights: the config is what is reported here
    other = _matching_model_type(fields, names, claimed) if names else None
    hint = (f"model.safetensors holds the weights of model_type {other!r}: set \"model_type\": {other!r} in config.json" if other else
            "restore the config.json saved with these weights")  # fmt: skip
    return CheckpointError(f"{folder_path / 'config.json'} declares model_type {claimed!r} but its fields do not fit it ({error}); {hint}")


def check_checkpoint_folder(path: str | Path, need_tokenizer: bool = True) -> None:
    """Raise :class:`CheckpointError` naming the file and the fix when the local folder ``path`` cannot load: config.json
    missing or unreadable, weights missing, truncated or corrupt, tokenizer files missing, or a config whose
    ``model_type`` does not describe the saved weights. Hub ids pass through (``from_pretrained`` downloads them)."""
    folder = Path(path)
    if not folder.is_dir():
        return
    fields = _config_dict(folder)
    names = _weight_names(folder)
    if need_tokenizer and not any((folder / name).is_file() for name in TOKENIZER_FILES):
        raise CheckpointError(f"{folder} has no tokenizer files (tokenizer.json): copy them from the training output folder, "
                              f"or save the tokenizer there with tokenizer.save_pretrained({str(folder)!r})")  # fmt: skip
    claimed = fields["model_type"]
    if claimed not in MODEL_TYPES:
        return  # a foreign model: the caller says which types it serves
    try:
        config = AutoConfig.from_pretrained(folder)
    except CheckpointError:
        raise  # explain_config_mismatch, from the configuration's from_dict
    except (ValueError, TypeError) as error:
        raise explain_config_mismatch(str(folder), fields, error) from error
    if names is None or getattr(config, "model_type", None) in ("nec", "case_blenderbot"):
        return  # pickled weights, or a backbone model whose architecture comes from its backbone config
    expected = _expected_names(config)
    unknown, missing = names - expected, expected - names
    if len(unknown) > 0.5 * len(names):
        other = _matching_model_type(fields, names, claimed)
        hint = f"the weights are those of model_type {other!r}: set \"model_type\": {other!r} in config.json" if other else "restore the config.json saved with these weights"
        raise CheckpointError(f"{folder / 'config.json'} describes a {claimed!r} model, but {len(unknown)} of the {len(names)} tensors "
                              f"in the weights are not part of it (e.g. {sorted(unknown)[0]!r}) and {len(missing)} of its own are missing; {hint}")  # fmt: skip


EmpatheticConfig.mismatch_explainer = explain_config_mismatch  # AutoConfig.from_pretrained and pipeline() name the mismatch too
