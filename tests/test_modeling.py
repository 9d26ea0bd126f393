"""Tests of the Transformer / Multi-TRS model (modeling/), its Auto-class round trips and empathetic_models.inference."""

from __future__ import annotations

import json
import math

import pytest
import torch
import torch.nn.functional as F
from transformers import (
    AutoConfig,
    AutoModel,
    AutoModelForSeq2SeqLM,
    BartConfig,
    BartForConditionalGeneration,
    GenerationConfig,
)

from conftest import TINY_CONFIG, make_tiny_model
from empathetic_models.data import DataError
from empathetic_models.evaluation import perplexity
from empathetic_models.featurization import WordContextFeaturizer
from empathetic_models.inference import generate_responses, load_checkpoint, score_references
from empathetic_models.modeling.configuration_empathetic_transformer import EmpatheticTransformerConfig
from empathetic_models.modeling.emotions import EMOTION_LABELS
from empathetic_models.modeling.modeling_empathetic_transformer import (
    EmpatheticTransformerForConditionalGeneration,
    EmpatheticTransformerModel,
)
from remote_code import generate_without_the_package

DIALOGUES = [
    ["i got a new job today !"],
    ["my dog died last week", "oh no , i am so sorry", "thanks , i miss him a lot"],
    ["i am so nervous about my exam tomorrow"],
    ["hi", "hello , how are you ?", "i am scared of the dark , i can not sleep at night"],
    ["we are going on vacation"],
]


@pytest.fixture
def featurizer(word_tokenizer):
    return WordContextFeaturizer(word_tokenizer)


def _batch(featurizer, dialogues=DIALOGUES[:3]):
    return featurizer.encode_dialogues(dialogues)


def _strip_pad(row: torch.Tensor, pad_id: int = 0) -> list[int]:
    """Greedy output of one example without the trailing PAD a batch adds after its EOS."""
    tokens = row.tolist()
    while tokens and tokens[-1] == pad_id:
        tokens.pop()
    return tokens


# --- configuration ----------------------------------------------------------------------------------------


def test_default_config_is_usable_and_runs():
    config = AutoConfig.for_model("empathetic_transformer")
    assert isinstance(config, EmpatheticTransformerConfig)
    assert config.model_type == "empathetic_transformer"
    assert (config.d_model, config.num_heads, config.attention_dim, config.ffn_dim) == (300, 2, 40, 50)
    assert (config.encoder_layers, config.decoder_layers) == (1, 1)
    assert config.num_labels == 32 and len(config.id2label) == 32
    assert [config.id2label[i] for i in range(32)] == list(EMOTION_LABELS)
    assert config.label2id == {label: i for i, label in enumerate(EMOTION_LABELS)}
    assert config.is_encoder_decoder and config.tie_word_embeddings
    assert (config.pad_token_id, config.eos_token_id, config.decoder_start_token_id) == (0, 3, 2)
    assert config.hidden_size == 300 and config.num_attention_heads == 2  # attribute_map

    torch.manual_seed(0)
    model = AutoModelForSeq2SeqLM.from_config(config).eval()
    assert isinstance(model, EmpatheticTransformerForConditionalGeneration)
    input_ids = torch.tensor([[4, 10, 11, 12], [4, 13, 0, 0]])
    with torch.no_grad():
        out = model(
            input_ids=input_ids,
            attention_mask=input_ids.ne(0).long(),
            decoder_input_ids=torch.tensor([[2, 5], [2, 6]]),
        )
    assert out.logits.shape == (2, 2, config.vocab_size)
    assert out.emotion_logits.shape == (2, 32)
    assert torch.isfinite(out.logits).all()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(num_heads=3, attention_dim=8), r"attention_dim \(8\) must be divisible by num_heads \(3\)"),
        (dict(vocab_size=10, pad_token_id=12), r"pad_token_id=12 is outside the vocabulary \(size 10\)"),
        (dict(vocab_size=3), r"eos_token_id=3 is outside the vocabulary"),
        (dict(d_model=0), r"d_model must be >= 1"),
    ],
)
def test_invalid_config_raises_clear_value_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        AutoConfig.for_model("empathetic_transformer", **kwargs)


