"""``Seq2SeqTrainer`` subclass that logs every loss term the model returns.

Models return ``loss`` (the paper's weighted sum) plus one field per term ending in ``_loss``
(``generation_loss``, ``emotion_loss``, …). The trainer averages each term over the steps since the
last log, separately for training (``train/<term>`` → logged as ``<term>``) and evaluation
(``eval_<term>``), and reduces them across processes. Each evaluation also logs ``eval_ppl``: exp of the
generation NLL averaged over all validation response tokens (the models compute it without label smoothing
outside training, and it holds no auxiliary term), the figure the official codes select on. Evaluations before
``selection_burn_in_steps`` are logged but neither select the best model nor count towards early stopping
(KEMP's and CASE's official loops skip selection before step 13,000). Every save (checkpoints and the final model) also
writes what the featurizer needs beside the tokenizer (KEMP's retrieval table), so each saved folder is a
complete model. Checkpoints are crash-safe: each is written under ``<output_dir>/.staging/`` and renamed into place
once complete, so a ``checkpoint-N`` on disk is whole; resuming takes the newest complete one
(:func:`last_complete_checkpoint`), warns about any other it skips, and says it resumed (:func:`checkpoint_to_resume`). ``train_from_last_checkpoint`` is the
resume-time-save step the auxiliary training scripts share.
"""

from __future__ import annotations

import logging
import math
import os
import re
import shutil
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path

import torch
from transformers import Seq2SeqTrainer, Trainer
from transformers.trainer import TRAINER_STATE_NAME
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

from empathetic_models.checkpoints import WEIGHT_FILES, CheckpointError, check_checkpoint_folder

logger = logging.getLogger(__name__)

STAGING_DIR = ".staging"  # checkpoints are written here, then renamed into the output folder
_CHECKPOINT = re.compile(rf"^{PREFIX_CHECKPOINT_DIR}-(\d+)$")


def checkpoint_step(checkpoint: str | Path) -> int | None:
    """N of a ``checkpoint-N`` folder (None for another folder)."""
    match = _CHECKPOINT.match(Path(checkpoint).name)
    return int(match.group(1)) if match else None


def missing_checkpoint_files(checkpoint: str | Path) -> list[str]:
    """What a resumable checkpoint needs and ``checkpoint`` lacks: config, weights, trainer state."""
    folder = Path(checkpoint)
    missing = [name for name in ("config.json", TRAINER_STATE_NAME) if not (folder / name).is_file()]
    if not any((folder / name).is_file() for name in WEIGHT_FILES):
        missing.append("model.safetensors")
    return missing


def last_complete_checkpoint(output_dir: str | Path) -> str | None:
    """The newest complete ``checkpoint-N`` of ``output_dir`` (None if none); each newer one that is incomplete
    (written by a save that was cut, e.g. by a full disk, before saves were staged) or damaged (weights truncated or
    unreadable, :func:`~empathetic_models.checkpoints.check_checkpoint_folder`) is skipped with a warning naming it."""
    folder = Path(output_dir)
    if not folder.is_dir():
        return None
    checkpoints = sorted((p for p in folder.iterdir() if p.is_dir() and checkpoint_step(p) is not None), key=checkpoint_step, reverse=True)
    for checkpoint in checkpoints:
        missing = missing_checkpoint_files(checkpoint)
        if missing:
            logger.warning("skipping incomplete checkpoint %s (no %s): resuming from an earlier one; delete it once inspected",
                           checkpoint, ", ".join(missing))  # fmt: skip
            continue
        try:
            check_checkpoint_folder(checkpoint, need_tokenizer=False)
        except CheckpointError as error:
            logger.warning("skipping damaged checkpoint %s (%s): resuming from an earlier one", checkpoint, error)
            continue
        return str(checkpoint)
    return None


