"""Emotion reasoner + gated-attention generator (modeling/modeling_emocause.py): gated attention (eq. 5), soft
and hard gates, the reasoner without positions, loss terms and phases, ablations, generation, checkpoints,
trust_remote_code and training with a cause detector."""

from __future__ import annotations

import json

import pytest
import torch
from transformers import AutoConfig, AutoModel, AutoModelForSeq2SeqLM

from conftest import TINY_CONFIG
from empathetic_models.featurization import CauseLabelFeaturizer, featurizer_for
from empathetic_models.modeling.layers import explicit_attention
from empathetic_models.modeling.modeling_emocause import EmoCauseForConditionalGeneration, EmoCauseModel
from remote_code import generate_without_the_package

TINY = {**TINY_CONFIG, "encoder_layers": 2, "decoder_layers": 2, "reasoner_ffn_dim": 16}
DIALOGUES = [["My exam is tomorrow and I am nervous."], ["I got a new puppy!", "How cute!", "He is so playful."], ["I lost my job."]]


def make_emocause(tokenizer, seed: int = 0, **overrides) -> EmoCauseForConditionalGeneration:
    config = AutoConfig.for_model("emocause", **{"vocab_size": len(tokenizer), **TINY, **overrides})
    torch.manual_seed(seed)
    return AutoModelForSeq2SeqLM.from_config(config).eval()


@pytest.fixture(scope="module")
def featurizer(word_tokenizer):
    return featurizer_for("emocause", word_tokenizer, max_source_length=64)


def _training_batch(featurizer) -> dict:
    batch = featurizer.encode_dialogues(DIALOGUES)
    assert set(batch) == {"input_ids", "attention_mask"}  # word + position + emotion embeddings only
    batch["labels"] = torch.tensor([[5, 6, 7, 3], [8, 3, -100, -100], [9, 10, 3, -100]])
    batch["emotion_labels"] = torch.tensor([0, 1, 2])
    torch.manual_seed(0)
    batch["cause_labels"] = torch.randint(0, 2, batch["input_ids"].shape).masked_fill(batch["attention_mask"].eq(0), -100)
    return batch


def test_gated_attention_is_eq5():
    torch.manual_seed(0)
    q, k, v = torch.randn(2, 1, 3, 4), torch.randn(2, 1, 5, 4), torch.randn(2, 1, 5, 4)
    gates = torch.tensor([[1.0, 0.0, 0.5, 1.0, 0.2], [1.0, 1.0, 1.0, 1.0, 1.0]])
    out, weights = explicit_attention(q, k, v, gates=gates)
    scores = torch.exp(q @ k.transpose(-1, -2) / 2.0) * gates[:, None, None, :]
    expected = scores / scores.sum(-1, keepdim=True)  # a_i = g_i exp(q h_i) / Σ_j g_j exp(q h_j)
    assert torch.allclose(weights, expected, atol=1e-6) and torch.allclose(out, expected @ v, atol=1e-6)
    assert weights[0, :, :, 1].abs().max() == 0  # a closed gate gets no attention
    plain, _ = explicit_attention(q, k, v)
    assert torch.allclose(plain[1], out[1], atol=1e-6)  # all gates open = ordinary attention


def test_cause_labels_follow_the_tokens_and_truncation(word_tokenizer):
    featurizer = CauseLabelFeaturizer(word_tokenizer, max_source_length=4)
    batch = {"context": [["i am sad", "why"]], "context_roles": [["speaker", "listener"]], "target": ["ok"], "emotion": [5],
             "cause_word_labels": [[1, 1, 1, 1, 0]]}  # fmt: skip
    features = featurizer(batch)
    assert word_tokenizer.convert_ids_to_tokens(features["input_ids"][0]) == ["[CLS]", "am", "sad", "why"]
    assert features["cause_labels"] == [[1, 1, 1, 0]]  # [CLS] kept, then the labels of the kept words
    with pytest.raises(ValueError, match="does not match this tokenization"):
        featurizer({**batch, "cause_word_labels": [[1, 1]]})


def test_reasoner_has_no_position_embedding(featurizer, word_tokenizer):
    model = make_emocause(word_tokenizer)
    ids = featurizer.encode_dialogues([DIALOGUES[0]])["input_ids"]
    permuted = torch.cat([ids[:, :1], ids[:, 1:].flip(1)], dim=1)  # same words, another order, [CLS] first
    mask = torch.ones_like(ids)
    with torch.no_grad():
        emotion, causes = model.model.encoder.reasoner(ids, mask)
        emotion_p, causes_p = model.model.encoder.reasoner(permuted, mask)
    assert torch.allclose(emotion, emotion_p, atol=1e-5)
    assert torch.allclose(causes[:, 1:], causes_p[:, 1:].flip(1), atol=1e-5)


