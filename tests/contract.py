"""Checks of the transformers model contract shared by the model test files (each passes its own tiny model and a
featurized batch): half-precision loading, vocabulary resizing, buffers a checkpoint may lack."""

from __future__ import annotations

import torch
from safetensors.torch import load_file, save_file
from transformers import AutoModelForSeq2SeqLM


def model_inputs(batch: dict) -> dict:
    """The batch without its training targets (``labels``, ``emotion_labels``, ``cause_labels``, …)."""
    return {k: v for k, v in batch.items() if not k.endswith("labels")}


def assert_half_precision_loads_and_runs(model, batch: dict, folder) -> None:
    """``from_pretrained(dtype=bf16 / fp16)`` keeps every floating tensor in that dtype; a forward and a generate run."""
    model.save_pretrained(folder)
    for dtype in (torch.bfloat16, torch.float16):
        loaded = AutoModelForSeq2SeqLM.from_pretrained(folder, dtype=dtype).eval()
        floating = {n: t.dtype for n, t in [*loaded.named_parameters(), *loaded.named_buffers()] if t.is_floating_point()}
        assert set(floating.values()) == {dtype}, {n: d for n, d in floating.items() if d != dtype}
        with torch.no_grad():
            out = loaded(**batch)
            assert out.loss is not None and torch.isfinite(out.loss.float())
            generated = loaded.generate(**model_inputs(batch), max_new_tokens=3)
        assert generated.shape[0] == batch["input_ids"].shape[0]


def assert_resize_then_one_training_step(model, batch: dict, extra: int = 7) -> None:
    """``resize_token_embeddings`` resizes every vocabulary-sized part, and the next training step runs."""
    size = model.config.vocab_size + extra
    model.resize_token_embeddings(size)
    assert model.config.vocab_size == size and model.get_output_embeddings().out_features == size
    for name, tensor in [*model.named_parameters(), *model.named_buffers()]:
        if "token_frequency" in name or name.startswith("bow_head.2"):
            assert tensor.shape[0] == size, name
    model.train()
    loss = model(**batch).loss
    loss.backward()
    assert torch.isfinite(loss)


def assert_missing_token_frequency_loads_as_zeros(model, folder) -> None:
    """A checkpoint without the ``token_frequency`` counts loads them as zeros, not uninitialised memory."""
    with torch.no_grad():
        model.token_frequency.fill_(5.0)
    model.save_pretrained(folder)
    weights = load_file(folder / "model.safetensors")
    del weights["token_frequency"]
    save_file(weights, folder / "model.safetensors", metadata={"format": "pt"})
    loaded = AutoModelForSeq2SeqLM.from_pretrained(folder)
    assert torch.equal(loaded.token_frequency, torch.zeros_like(loaded.token_frequency))


def assert_return_dict_false_gives_the_tuple(model, batch: dict) -> None:
    """``return_dict=False`` returns ``to_tuple()`` of the output (loss first), as transformers models do."""
    model.eval()
    with torch.no_grad():
        as_dict = model(**batch)
        as_tuple = model(**batch, return_dict=False)
    assert isinstance(as_tuple, tuple) and torch.equal(as_tuple[0], as_dict.loss)
    assert len(as_tuple) == len(as_dict.to_tuple())


def assert_gradient_checkpointing_matches(model, batch: dict) -> None:
    """``gradient_checkpointing_enable()`` recomputes the blocks in backward (a block's sub-module runs twice) and gives
    the same loss and gradients as without it (same seed, so dropout draws the same masks); reentrant is refused."""
    import pytest
    from transformers.modeling_layers import GradientCheckpointingLayer

    model.train()
    blocks = [m for m in model.modules() if isinstance(m, GradientCheckpointingLayer)]
    assert blocks, "no checkpointable block"
    probe = next(m for m in blocks[0].modules() if m is not blocks[0] and isinstance(m, torch.nn.Linear))
    calls = []
    hook = probe.register_forward_hook(lambda *_: calls.append(1))

    def loss_and_grads():
        model.zero_grad()
        torch.manual_seed(0)
        loss = model(**batch).loss
        loss.backward()
        return loss.detach(), {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}

    try:
        plain_loss, plain = loss_and_grads()
        plain_calls = len(calls)
        model.gradient_checkpointing_enable()
        assert model.is_gradient_checkpointing and all(b.gradient_checkpointing for b in blocks)
        calls.clear()
        loss, grads = loss_and_grads()
        assert len(calls) == 2 * plain_calls  # recomputed in backward
    finally:
        hook.remove()
        model.gradient_checkpointing_disable()
    assert torch.allclose(loss, plain_loss, atol=1e-6)
    assert grads.keys() == plain.keys()
    for name in plain:
        assert torch.allclose(grads[name], plain[name], atol=1e-5, rtol=1e-4), name
    with pytest.raises(ValueError, match="use_reentrant=False"):
        model.gradient_checkpointing_enable({"use_reentrant": True})