def checkpoint_to_resume(output_dir: str | Path, requested: str | None = None, need_tokenizer: bool = False) -> str | None:
    """The checkpoint a run resumes from, announced with a warning (so a default-verbosity run says it resumed):
    ``requested`` (``--resume_from_checkpoint``: a folder, checked first, or ``"true"`` for the newest complete one),
    else the newest complete checkpoint of ``output_dir`` (:func:`last_complete_checkpoint`); None starts afresh.
    A requested folder that is missing, incomplete or damaged raises ``SystemExit`` naming it and the fix."""
    if requested and requested.lower() not in ("true", "1", "yes"):
        folder = Path(requested)
        if not folder.is_dir():
            raise SystemExit(f"--resume_from_checkpoint {requested}: no such folder (give a checkpoint-N folder of the run, "
                             "or leave the flag out to resume from the output folder's newest complete checkpoint)")  # fmt: skip
        if missing := missing_checkpoint_files(folder):
            raise SystemExit(f"--resume_from_checkpoint {requested}: incomplete checkpoint (no {', '.join(missing)}); give "
                             "another checkpoint-N, or leave the flag out to resume from the newest complete one")  # fmt: skip
        checkpoint = str(folder)
    else:
        checkpoint = last_complete_checkpoint(output_dir)
    if checkpoint is None:
        return None
    try:
        check_checkpoint_folder(checkpoint, need_tokenizer=need_tokenizer)
    except CheckpointError as error:
        raise SystemExit(f"cannot resume from {checkpoint}: {error}") from None
    logger.warning("resuming from %s (step %s); --overwrite_output_dir true starts afresh", checkpoint, checkpoint_step(checkpoint))
    return checkpoint


def whole_run_train_loss(log_history: Sequence[Mapping], fallback: float) -> float:
    """Mean training loss over every step of the run, resumes included: the logged losses (each a mean over the steps
    since the previous log) weighted by their steps; ``fallback`` when nothing was logged."""
    total, previous, steps = 0.0, 0, 0
    for entry in sorted((h for h in log_history if "loss" in h and "step" in h), key=lambda h: h["step"]):
        width = entry["step"] - previous
        total, previous, steps = total + float(entry["loss"]) * width, entry["step"], steps + width
    return total / steps if steps else fallback


def train_from_last_checkpoint(trainer: Trainer) -> float:
    """Train (resuming from the output folder's last complete checkpoint, if any), save the model; the training seconds."""
    last_checkpoint = checkpoint_to_resume(trainer.args.output_dir)
    start = time.perf_counter()
    trainer.train(resume_from_checkpoint=last_checkpoint)
    seconds = time.perf_counter() - start
    trainer.save_model()
    return seconds