def test_soft_and_hard_gates(featurizer, word_tokenizer):
    batch = featurizer.encode_dialogues(DIALOGUES)
    mask = batch["attention_mask"]
    soft = make_emocause(word_tokenizer, gating="soft")
    with torch.no_grad():
        out = soft.get_encoder()(batch["input_ids"], mask)
    expected = out.cause_logits.softmax(-1)[..., 1] * mask
    assert torch.allclose(out.gates[:, 1:], expected[:, 1:]) and torch.equal(out.gates[:, 0], torch.ones(3))
    hard = make_emocause(word_tokenizer, gating="hard")
    encoder = hard.get_encoder()
    with torch.no_grad():
        evaluated = encoder(batch["input_ids"], mask)
        assert torch.equal(evaluated.gates[:, 1:], evaluated.cause_logits.argmax(-1)[:, 1:].float() * mask[:, 1:])
        encoder.train()
        sampled = encoder(batch["input_ids"], mask).gates
    assert set(sampled.unique().tolist()) <= {0.0, 1.0} and torch.equal(sampled[:, 0], torch.ones(3))
    assert sampled[mask.eq(0)].abs().max() == 0  # padding is never selected


def test_loss_terms_phases_and_gradients(featurizer, word_tokenizer):
    model = make_emocause(word_tokenizer).train()
    batch = _training_batch(featurizer)
    out = model(**batch)
    assert out.loss.item() == pytest.approx((out.emotion_loss + out.cause_loss + out.generation_loss).item(), rel=1e-6)  # eq. 7
    out.loss.backward()
    assert model.model.encoder.reasoner.cause_head.weight.grad.abs().sum() > 0
    model.zero_grad()
    model.reasoner_pretraining = True  # phase 1: L_r only, the generator is not run
    pre = model(**batch)
    assert pre.generation_loss is None and pre.logits is None
    assert pre.loss.item() == pytest.approx((pre.emotion_loss + pre.cause_loss).item(), rel=1e-6)
    pre.loss.backward()
    assert model.model.decoder.layers[0].self_attn.q_proj.weight.grad is None  # the decoder is untouched


def test_ablations(featurizer, word_tokenizer):
    batch = _training_batch(featurizer)
    separate = make_emocause(word_tokenizer, multitask=False).train()
    out = separate(**batch)
    assert out.loss.item() == pytest.approx(out.generation_loss.item())
    out.loss.backward()
    assert separate.model.encoder.reasoner.emotion_head.weight.grad is None  # the reasoner stays as pre-trained
    no_emotion = make_emocause(word_tokenizer, use_emotion_embedding=False)
    no_cause = make_emocause(word_tokenizer, use_cause_gating=False)
    assert no_emotion.model.embed_emotions is None and no_cause.model.decoder.layers[0].gated_attn is None
    with torch.no_grad():
        assert no_cause.get_encoder()(batch["input_ids"], batch["attention_mask"]).gates is None
        for model in (no_emotion, no_cause):
            assert torch.isfinite(model(**batch).loss)


def test_generation_config_and_batched_cached_greedy(featurizer, word_tokenizer):
    model = make_emocause(word_tokenizer)
    config = model.generation_config
    assert config.do_sample and config.top_k == 3 and config.max_new_tokens == 30
    batch = featurizer.encode_dialogues(DIALOGUES)
    with torch.no_grad():
        batched = model.generate(**batch, do_sample=False, max_new_tokens=8)
        for i, dialogue in enumerate(DIALOGUES):
            single = model.generate(**featurizer.encode_dialogues([dialogue]), do_sample=False, max_new_tokens=8, use_cache=False)
            assert batched[i, : single.shape[1]].tolist() == single[0].tolist()
        torch.manual_seed(0)
        sampled = model.generate(**batch, max_new_tokens=8)
    assert sampled.shape[0] == 3