# --- forward and losses -----------------------------------------------------------------------------------


def _training_batch(featurizer, sample_ed, n: int = 4):
    return _pad_rows(featurizer, sample_ed["train"].select(range(n)).to_dict())


def _pad_rows(featurizer, rows):
    features = featurizer(rows)
    return featurizer.pad([{k: features[k][i] for k in features} for i in range(len(features["input_ids"]))])


def test_forward_returns_weighted_loss_and_every_term(word_tokenizer, featurizer, sample_ed):
    model = make_tiny_model(word_tokenizer, emotion_loss_weight=0.5)
    batch = _training_batch(featurizer, sample_ed)
    assert (batch["labels"] == -100).any(), "the batch should contain padded labels"
    with torch.no_grad():
        out = model(**batch)
    assert out.generation_loss is not None and out.emotion_loss is not None and out.loss is not None
    assert out.emotion_logits.shape == (4, 32)
    assert out.logits.shape == (*batch["labels"].shape, len(word_tokenizer))
    torch.testing.assert_close(out.loss, out.generation_loss + 0.5 * out.emotion_loss)
    torch.testing.assert_close(out.emotion_loss, F.cross_entropy(out.emotion_logits, batch["emotion_labels"]))

    # generation loss = token-level cross-entropy of teacher-forced logits on [SOS] + labels[:-1], -100 ignored
    labels = batch["labels"]
    decoder_input_ids = torch.cat([torch.full((4, 1), 2), labels[:, :-1].masked_fill(labels[:, :-1] == -100, 0)], 1)
    inputs = {k: v for k, v in batch.items() if k not in ("labels", "emotion_labels")}
    with torch.no_grad():
        manual = model(**inputs, decoder_input_ids=decoder_input_ids, use_cache=False)
    torch.testing.assert_close(manual.logits, out.logits)
    log_probs = manual.logits.log_softmax(-1)
    mask = labels.ne(-100)
    token_lp = log_probs.gather(-1, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    torch.testing.assert_close(out.generation_loss, -(token_lp * mask).sum() / mask.sum())
    assert manual.loss is None and manual.generation_loss is None


def test_plain_transformer_has_no_emotion_head(word_tokenizer, featurizer, sample_ed):
    model = make_tiny_model(word_tokenizer, use_emotion_classifier=False)
    assert model.emotion_head is None
    batch = _training_batch(featurizer, sample_ed)
    with torch.no_grad():
        out = model(**batch)
    assert out.emotion_logits is None and out.emotion_loss is None
    torch.testing.assert_close(out.loss, out.generation_loss)


def test_a_few_optimizer_steps_reduce_the_loss(tiny_model, featurizer, sample_ed):
    batch = _training_batch(featurizer, sample_ed)
    tiny_model.train()
    optimizer = torch.optim.Adam(tiny_model.parameters(), lr=1e-2)
    losses = []
    for _ in range(15):
        loss = tiny_model(**batch).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert all(math.isfinite(x) for x in losses)
    assert losses[-1] < 0.7 * losses[0], losses


def test_training_loss_on_response_tokens_only_equals_the_full_logits_loss(word_tokenizer, featurizer, sample_ed):
    # training projects to the vocabulary at the response tokens only; the loss is the full-logits one
    model = make_tiny_model(word_tokenizer, label_smoothing=0.1)
    batch = _training_batch(featurizer, sample_ed)
    fast = model.train()(**batch)
    assert fast.logits is None
    full = model.eval()(**batch).logits
    expected = F.cross_entropy(full.flatten(0, 1), batch["labels"].flatten(), label_smoothing=0.1)
    torch.testing.assert_close(fast.generation_loss, expected)


def test_official_output_layer_untied_with_bias_and_xavier_init_round_trips(word_tokenizer, featurizer, tmp_path):
    model = make_tiny_model(word_tokenizer, tie_word_embeddings=False, output_bias=True, init_method="xavier_uniform")
    shared = model.model.shared.weight
    assert model.lm_head.bias is not None and model.lm_head.weight.data_ptr() != shared.data_ptr()
    assert model.model.encoder.embed_tokens.weight.data_ptr() == shared.data_ptr()  # encoder/decoder still share
    bound = (6 / sum(model.lm_head.weight.shape)) ** 0.5  # Xavier-uniform's, not normal(init_std=0.5)
    assert model.lm_head.weight.abs().max() <= bound and model.lm_head.weight.abs().max() > 0.9 * bound
    model.save_pretrained(tmp_path)
    loaded = AutoModelForSeq2SeqLM.from_pretrained(tmp_path)
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, loaded.state_dict()[name]), name
    assert loaded.model.decoder.embed_tokens.weight.data_ptr() == loaded.model.shared.weight.data_ptr()
    with pytest.raises(ValueError, match="init_method"):
        make_tiny_model(word_tokenizer, init_method="kaiming")