def assert_unsupported_outputs_are_refused(model, batch: dict) -> None:
    """``output_attentions`` / ``output_hidden_states`` raise a clear error instead of returning nothing; False is fine."""
    import pytest

    model.eval()
    with torch.no_grad():
        for flag in ("output_attentions", "output_hidden_states"):
            with pytest.raises(ValueError, match=f"does not return {flag}"):
                model(**batch, **{flag: True})
            assert model(**batch, **{flag: False}).loss is not None
        generated = model.generate(**model_inputs(batch), max_new_tokens=2, output_attentions=False)
    assert generated.shape[0] == batch["input_ids"].shape[0]


def load_without_shared_embedding(model, folder):
    """``model`` saved to ``folder`` without its shared word embedding (``*shared.weight``), then loaded: the key is
    reported missing and the embedding initialised (off the meta device, finite, not constant). The loaded model."""
    model.save_pretrained(folder)
    weights = load_file(folder / "model.safetensors")
    shared = next(k for k in weights if k.endswith("shared.weight"))
    del weights[shared]
    save_file(weights, folder / "model.safetensors", metadata={"format": "pt"})
    loaded, info = AutoModelForSeq2SeqLM.from_pretrained(folder, output_loading_info=True)
    assert shared in info["missing_keys"]
    embedding = loaded.get_input_embeddings()
    assert not embedding.weight.is_meta and torch.isfinite(embedding.weight).all() and embedding.weight.std() > 0
    return loaded


def assert_missing_shared_embedding_is_reported_and_initialised(model, batch: dict, folder) -> None:
    """A checkpoint without the shared word embedding loads with it reported missing, initialised (off the meta
    device, zero padding row) and still tied to the encoder's and decoder's embeddings; a forward runs."""
    loaded = load_without_shared_embedding(model, folder)
    embedding = loaded.get_input_embeddings()
    if embedding.padding_idx is not None:
        assert embedding.weight[embedding.padding_idx].abs().sum() == 0
    assert loaded.get_encoder().embed_tokens.weight is embedding.weight
    with torch.no_grad():
        assert torch.isfinite(loaded.eval()(**batch).loss)


def assert_resized_model_reloads(model, folder) -> None:
    """After ``resize_token_embeddings`` the saved folder reloads with the new vocabulary and the same weights."""
    model.save_pretrained(folder)
    loaded = AutoModelForSeq2SeqLM.from_pretrained(folder)
    assert loaded.config.vocab_size == model.config.vocab_size == loaded.get_input_embeddings().num_embeddings
    state, reloaded = model.state_dict(), loaded.state_dict()
    assert state.keys() == reloaded.keys()
    for name, tensor in state.items():
        assert torch.equal(tensor, reloaded[name]), name


def assert_static_cache_generates_as_the_dynamic_one(model, batch: dict) -> None:
    """``generate(cache_implementation="static")`` (the route of compiled decoding) gives the dynamic cache's tokens,
    greedy and beam search: the static cache's unfilled slots are masked."""
    model.eval()
    inputs = model_inputs(batch)
    with torch.no_grad():
        for beams in (1, 2):
            kwargs = dict(max_new_tokens=5, min_new_tokens=5, num_beams=beams, do_sample=False)  # emocause samples by default
            dynamic = model.generate(**inputs, **kwargs)
            static = model.generate(**inputs, **kwargs, cache_implementation="static")
            assert torch.equal(dynamic, static), beams