class EmpatheticTrainer(Seq2SeqTrainer):
    def __init__(self, *args, featurizer=None, selection_burn_in_steps: int = 0, **kwargs):
        super().__init__(*args, **kwargs)
        self.featurizer = featurizer
        self.selection_burn_in_steps = selection_burn_in_steps
        self._nll_sum, self._nll_tokens = 0.0, 0  # validation response tokens, for eval_ppl
        self._term_sums = {"train": defaultdict(float), "eval": defaultdict(float)}
        self._term_counts = {"train": 0, "eval": 0}

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        loss, outputs = super().compute_loss(model, inputs, return_outputs=True, num_items_in_batch=num_items_in_batch)
        phase = "train" if model.training else "eval"
        terms = {k: v for k, v in outputs.items() if k.endswith("_loss") and isinstance(v, torch.Tensor)}
        for name, value in terms.items():
            self._term_sums[phase][name] += value.detach().float()
        self._term_counts[phase] += 1
        labels = inputs.get("labels")
        if phase == "eval" and labels is not None and outputs.get("generation_loss") is not None:
            tokens = labels.ne(-100).sum()
            self._nll_sum += outputs["generation_loss"].detach().double() * tokens  # back to a sum over tokens
            self._nll_tokens += tokens
        return (loss, outputs) if return_outputs else loss

    def _pop_terms(self, phase: str) -> dict[str, float]:
        count, sums = self._term_counts[phase], self._term_sums[phase]
        if not count:
            return {}
        names = sorted(sums)
        means = torch.stack([torch.as_tensor(sums[n], device=self.args.device) for n in names]) / count
        means = self.accelerator.reduce(means, reduction="mean") if self.accelerator.num_processes > 1 else means
        self._term_sums[phase], self._term_counts[phase] = defaultdict(float), 0
        return {name: round(value, 4) for name, value in zip(names, means.tolist(), strict=True)}

    def _pop_ppl(self) -> dict[str, float]:
        """``ppl``: exp(Σ NLL / Σ tokens) over the evaluation's response tokens, summed across processes."""
        if not torch.is_tensor(self._nll_tokens):
            return {}
        totals = torch.stack([torch.as_tensor(self._nll_sum, dtype=torch.float64), torch.as_tensor(self._nll_tokens, dtype=torch.float64)])
        totals = totals.to(self.args.device)
        totals = self.accelerator.reduce(totals, reduction="sum") if self.accelerator.num_processes > 1 else totals
        self._nll_sum, self._nll_tokens = 0.0, 0
        mean_nll = (totals[0] / totals[1].clamp_min(1)).item()
        return {"ppl": round(math.exp(min(mean_nll, 100.0)), 4), "response_tokens": int(totals[1].item())}

    def _determine_best_metric(self, metrics, trial) -> bool:
        if self.state.global_step < self.selection_burn_in_steps:  # logged, not a candidate
            return False
        return super()._determine_best_metric(metrics, trial)

    def _get_output_dir(self, trial) -> str:
        return getattr(self, "_staging_root", None) or super()._get_output_dir(trial)

    def _save_checkpoint(self, model, trial) -> None:
        """Write ``checkpoint-N`` under ``.staging/`` (Trainer's own save: weights, optimizer, RNG, state), then rename
        it into the output folder: a save cut by a crash or a full disk leaves no partial ``checkpoint-N``."""
        run_dir = Path(super()._get_output_dir(trial))
        name = f"{PREFIX_CHECKPOINT_DIR}-{self.state.global_step}"
        staged, final = run_dir / STAGING_DIR / name, run_dir / name
        if self.args.should_save and staged.exists():  # left by an earlier, interrupted save of this step
            shutil.rmtree(staged)
        self._staging_root = str(run_dir / STAGING_DIR)
        try:
            super()._save_checkpoint(model, trial)
        finally:
            self._staging_root = None
        self.accelerator.wait_for_everyone()  # every rank's files (RNG states) are in the staged folder
        if self.args.should_save:
            best = self.state.best_model_checkpoint
            if best and Path(best).parent == staged.parent:  # Trainer recorded the staged path
                self.state.best_model_checkpoint = str(run_dir / Path(best).name)
            self.state.save_to_json(str(staged / TRAINER_STATE_NAME))
            if final.exists():  # an earlier save of the same step (a re-run): replaced whole
                shutil.rmtree(final)
            os.replace(staged, final)
            self._rotate_checkpoints(run_dir)
        self.accelerator.wait_for_everyone()

    def _rotate_checkpoints(self, run_dir: Path) -> None:
        """Keep the newest ``save_total_limit`` complete checkpoints and the best one; an incomplete folder neither
        counts nor is deleted (it is left for inspection, and resuming skips it)."""
        limit = self.args.save_total_limit
        if not limit or limit <= 0:
            return
        complete = sorted((p for p in run_dir.iterdir() if p.is_dir() and checkpoint_step(p) is not None and not missing_checkpoint_files(p)),
                          key=checkpoint_step)  # fmt: skip
        best = Path(self.state.best_model_checkpoint) if self.state.best_model_checkpoint else None
        keep = set(complete[-limit:]) | ({best} if best in complete else set())
        for checkpoint in complete:
            if checkpoint not in keep:
                shutil.rmtree(checkpoint, ignore_errors=True)

    def _save(self, output_dir: str | None = None, state_dict=None) -> None:
        super()._save(output_dir, state_dict)
        if self.featurizer is not None and self.args.should_save:
            self.featurizer.save_pretrained(output_dir if output_dir is not None else self.args.output_dir)

    def _issue_warnings_after_load(self, load_result) -> None:
        # tied or shared embeddings are saved once; their other names are "missing" but share the loaded tensor (the
        # encoder's and decoder's word embedding is the model's ``shared`` one even when the output layer is untied)
        params = dict(self.model.named_parameters(remove_duplicate=False))
        missing = set(load_result.missing_keys)
        loaded = {p.data_ptr() for name, p in params.items() if name not in missing}
        load_result.missing_keys[:] = [k for k in load_result.missing_keys if k not in self.model.all_tied_weights_keys
                                       and not (k in params and params[k].data_ptr() in loaded)]  # fmt: skip
        super()._issue_warnings_after_load(load_result)

    def log(self, logs: dict[str, float], *args, **kwargs) -> None:
        if "loss" in logs:  # a training log
            logs.update(self._pop_terms("train"))
        if "eval_loss" in logs:
            logs.update({f"eval_{k}": v for k, v in {**self._pop_terms("eval"), **self._pop_ppl()}.items()})
        super().log(logs, *args, **kwargs)