def test_embeddings_are_tied(tiny_model):
    shared = tiny_model.model.shared.weight
    assert tiny_model.lm_head.weight.data_ptr() == shared.data_ptr()
    assert tiny_model.model.encoder.embed_tokens.weight.data_ptr() == shared.data_ptr()
    assert tiny_model.model.decoder.embed_tokens.weight.data_ptr() == shared.data_ptr()


# --- generation -------------------------------------------------------------------------------------------


def test_generate_without_dialogue_states_and_cache_equivalence(tiny_model, featurizer):
    batch = _batch(featurizer)
    inputs = {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"]}
    with torch.no_grad():
        plain = tiny_model.generate(**inputs)
        cached = tiny_model.generate(**batch)
        uncached = tiny_model.generate(**batch, use_cache=False)
    assert plain.shape[0] == 3 and plain[:, 0].eq(2).all()
    assert torch.equal(cached, uncached)
    assert cached.shape[1] <= 31  # decoder start + at most max_new_tokens
    # the random model's output depends on its input (otherwise the equalities above prove little)
    assert len({tuple(_strip_pad(r)) for r in cached}) > 1


def test_generate_feeds_dialogue_states_to_the_encoder(tiny_model, featurizer):
    batch = _batch(featurizer)
    assert batch["dialogue_state_ids"].eq(1).any()
    kwargs = dict(max_new_tokens=2, return_dict_in_generate=True, output_scores=True)
    with torch.no_grad():
        with_states = tiny_model.generate(**batch, **kwargs).scores[0]
        without = tiny_model.generate(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], **kwargs).scores[0]
        encoder_out = tiny_model.get_encoder()(**batch)
        direct = tiny_model(**batch, decoder_input_ids=torch.full((3, 1), 2), use_cache=False).logits[:, -1]
    torch.testing.assert_close(with_states, direct)
    # the listener utterance of the multi-turn dialogue changes the first-step scores
    assert not torch.allclose(with_states[1], without[1])
    assert encoder_out.last_hidden_state.shape == (*batch["input_ids"].shape, 16)


def test_default_max_new_tokens_is_30(tiny_model, tiny_checkpoint):
    assert tiny_model.generation_config.max_new_tokens == 30
    saved = json.loads((tiny_checkpoint / "generation_config.json").read_text())
    assert saved["max_new_tokens"] == 30
    assert GenerationConfig.from_pretrained(tiny_checkpoint).max_new_tokens == 30
    assert (saved["decoder_start_token_id"], saved["eos_token_id"], saved["pad_token_id"]) == (2, 3, 0)


