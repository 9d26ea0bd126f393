"""The featurizer contract: one base class, a registry by model_type, the same inputs at training, test and
serving, and save/load of everything a featurizer needs."""

from __future__ import annotations

import json

import pytest
import torch

from empathetic_models.data import load_empathetic_dialogues
from empathetic_models.featurization import (
    FEATURIZER_CONFIG,
    FEATURIZERS,
    Featurizer,
    KempFeaturizer,
    WordContextFeaturizer,
    featurizer_class,
    pad_grid,
    pad_rows,
)

MODEL_TYPES = {"empathetic_transformer", "kemp", "emocause", "case", "imagine", "nec", "case_blenderbot"}


def test_every_model_type_has_one_registered_featurizer_subclass():
    import empathetic_models

    assert set(FEATURIZERS) == MODEL_TYPES == set(empathetic_models.MODEL_TYPES)
    for model_type, cls in FEATURIZERS.items():
        assert issubclass(cls, Featurizer) and cls.model_type == model_type and featurizer_class(model_type) is cls
        assert {"input_ids", "attention_mask"} <= set(cls.model_input_names)
    with pytest.raises(ValueError, match="no featurizer for model_type 'bart'"):
        featurizer_class("bart")


def test_padding_helpers_right_pad_with_the_given_value():
    assert pad_rows([[1, 2, 3], [4]], 0).tolist() == [[1, 2, 3], [4, 0, 0]]
    assert pad_rows([[0.5], [0.25, 1.0]], 0.0, torch.float32).dtype == torch.float32
    grid = pad_grid([[[1, 2], [3]], [[4]]], -1)
    assert grid.shape == (2, 2, 2) and grid.tolist() == [[[1, 2], [3, -1]], [[4, -1], [-1, -1]]]


def test_served_dialogue_gets_the_model_inputs_of_its_training_example(word_tokenizer):
    featurizer = WordContextFeaturizer(word_tokenizer, max_source_length=64)
    data = load_empathetic_dialogues("sample")["test"].select(range(5))
    from_examples = featurizer.encode_examples(data.to_dict())  # labels dropped: model inputs only
    assert set(from_examples) == set(featurizer.model_input_names)
    served = featurizer.encode_dialogues(data["context"])  # roles follow from the last utterance being the speaker's
    assert all(torch.equal(served[k], from_examples[k]) for k in from_examples)


def test_save_pretrained_writes_one_config_and_from_pretrained_picks_the_class(word_tokenizer, tmp_path):
    featurizer = WordContextFeaturizer(word_tokenizer, max_source_length=48, max_target_length=20)
    featurizer.save_pretrained(tmp_path)
    blob = json.loads((tmp_path / FEATURIZER_CONFIG).read_text())
    assert blob == {"featurizer_type": "empathetic_transformer", "resources": {}, "settings": {"max_source_length": 48, "max_target_length": 20}}
    loaded = Featurizer.from_pretrained(tmp_path, word_tokenizer)
    assert type(loaded) is WordContextFeaturizer and (loaded.max_source_length, loaded.max_target_length) == (48, 20)
    assert Featurizer.from_pretrained(tmp_path, word_tokenizer, max_source_length=32).max_source_length == 32  # overrides win
    with pytest.raises(ValueError, match="not a KempFeaturizer"):
        KempFeaturizer.from_pretrained(tmp_path, word_tokenizer)
    (tmp_path / FEATURIZER_CONFIG).write_text("{not json")
    with pytest.raises(ValueError, match=f"{FEATURIZER_CONFIG} is not valid JSON"):
        Featurizer.from_pretrained(tmp_path, word_tokenizer)


def test_a_checkpoint_without_featurizer_config_follows_its_model_type(tiny_checkpoint, word_tokenizer):
    loaded = Featurizer.from_pretrained(tiny_checkpoint, word_tokenizer)  # saved before featurizer_config.json existed
    assert type(loaded) is WordContextFeaturizer


def test_kemp_checkpoint_missing_its_table_names_the_file(word_tokenizer, tmp_path):
    (tmp_path / FEATURIZER_CONFIG).write_text(json.dumps({"featurizer_type": "kemp", "settings": {}, "resources": {"concepts": "kemp_knowledge.json.gz"}}))
    with pytest.raises(FileNotFoundError, match="has no kemp_knowledge.json.gz"):
        Featurizer.from_pretrained(tmp_path, word_tokenizer)
