"""The transformers model contract (issue 24) on all seven model types, each a tiny seeded model with a featurized
training batch (the per-model test files' builders): save/load equality, loading in fp32 / bf16 / fp16 with a forward
and a generate, ``return_dict=False``, resizing the vocabulary then one optimizer step, gradient checkpointing, static
vs dynamic cache, a batch vs its rows one at a time, invariance to the ids under the attention mask, deterministic
evaluation, checkpoints lacking the shared embedding or the token counts, ``return_dict_in_generate`` and the
attention implementation. A check that does not apply to a model is a ``pytest.param`` whose skip reason says why.

The backbone models' new parts (NEC's knowledge attention, CASE-BlenderBot's knowledge attentions and fusion gate)
start as a no-op; their gates are opened here so that those parts take part in every check."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import pytest
import torch
from transformers import AutoModelForSeq2SeqLM, PreTrainedModel

from contract import (
    assert_gradient_checkpointing_matches,
    assert_missing_shared_embedding_is_reported_and_initialised,
    assert_missing_token_frequency_loads_as_zeros,
    assert_return_dict_false_gives_the_tuple,
    assert_unsupported_outputs_are_refused,
    load_without_shared_embedding,
    model_inputs,
)

MODEL_TYPES = ("empathetic_transformer", "kemp", "case", "case_blenderbot", "nec", "imagine", "emocause")
BACKBONE_TYPES = ("nec", "case_blenderbot")
COUNTING_TYPES = ("case", "case_blenderbot", "imagine")  # the models with FACE / CEM token counts (token_frequency)


@dataclass
class Subject:
    """One model type under test: ``make()`` a fresh seeded tiny model in eval mode, and a training ``batch``."""

    model_type: str
    make: Callable[[], PreTrainedModel]
    batch: dict


def _open_nec_gates(model):
    with torch.no_grad():
        for attention in model.knowledge_attention:
            attention.gate.fill_(1.0)
    return model


def _build(model_type: str, word_tokenizer, tiny_cause_encoder, folder) -> Subject:
    if model_type == "empathetic_transformer":
        from conftest import make_tiny_model
        from test_modeling import _training_batch

        from empathetic_models.data import load_empathetic_dialogues
        from empathetic_models.featurization import WordContextFeaturizer

        batch = _training_batch(WordContextFeaturizer(word_tokenizer), load_empathetic_dialogues("sample"))
        return Subject(model_type, lambda: make_tiny_model(word_tokenizer), batch)
    if model_type == "kemp":
        from test_kemp import DIALOGUES, make_kemp, make_retriever

        from empathetic_models.featurization import KempFeaturizer

        featurizer = KempFeaturizer(word_tokenizer, make_retriever(folder, word_tokenizer), max_source_length=64)
        batch = featurizer.pad([featurizer.encode_graph(d)[0] for d in DIALOGUES])
        batch["labels"] = torch.tensor([[5, 6, 7, 3], [8, 3, -100, -100], [9, 10, 3, -100]])
        batch["emotion_labels"] = torch.tensor([0, 1, 2])
        return Subject(model_type, lambda: make_kemp(word_tokenizer), batch)
    if model_type == "case":
        from test_case import _training_batch, make_case, make_commonsense, make_featurizer, make_retriever

        featurizer = make_featurizer(word_tokenizer, make_retriever(folder, word_tokenizer), make_commonsense(tiny_cause_encoder))
        return Subject(model_type, lambda: make_case(word_tokenizer), _training_batch(featurizer))
    if model_type == "case_blenderbot":
        from test_case import _training_batch
        from test_case_blenderbot import _open_gates, make_featurizer, make_model, save_tiny_blenderbot
        from transformers import PreTrainedTokenizerFast

        blenderbot = save_tiny_blenderbot(folder / "blenderbot")
        featurizer = make_featurizer(folder, PreTrainedTokenizerFast.from_pretrained(blenderbot), tiny_cause_encoder)

        def make():
            model = make_model(blenderbot)
            _open_gates(model)
            return model

        return Subject(model_type, make, _training_batch(featurizer))
    if model_type == "nec":
        from test_nec import _batch, _model

        return Subject(model_type, lambda: _open_nec_gates(_model()), _batch())
    if model_type == "imagine":
        from test_imagine import annotated_batch, make_imagine, pad

        from empathetic_models.featurization import ImagineFeaturizer

        batch = pad(ImagineFeaturizer(word_tokenizer, inferences_per_relation=2, max_source_length=64), annotated_batch())
        return Subject(model_type, lambda: make_imagine(word_tokenizer), batch)
    if model_type == "emocause":
        from test_emocause import _training_batch, make_emocause

        from empathetic_models.featurization import featurizer_for

        batch = _training_batch(featurizer_for("emocause", word_tokenizer, max_source_length=64))
        return Subject(model_type, lambda: make_emocause(word_tokenizer), batch)
    raise ValueError(model_type)


@pytest.fixture(scope="module")
def _subjects():
    return {}


@pytest.fixture
def subject(model_type, _subjects, word_tokenizer, tiny_cause_encoder, tmp_path_factory) -> Subject:
    if model_type not in _subjects:
        _subjects[model_type] = _build(model_type, word_tokenizer, tiny_cause_encoder, tmp_path_factory.mktemp(model_type))
    return _subjects[model_type]


def only(types, reason: str):
    """Every model type, those outside ``types`` skipped with ``reason``."""
    return [t if t in types else pytest.param(t, marks=pytest.mark.skip(reason=reason)) for t in MODEL_TYPES]


every_model = pytest.mark.parametrize("model_type", MODEL_TYPES)


def _eval_forward(model, batch):
    with torch.no_grad():
        return model.eval()(**batch)


def _greedy(model, inputs, **kwargs):
    with torch.no_grad():
        return model.eval().generate(**inputs, max_new_tokens=5, do_sample=False, num_beams=1, **kwargs)


def _rows(batch: dict, index: int) -> dict:
    return {k: v[index : index + 1] for k, v in batch.items()}


# --- save / load ----------------------------------------------------------------------------------------------


@every_model
def test_save_and_load_give_the_same_weights_outputs_and_responses(subject, tmp_path):
    model = subject.make()
    if hasattr(model, "token_frequency"):
        model.token_frequency += torch.arange(model.token_frequency.shape[0], dtype=model.token_frequency.dtype)
    model.save_pretrained(tmp_path)
    loaded = AutoModelForSeq2SeqLM.from_pretrained(tmp_path).eval()
    assert type(loaded) is type(model)
    state, reloaded = model.state_dict(), loaded.state_dict()
    assert state.keys() == reloaded.keys()
    for name, tensor in state.items():
        assert torch.equal(tensor, reloaded[name]), name
    out, again = _eval_forward(model, subject.batch), _eval_forward(loaded, subject.batch)
    assert torch.equal(out.loss, again.loss)
    torch.testing.assert_close(again.logits, out.logits, atol=1e-6, rtol=1e-6)  # CASE: last-ulp differences between instances
    inputs = model_inputs(subject.batch)
    assert torch.equal(_greedy(model, inputs), _greedy(loaded, inputs))


@every_model
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16], ids=["fp32", "bf16", "fp16"])
def test_loads_in_each_dtype_and_runs_a_forward_and_a_generate(subject, dtype, tmp_path):
    subject.make().save_pretrained(tmp_path)
    loaded = AutoModelForSeq2SeqLM.from_pretrained(tmp_path, dtype=dtype).eval()
    floating = {n: t.dtype for n, t in [*loaded.named_parameters(), *loaded.named_buffers()] if t.is_floating_point()}
    assert set(floating.values()) == {dtype}, {n: d for n, d in floating.items() if d != dtype}
    out = _eval_forward(loaded, subject.batch)
    assert torch.isfinite(out.loss.float())
    generated = _greedy(loaded, model_inputs(subject.batch))
    assert generated.shape[0] == subject.batch["input_ids"].shape[0]


@every_model
def test_a_checkpoint_without_the_shared_word_embedding_reports_and_initialises_it(subject, tmp_path):
    if subject.model_type not in BACKBONE_TYPES:
        assert_missing_shared_embedding_is_reported_and_initialised(subject.make(), subject.batch, tmp_path)
        return
    # the backbone's own embedding (BART / BlenderbotSmall ``shared``): reported missing and initialised as the backbone does
    loaded = load_without_shared_embedding(subject.make(), tmp_path)
    assert loaded.backbone.get_encoder().embed_tokens.weight is loaded.get_input_embeddings().weight
    assert torch.isfinite(_eval_forward(loaded, subject.batch).loss)


@pytest.mark.parametrize("model_type", only(COUNTING_TYPES, "no token_frequency buffer (no FACE / CEM diversity loss)"))
def test_a_checkpoint_without_the_token_counts_loads_them_as_zeros(subject, tmp_path):
    assert_missing_token_frequency_loads_as_zeros(subject.make(), tmp_path)


@pytest.mark.parametrize("model_type", only(BACKBONE_TYPES, "no backbone: the from-scratch blocks have their own attention (SDPA, or "
                                            "explicit where a loss reads the weights); attn_implementation names the config's only"))
def test_attn_implementation_reaches_the_backbone(subject, tmp_path):
    subject.make().save_pretrained(tmp_path)
    for implementation in ("eager", "sdpa"):
        loaded = AutoModelForSeq2SeqLM.from_pretrained(tmp_path, attn_implementation=implementation).eval()
        assert loaded.config._attn_implementation == implementation
        assert loaded.backbone.config._attn_implementation == implementation
        assert loaded.backbone.get_decoder().config._attn_implementation == implementation
        assert torch.isfinite(_eval_forward(loaded, subject.batch).loss)


# --- outputs ----------------------------------------------------------------------------------------------------


@every_model
def test_return_dict_false_gives_the_tuple(subject):
    assert_return_dict_false_gives_the_tuple(subject.make(), subject.batch)
    model = subject.make()
    model.config.return_dict = False  # the config's setting, as transformers' models read it
    with torch.no_grad():
        assert isinstance(model(**subject.batch), tuple)


@every_model
def test_attentions_and_hidden_states_are_refused_with_a_clear_error(subject):
    assert_unsupported_outputs_are_refused(subject.make(), subject.batch)


@every_model
def test_evaluation_is_deterministic(subject):
    model = subject.make()
    first, second = _eval_forward(model, subject.batch), _eval_forward(model, subject.batch)
    assert torch.equal(first.loss, second.loss) and torch.equal(first.logits, second.logits)
    inputs = model_inputs(subject.batch)
    assert torch.equal(_greedy(model, inputs), _greedy(model, inputs))


@every_model
def test_return_dict_in_generate_holds_the_same_sequences(subject):
    """With the model's own generation config (NEC: its re-ranked beam search), made deterministic (emocause samples)."""
    model, inputs = subject.make(), model_inputs(subject.batch)
    with torch.no_grad():
        plain = model.generate(**inputs, max_new_tokens=4, do_sample=False)
        output = model.generate(**inputs, max_new_tokens=4, do_sample=False, return_dict_in_generate=True, output_scores=True)
    assert torch.equal(output.sequences, plain)