def test_beam_search_and_top_k_sampling_run_batched(tiny_model, featurizer):
    batch = _batch(featurizer)
    vocab_size = tiny_model.config.vocab_size
    with torch.no_grad():
        beams = tiny_model.generate(**batch, num_beams=3, max_new_tokens=8)
        beams_single = [tiny_model.generate(**featurizer.encode_dialogues([d]), num_beams=3, max_new_tokens=8) for d in DIALOGUES[:3]]
        torch.manual_seed(0)
        sampled = tiny_model.generate(**batch, do_sample=True, top_k=3, max_new_tokens=8)
        torch.manual_seed(0)
        resampled = tiny_model.generate(**batch, do_sample=True, top_k=3, max_new_tokens=8)
    assert beams.shape[0] == 3 and beams.shape[1] <= 9 and beams.max() < vocab_size
    for row, single in zip(beams, beams_single, strict=True):
        assert _strip_pad(row) == _strip_pad(single[0])
    assert sampled.shape[0] == 3 and sampled.shape[1] <= 9 and sampled.max() < vocab_size
    assert torch.equal(sampled, resampled)
    with torch.no_grad():
        n_best = tiny_model.generate(**batch, num_beams=3, num_return_sequences=3, max_new_tokens=4)
    assert n_best.shape[0] == 9


def test_batched_greedy_equals_per_example_greedy(tiny_model, featurizer):
    batch = featurizer.encode_dialogues(DIALOGUES)
    assert batch["attention_mask"].eq(0).any(), "inputs of different lengths must be right-padded"
    with torch.no_grad():
        batched = tiny_model.generate(**batch)
        for i, dialogue in enumerate(DIALOGUES):
            single = tiny_model.generate(**featurizer.encode_dialogues([dialogue]))
            assert _strip_pad(batched[i]) == _strip_pad(single[0]), f"dialogue {i}"


def test_too_long_history_raises_value_error(word_tokenizer):
    model = make_tiny_model(word_tokenizer, max_position_embeddings=20)
    input_ids = torch.full((1, 21), 5)
    input_ids[0, 0] = 4
    with pytest.raises(ValueError, match="max_position_embeddings=20"):
        model(input_ids=input_ids, decoder_input_ids=torch.tensor([[2]]))
    with torch.no_grad():  # exactly the limit is fine
        model(input_ids=input_ids[:, :20], decoder_input_ids=torch.tensor([[2]]))


def test_featurizer_truncation_keeps_model_inputs_within_limits(word_tokenizer):
    model = make_tiny_model(word_tokenizer, max_position_embeddings=12)
    featurizer = WordContextFeaturizer(word_tokenizer, max_source_length=10)
    long_dialogue = ["i went to the store yesterday", "oh what did you buy", "i bought a new car today"]
    batch = featurizer.encode_dialogues([long_dialogue])
    assert batch["input_ids"].shape == (1, 10) and batch["input_ids"][0, 0] == word_tokenizer.cls_token_id
    with torch.no_grad():
        out = model.generate(**batch, max_new_tokens=5)
    assert out.shape[0] == 1


# --- save / load ------------------------------------------------------------------------------------------


