"""Trainer callbacks for training phases some papers prescribe."""

from __future__ import annotations

from transformers import TrainerCallback


class PretrainingPhaseCallback(TrainerCallback):
    """Sets the model's boolean ``flag`` for the first ``steps`` optimizer steps, clears it after: a paper's
    first training phase. Gao et al. (2021) §4.4: ``reasoner_pretraining`` (the emotion reasoner's L_r alone);
    CASE §4.1: ``bow_pretraining`` (L_BOW alone, pre-training the knowledge discernment)."""

    def __init__(self, flag: str, steps: int):
        self.flag, self.steps = flag, steps

    def on_step_begin(self, args, state, control, model=None, **kwargs):
        if model is not None:
            if not hasattr(model, self.flag):
                raise ValueError(f"{type(model).__name__} has no {self.flag!r} training phase")
            setattr(model, self.flag, state.global_step < self.steps)
