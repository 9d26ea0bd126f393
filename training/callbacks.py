"""Trainer callbacks for training phases some papers prescribe."""

from __future__ import annotations

from transformers import TrainerCallback


class ReasonerPretrainingCallback(TrainerCallback):
    """Gao et al. (2021) §4.4: train the emotion reasoner alone (L_r, eq. 4) for the first ``steps`` optimizer
    steps, then reasoner and generator jointly (eq. 7). Sets the model's ``reasoner_pretraining`` flag."""

    def __init__(self, steps: int):
        self.steps = steps

    def on_step_begin(self, args, state, control, model=None, **kwargs):
        if model is not None:
            model.reasoner_pretraining = state.global_step < self.steps