def test_save_pretrained_round_trip_through_auto_classes(tiny_model, featurizer, tmp_path):
    tiny_model.save_pretrained(tmp_path)
    files = {p.name for p in tmp_path.iterdir()}
    assert {"config.json", "model.safetensors", "generation_config.json"} <= files
    assert {"modeling_empathetic_transformer.py", "configuration_empathetic_transformer.py", "configuration_common.py", "layers.py", "emotions.py"} <= files
    assert not any(name.endswith(".bin") for name in files)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["model_type"] == "empathetic_transformer"
    assert config["auto_map"] == {
        "AutoConfig": "configuration_empathetic_transformer.EmpatheticTransformerConfig",
        "AutoModel": "modeling_empathetic_transformer.EmpatheticTransformerModel",
        "AutoModelForSeq2SeqLM": "modeling_empathetic_transformer.EmpatheticTransformerForConditionalGeneration",
    }

    loaded = AutoModelForSeq2SeqLM.from_pretrained(tmp_path)
    assert isinstance(loaded, EmpatheticTransformerForConditionalGeneration) and not loaded.training
    assert loaded.lm_head.weight.data_ptr() == loaded.model.shared.weight.data_ptr()  # ties survive loading
    batch = _batch(featurizer)
    decoder_input_ids = torch.tensor([[2, 5, 6]] * 3)
    with torch.no_grad():
        before = tiny_model(**batch, decoder_input_ids=decoder_input_ids)
        after = loaded(**batch, decoder_input_ids=decoder_input_ids)
        assert torch.equal(before.logits, after.logits)
        assert torch.equal(before.emotion_logits, after.emotion_logits)
        assert torch.equal(tiny_model.generate(**batch), loaded.generate(**batch))
        assert torch.equal(tiny_model.generate(**batch, num_beams=3), loaded.generate(**batch, num_beams=3))

    bare = AutoModel.from_pretrained(tmp_path)
    assert type(bare) is EmpatheticTransformerModel
    with torch.no_grad():
        hidden = bare(**batch, decoder_input_ids=decoder_input_ids, use_cache=False).last_hidden_state
    torch.testing.assert_close(tiny_model.lm_head(hidden), before.logits)


def test_plain_transformer_round_trip_keeps_its_config(word_tokenizer, featurizer, tmp_path):
    model = make_tiny_model(word_tokenizer, use_emotion_classifier=False, emotion_loss_weight=0.25)
    model.save_pretrained(tmp_path)
    loaded = AutoModelForSeq2SeqLM.from_pretrained(tmp_path)
    assert loaded.emotion_head is None and loaded.config.emotion_loss_weight == 0.25
    assert not loaded.config.use_emotion_classifier
    assert loaded.config.id2label == model.config.id2label
    batch = _batch(featurizer)
    with torch.no_grad():
        assert torch.equal(model.generate(**batch), loaded.generate(**batch))



