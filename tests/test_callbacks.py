"""Training-phase callbacks."""

from types import SimpleNamespace

import pytest
from transformers import TrainerControl, TrainerState

from empathetic_models.training.callbacks import PretrainingPhaseCallback


def test_pretraining_phase_sets_the_flag_and_keeps_evaluation_out_of_the_phase():
    callback, model, control = PretrainingPhaseCallback("bow_pretraining", 2), SimpleNamespace(bow_pretraining=False), TrainerControl()
    flags, evaluated = [], []
    for step in range(4):
        state = TrainerState(global_step=step)
        callback.on_step_begin(None, state, control, model=model)
        flags.append(model.bow_pretraining)
        state.global_step += 1
        control.should_evaluate = True  # as an every-step eval strategy asks
        callback.on_step_end(None, state, control)
        evaluated.append(control.should_evaluate)
    assert flags == [True, True, False, False]
    assert evaluated == [False, False, True, True]  # steps 1-2 trained L_BOW alone: their loss is not comparable


def test_pretraining_phase_refuses_a_model_without_the_phase():
    with pytest.raises(ValueError, match="no 'bow_pretraining' training phase"):
        PretrainingPhaseCallback("bow_pretraining", 2).on_step_begin(None, TrainerState(), TrainerControl(), model=SimpleNamespace())
