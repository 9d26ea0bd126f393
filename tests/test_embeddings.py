"""GloVe-format embedding initialisation."""

from __future__ import annotations

import pytest
import torch

from empathetic_models.embeddings import load_glove_embeddings


def test_glove_vectors_become_the_model_input_embeddings(tiny_model, word_tokenizer, tmp_path):
    dim = tiny_model.config.d_model
    sad, happy = [0.5] * dim, [float(i) / dim for i in range(dim)]
    path = tmp_path / "glove.txt"
    path.write_text(f"sad {' '.join(map(str, sad))}\nhappy {' '.join(map(str, happy))}\nzzzunseen {' '.join(['1'] * dim)}\n")
    before = tiny_model.get_input_embeddings().weight.clone()
    coverage = load_glove_embeddings(path, word_tokenizer, tiny_model)
    assert coverage == pytest.approx(2 / len(word_tokenizer))
    ids = word_tokenizer.convert_tokens_to_ids(["sad", "happy", "i"])
    inputs = tiny_model.get_input_embeddings()(torch.tensor(ids))  # after the sqrt(d_model) input scale
    assert torch.allclose(inputs[0], torch.tensor(sad)) and torch.allclose(inputs[1], torch.tensor(happy))
    assert torch.equal(tiny_model.get_input_embeddings().weight[ids[2]], before[ids[2]])  # absent word untouched


def test_glove_dimension_mismatch_and_missing_file(tiny_model, word_tokenizer, tmp_path):
    path = tmp_path / "glove.txt"
    path.write_text("sad 0.1 0.2\n")
    with pytest.raises(ValueError, match="glove.txt:1: vector of size 2"):
        load_glove_embeddings(path, word_tokenizer, tiny_model)
    with pytest.raises(FileNotFoundError, match="embeddings file not found"):
        load_glove_embeddings(tmp_path / "none.txt", word_tokenizer, tiny_model)