def test_trust_remote_code_loads_without_the_package(tiny_checkpoint, tiny_model, featurizer, tmp_path):
    batch = _batch(featurizer)
    with torch.no_grad():
        expected = tiny_model.generate(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
    inputs = {k: batch[k] for k in ("input_ids", "attention_mask")}
    child = generate_without_the_package(tiny_checkpoint, inputs, tmp_path)
    assert child["module"].startswith("transformers_modules"), child["module"]
    assert child["tokens"] == expected.tolist()


def test_tiny_checkpoint_matches_tiny_model(tiny_checkpoint, tiny_model):
    loaded = AutoModelForSeq2SeqLM.from_pretrained(tiny_checkpoint)
    for (name, a), (_, b) in zip(tiny_model.state_dict().items(), loaded.state_dict().items(), strict=True):
        assert torch.equal(a, b), name


# --- inference helpers ------------------------------------------------------------------------------------


def test_load_checkpoint_returns_model_tokenizer_featurizer(tiny_checkpoint, word_tokenizer):
    model, tokenizer, featurizer = load_checkpoint(tiny_checkpoint, device="cpu", max_source_length=7)
    assert isinstance(model, EmpatheticTransformerForConditionalGeneration) and not model.training
    assert tokenizer.get_vocab() == word_tokenizer.get_vocab()
    assert isinstance(featurizer, WordContextFeaturizer) and featurizer.max_source_length == 7


def test_load_checkpoint_rejects_a_foreign_model_type(tmp_path, word_tokenizer):
    config = BartConfig(
        vocab_size=len(word_tokenizer), d_model=16, encoder_layers=1, decoder_layers=1,
        encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=16, decoder_ffn_dim=16,
        max_position_embeddings=64,
    )  # fmt: skip
    torch.manual_seed(0)
    BartForConditionalGeneration(config).save_pretrained(tmp_path)
    word_tokenizer.save_pretrained(tmp_path)
    with pytest.raises(ValueError, match="'bart'") as excinfo:
        load_checkpoint(tmp_path, device="cpu")
    assert "empathetic_transformer" in str(excinfo.value)


def test_load_checkpoint_rejects_a_vocab_size_mismatch(tmp_path, word_tokenizer):
    make_tiny_model(word_tokenizer, vocab_size=len(word_tokenizer) + 3).save_pretrained(tmp_path)
    word_tokenizer.save_pretrained(tmp_path)
    with pytest.raises(ValueError, match=rf"tokenizer has {len(word_tokenizer)} tokens but the model expects {len(word_tokenizer) + 3}"):
        load_checkpoint(tmp_path, device="cpu")


def test_generate_responses_batches_preserve_order(tiny_model, featurizer):
    responses, emotions = generate_responses(tiny_model, featurizer, DIALOGUES, batch_size=2, progress=False)
    assert len(responses) == len(emotions) == 5
    assert all(isinstance(r, str) for r in responses)
    assert all(e in tiny_model.config.id2label.values() for e in emotions)
    assert len(set(responses)) > 1  # otherwise order preservation is not tested
    assert (responses, emotions) == generate_responses(tiny_model, featurizer, DIALOGUES, batch_size=5, progress=False)
    for i, dialogue in enumerate(DIALOGUES):
        single = generate_responses(tiny_model, featurizer, [dialogue], batch_size=1, progress=False)
        assert single == ([responses[i]], [emotions[i]]), f"dialogue {i}"
    # the emotion is the head's argmax for the same context
    with torch.no_grad():
        logits = tiny_model(**featurizer.encode_dialogues(DIALOGUES[:1]), decoder_input_ids=torch.tensor([[2]])).emotion_logits
    assert emotions[0] == tiny_model.config.id2label[int(logits.argmax())]
    # a plain string is one single-utterance dialogue
    assert generate_responses(tiny_model, featurizer, [" i got a new job today ! "], progress=False) == ([responses[0]], [emotions[0]])


@pytest.mark.parametrize("dialogues", [[[]], [""], [[""]], [1], [[1]], [["hi", "   "]]])
def test_generate_responses_rejects_bad_dialogues(tiny_model, featurizer, dialogues):
    with pytest.raises(DataError):
        generate_responses(tiny_model, featurizer, dialogues, progress=False)


def test_plain_transformer_predicts_no_emotion(word_tokenizer, featurizer):
    model = make_tiny_model(word_tokenizer, use_emotion_classifier=False)
    responses, emotions = generate_responses(model, featurizer, DIALOGUES[:2], progress=False, max_new_tokens=3)
    assert len(responses) == 2 and emotions == [None, None]


def test_score_references_matches_hand_computed_ppl(tiny_model, featurizer, sample_ed):
    dataset = sample_ed["valid"].select(range(2))
    nlls, predicted = score_references(tiny_model, featurizer, dataset, batch_size=2, progress=False)
    by_hand = []
    for i in range(2):
        batch = _pad_rows(featurizer, dataset.select([i]).to_dict())
        labels = batch.pop("labels")
        batch.pop("emotion_labels")
        with torch.no_grad():
            out = tiny_model(**batch, labels=labels)
        log_probs = out.logits[0].log_softmax(-1)
        by_hand.append(-log_probs[torch.arange(labels.shape[1]), labels[0]].mean().item())
        assert predicted[i] == int(out.emotion_logits[0].argmax())
    assert labels.ne(-100).all()
    assert nlls == pytest.approx(by_hand, rel=1e-5)
    ppl = math.exp(sum(by_hand) / 2)
    assert math.exp(sum(nlls) / len(nlls)) == pytest.approx(ppl, rel=1e-5)
    assert perplexity(nlls) == pytest.approx(ppl, rel=1e-5)


def test_score_references_ignores_padding(tiny_model, featurizer, sample_ed):
    dataset = sample_ed["valid"].select(range(6))
    together, _ = score_references(tiny_model, featurizer, dataset, batch_size=6, progress=False)
    alone, _ = score_references(tiny_model, featurizer, dataset, batch_size=1, progress=False)
    assert together == pytest.approx(alone, rel=1e-4)


def test_tiny_config_constants_are_what_the_tests_assume(tiny_model):
    assert (tiny_model.config.d_model, tiny_model.config.attention_dim, tiny_model.config.ffn_dim) == (16, 8, 16)
    assert tiny_model.config.init_std == TINY_CONFIG["init_std"]


def test_generation_reuses_the_kv_cache_one_token_per_step(tiny_model):
    # transformers < 5.24 passes the cache as past_key_values, >= 5.24 as cache: both must feed 1 new token per step
    lengths = []
    hook = tiny_model.model.decoder.register_forward_pre_hook(lambda module, args: lengths.append(args[0].shape[1]))
    ids = torch.randint(5, tiny_model.config.vocab_size, (2, 6))
    try:
        tiny_model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=5, min_new_tokens=5)
        assert lengths == [1] * 5
        lengths.clear()
        tiny_model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=3, min_new_tokens=3, num_beams=2)
        assert lengths == [1] * 3
    finally:
        hook.remove()