def test_save_load_and_trust_remote_code(featurizer, word_tokenizer, tmp_path):
    folder = tmp_path / "emocause"
    model = make_emocause(word_tokenizer, gating="hard")
    model.save_pretrained(folder)
    word_tokenizer.save_pretrained(folder)
    assert isinstance(AutoModel.from_pretrained(folder), EmoCauseModel)
    loaded = AutoModelForSeq2SeqLM.from_pretrained(folder).eval()
    assert loaded.config.gating == "hard" and loaded.generation_config.top_k == 3
    batch = featurizer.encode_dialogues(DIALOGUES)
    with torch.no_grad():
        expected = model.generate(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], do_sample=False)
        assert torch.equal(loaded.generate(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], do_sample=False), expected)
    inputs = {k: batch[k] for k in ("input_ids", "attention_mask")}
    child = generate_without_the_package(folder, inputs, tmp_path, do_sample=False)
    assert child["module"].startswith("transformers_modules") and child["tokens"] == expected.tolist()


def test_training_annotates_causes_and_pretrains_the_reasoner_first(tiny_cause_encoder, tmp_path):
    from empathetic_models.training.train import main

    out = tmp_path / "run"
    info = main([
        "emocause", "--data_source", "sample", "--output_dir", str(out), "--cause_detector", str(tiny_cause_encoder),
        "--knowledge_cache_dir", str(tmp_path / "cache"), "--model_config", json.dumps({**TINY, "gating": "hard"}),
        "--reasoner_pretraining_steps", "3", "--max_steps", "6", "--logging_steps", "1", "--eval_strategy", "no",
        "--save_strategy", "no", "--load_best_model_at_end", "false", "--per_device_train_batch_size", "16",
        "--max_test_samples", "8", "--use_cpu", "true",
    ])  # fmt: skip
    assert info["global_step"] == 6 and str(tiny_cause_encoder) in info["knowledge_source"]
    logs = [h for h in json.loads((out / "trainer_state.json").read_text())["log_history"] if "loss" in h]
    assert [("generation_loss" in h) for h in logs] == [False] * 3 + [True] * 3  # L_r first, then L_ml
    for log in logs:
        terms = log["emotion_loss"] + log["cause_loss"] + log.get("generation_loss", 0.0)
        assert log["loss"] == pytest.approx(terms, abs=0.02)
    results = json.loads((out / "results" / "test_results.json").read_text())
    assert results["decoding"]["strategy"] == "sampling" and "emotion_accuracy" in results["metrics"]
    assert "gated attention" in (out / "README.md").read_text()


def test_pipeline_and_inference_helpers_serve_an_emocause_checkpoint(word_tokenizer, tmp_path):
    from transformers import pipeline

    from empathetic_models.inference import generate_responses, load_checkpoint

    folder = tmp_path / "emocause"
    make_emocause(word_tokenizer).save_pretrained(folder)
    word_tokenizer.save_pretrained(folder)
    model, _, featurizer = load_checkpoint(folder, device="cpu")
    assert isinstance(featurizer, CauseLabelFeaturizer)
    responses, emotions = generate_responses(model, featurizer, DIALOGUES, batch_size=2, progress=False, do_sample=False, max_new_tokens=5)
    assert len(responses) == 3 and all(e in model.config.label2id for e in emotions)
    chat = pipeline("empathetic-response", model=str(folder))
    result = chat(DIALOGUES[0], do_sample=False, max_new_tokens=5)
    assert result["response"] == responses[0] and result["emotion"] == emotions[0]


def test_contract_half_precision_and_resize(featurizer, word_tokenizer, tmp_path):
    from contract import assert_gradient_checkpointing_matches, assert_unsupported_outputs_are_refused, assert_static_cache_generates_as_the_dynamic_one, assert_missing_shared_embedding_is_reported_and_initialised, assert_return_dict_false_gives_the_tuple, assert_half_precision_loads_and_runs, assert_resize_then_one_training_step

    batch = _training_batch(featurizer)
    assert_half_precision_loads_and_runs(make_emocause(word_tokenizer), batch, tmp_path)
    assert_return_dict_false_gives_the_tuple(make_emocause(word_tokenizer), batch)
    assert_gradient_checkpointing_matches(make_emocause(word_tokenizer), batch)
    assert_unsupported_outputs_are_refused(make_emocause(word_tokenizer), batch)
    # the gated attention re-reads the cross-attention's keys: a static cross-attention cache holds exactly the encoder's
    assert_static_cache_generates_as_the_dynamic_one(make_emocause(word_tokenizer), batch)
    assert_missing_shared_embedding_is_reported_and_initialised(make_emocause(word_tokenizer), batch, tmp_path / "no_embedding")
    assert_resize_then_one_training_step(make_emocause(word_tokenizer), batch)
