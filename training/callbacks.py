"""Trainer callbacks for training phases some papers prescribe."""

from __future__ import annotations

import time

from transformers import TrainerCallback
from transformers.trainer_callback import ExportableState


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


class EvalClockCallback(TrainerCallback, ExportableState):
    """The training wall-clock over the whole run, resumes included: seconds of training at each evaluation (so a
    run reports how long it took to reach its best validation PPL, ``state.best_global_step``) and in all. Its
    state is saved in every checkpoint's ``trainer_state.json`` and read back when a run resumes from it."""

    def __init__(self):
        self.start, self.end, self.elapsed_before, self.elapsed_at_step = None, None, 0.0, {}

    def on_train_begin(self, args, state, control, **kwargs):
        saved = (state.stateful_callbacks or {}).get(type(self).__name__)
        if saved:  # resumed: the time already spent before this process
            self.elapsed_before = float(saved["attributes"]["elapsed_before"])
            self.elapsed_at_step = {int(k): v for k, v in saved["attributes"]["elapsed_at_step"].items()}
        state.stateful_callbacks.setdefault(type(self).__name__, self.state())  # a checkpoint written by older code lacks it
        self.start, self.end = time.perf_counter(), None

    def on_train_end(self, args, state, control, **kwargs):
        self.end = time.perf_counter()

    def elapsed(self) -> float:
        """Training seconds so far (until training ended), over the whole run."""
        if self.start is None:
            return self.elapsed_before
        return self.elapsed_before + ((self.end or time.perf_counter()) - self.start)

    def on_evaluate(self, args, state, control, **kwargs):
        self.elapsed_at_step[state.global_step] = round(self.elapsed(), 2)

    def state(self) -> dict:
        return {"args": {}, "attributes": {"elapsed_before": round(self.elapsed(), 2),
                                           "elapsed_at_step": {str(k): v for k, v in self.elapsed_at_step.items()}}}  # fmt: skip

    def summary(self, state) -> dict:
        """``best_eval_step``, ``best_eval_metric`` (the best model's metric), ``wall_clock_to_best_eval_s`` and
        ``train_wall_clock_s`` (the whole run)."""
        step = state.best_global_step
        return {"best_eval_step": step, "best_eval_metric": state.best_metric, "wall_clock_to_best_eval_s": self.elapsed_at_step.get(step),
                "train_wall_clock_s": round(self.elapsed(), 2)}  # fmt: skip