# --- training -------------------------------------------------------------------------------------------------


@every_model
def test_resize_token_embeddings_then_one_optimizer_step(subject):
    model = subject.make()
    size = model.config.vocab_size + 7
    model.resize_token_embeddings(size)
    assert model.config.vocab_size == size
    assert model.get_input_embeddings().num_embeddings == size and model.get_output_embeddings().out_features == size
    for name, tensor in [*model.named_parameters(), *model.named_buffers()]:
        if "token_frequency" in name or name.startswith("bow_head.2"):
            assert tensor.shape[0] == size, name
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    model.train()
    for _ in range(2):  # the second step runs on the updated counts and weights
        loss = model(**subject.batch).loss
        assert torch.isfinite(loss)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    embedding = model.get_input_embeddings().weight
    assert not torch.equal(embedding, before[next(n for n, p in model.named_parameters() if p is embedding)])
    new_ids = torch.arange(size - 7, size)[None]
    assert torch.isfinite(model.get_input_embeddings()(new_ids)).all()


@pytest.mark.parametrize("model_type", MODEL_TYPES)
def test_gradient_checkpointing_gives_the_same_loss_and_gradients(subject):
    assert_gradient_checkpointing_matches(subject.make(), subject.batch)


# --- decoding -------------------------------------------------------------------------------------------------