def test_contract_half_precision_and_resize(word_tokenizer, featurizer, sample_ed, tmp_path):
    from contract import assert_gradient_checkpointing_matches, assert_unsupported_outputs_are_refused, assert_static_cache_generates_as_the_dynamic_one, assert_missing_shared_embedding_is_reported_and_initialised, assert_return_dict_false_gives_the_tuple, assert_half_precision_loads_and_runs, assert_resize_then_one_training_step

    batch = _training_batch(featurizer, sample_ed)
    assert_half_precision_loads_and_runs(make_tiny_model(word_tokenizer), batch, tmp_path)
    assert_return_dict_false_gives_the_tuple(make_tiny_model(word_tokenizer), batch)
    assert_gradient_checkpointing_matches(make_tiny_model(word_tokenizer), batch)
    assert_unsupported_outputs_are_refused(make_tiny_model(word_tokenizer), batch)
    assert_static_cache_generates_as_the_dynamic_one(make_tiny_model(word_tokenizer), batch)
    assert_missing_shared_embedding_is_reported_and_initialised(make_tiny_model(word_tokenizer), batch, tmp_path / "no_embedding")
    assert_resize_then_one_training_step(make_tiny_model(word_tokenizer, tie_word_embeddings=False, output_bias=True), batch)


@pytest.mark.parametrize("model_type", ["empathetic_transformer", "kemp"])
def test_classifier_dropout_regularises_the_emotion_head_in_training_only(word_tokenizer, model_type):
    """classifier_dropout acts on the emotion classifier's input alone: training-mode emotion logits change with
    it, generation logits and every eval-mode output do not."""
    batch = {"input_ids": torch.tensor([[4, 10, 11, 12, 13]]), "decoder_input_ids": torch.tensor([[2, 10, 11]])}
    outputs = {}
    for p in (0.0, 0.9):
        config = AutoConfig.for_model(model_type, **{"vocab_size": len(word_tokenizer), **TINY_CONFIG, "classifier_dropout": p})
        torch.manual_seed(0)
        model = AutoModelForSeq2SeqLM.from_config(config)
        with torch.no_grad():
            torch.manual_seed(1)
            train = model.train()(**batch)
            evaluation = model.eval()(**batch)
        outputs[p] = (train, evaluation)
    (train0, eval0), (train9, eval9) = outputs[0.0], outputs[0.9]
    assert not torch.allclose(train0.emotion_logits, train9.emotion_logits)
    if model_type == "empathetic_transformer":  # Multi-TRS's decoder does not read the head; KEMP's does (e'_p, eq. 11)
        assert torch.equal(train0.logits, train9.logits)
    assert torch.equal(eval0.emotion_logits, eval9.emotion_logits) and torch.equal(eval0.logits, eval9.logits)
