"""Trainer callbacks for training phases some papers prescribe."""

from __future__ import annotations

import time

from transformers import TrainerCallback


class PretrainingPhaseCallback(TrainerCallback):
    """Sets the model's boolean ``flag`` for the first ``steps`` optimizer steps, clears it after: a paper's
    first training phase. Gao et al. (2021) §4.4: ``reasoner_pretraining`` (the emotion reasoner's L_r alone);
    CASE §4.1: ``bow_pretraining`` (L_BOW alone, pre-training the knowledge discernment).

    No evaluation runs inside the phase: its loss is a different objective (a phase-1 loss is smaller than the full
    one), so it would win best-model selection and stall early stopping."""

    def __init__(self, flag: str, steps: int):
        self.flag, self.steps = flag, steps

    def on_step_begin(self, args, state, control, model=None, **kwargs):
        if model is not None:
            if not hasattr(model, self.flag):
                raise ValueError(f"{type(model).__name__} has no {self.flag!r} training phase")
            setattr(model, self.flag, state.global_step < self.steps)

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step <= self.steps:  # the step just taken was a phase-1 step
            control.should_evaluate = False


class EvalClockCallback(TrainerCallback):
    """Records the training wall-clock (seconds since training began) at each evaluation, so a run can report
    how long it took to reach its best validation loss (``state.best_global_step``)."""

    def __init__(self):
        self.start, self.elapsed_at_step = None, {}

    def on_train_begin(self, args, state, control, **kwargs):
        self.start = time.perf_counter()

    def on_evaluate(self, args, state, control, **kwargs):
        self.elapsed_at_step[state.global_step] = round(time.perf_counter() - self.start, 2)

    def summary(self, state) -> dict:
        """``best_eval_step``, ``best_eval_metric`` (the best model's metric) and ``wall_clock_to_best_eval_s``."""
        step = state.best_global_step
        return {"best_eval_step": step, "best_eval_metric": state.best_metric,
                "wall_clock_to_best_eval_s": self.elapsed_at_step.get(step)}  # fmt: skip