@every_model
def test_static_and_dynamic_cache_give_the_same_greedy_and_beam_output(subject):
    model, inputs = subject.make(), model_inputs(subject.batch)
    with torch.no_grad():
        for beams in (1, 2):
            kwargs = dict(max_new_tokens=5, min_new_tokens=5, num_beams=beams, do_sample=False)
            dynamic = model.generate(**inputs, **kwargs)
            static = model.generate(**inputs, **kwargs, cache_implementation="static")
            assert torch.equal(dynamic, static), beams


@every_model
def test_a_batch_gives_each_row_what_it_gives_alone(subject):
    model, batch = subject.make(), subject.batch
    out = _eval_forward(model, batch)
    together = _greedy(model, model_inputs(batch))
    for i in range(batch["input_ids"].shape[0]):
        alone = _eval_forward(model, _rows(batch, i))
        torch.testing.assert_close(alone.logits[0], out.logits[i], atol=1e-5, rtol=1e-4)
        single = _greedy(model, model_inputs(_rows(batch, i)))[0]
        assert together[i, : len(single)].tolist() == single.tolist(), i


@every_model
def test_the_ids_under_the_attention_mask_do_not_matter(subject):
    """Padding positions (attention_mask 0) filled with other words: the same loss, logits and responses."""
    model, batch = subject.make(), subject.batch
    padding = batch["attention_mask"].eq(0)
    assert padding.any(), "the batch should hold padding"
    changed = dict(batch, input_ids=batch["input_ids"].masked_fill(padding, 5))
    out, again = _eval_forward(model, batch), _eval_forward(model, changed)
    torch.testing.assert_close(again.logits, out.logits, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(again.loss, out.loss, atol=1e-5, rtol=1e-4)
    assert torch.equal(_greedy(model, model_inputs(batch)), _greedy(model, model_inputs(changed)))
