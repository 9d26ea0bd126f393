"""Blocks shared by the models built around a pretrained seq2seq backbone (NEC; CASE-BlenderBot).

- :func:`backbone_config` / :func:`decoder_config`: the backbone's config from the dict a wrapper config saves.
- :func:`decoder_layers` and :func:`after_self_attention`: where new attentions hook into the backbone's decoder.
- :class:`GatedMemoryAttention`: multi-head attention of the decoder states to a memory (knowledge vectors), added
  through a tanh gate that starts at 0, so the pretrained backbone is unchanged at initialisation.
- :class:`MemoryCheckpointing`: gradient checkpointing of backbone layers whose hooked attentions read a memory
  set for one forward (the recompute in backward sees the memory of its forward).
- :func:`cache_argument` / :func:`output_cache`: the key/value cache's name (``cache`` from transformers 5.24,
  ``past_key_values`` before).
"""

from __future__ import annotations

import contextlib
import inspect

import torch
from torch import nn
from transformers import AutoConfig, AutoModelForSeq2SeqLM, PretrainedConfig, PreTrainedModel

POST_NORM_BART_STYLE = ("bart", "blenderbot-small", "marian")  # self_attn_layer_norm follows the self-attention's residual


def backbone_config(settings: dict) -> PretrainedConfig:
    """The backbone's config from its ``to_dict()``."""
    settings = dict(settings)
    return AutoConfig.for_model(settings.pop("model_type"), **settings)


def decoder_config(config: PretrainedConfig) -> PretrainedConfig:
    """The decoder's own config: ``config.decoder`` of an ``EncoderDecoderModel``, else ``config``."""
    return getattr(config, "decoder", None) or config


def pretrained_backbone(backbone: str | PreTrainedModel) -> PreTrainedModel:
    """A seq2seq model, loaded when given as a hub id or path."""
    return AutoModelForSeq2SeqLM.from_pretrained(backbone) if isinstance(backbone, str) else backbone


class BackboneAccessors:
    """The decoder and embeddings of a model that wraps a seq2seq ``backbone`` are the backbone's (listed before
    the ``PreTrainedModel`` base)."""

    def get_decoder(self) -> nn.Module:
        return self.backbone.get_decoder()

    def get_input_embeddings(self) -> nn.Module:
        return self.backbone.get_input_embeddings()

    def get_output_embeddings(self) -> nn.Module:
        return self.backbone.get_output_embeddings()

    def set_input_embeddings(self, value: nn.Module) -> None:
        self.backbone.set_input_embeddings(value)

    def set_output_embeddings(self, value: nn.Module) -> None:
        self.backbone.set_output_embeddings(value)

    def resize_token_embeddings(self, new_num_tokens: int | None = None, pad_to_multiple_of: int | None = None, mean_resizing: bool = True):
        """The backbone resizes its own embedding and output layer (with its extras, e.g. BART's final_logits_bias), the
        saved backbone settings follow (so the resized model reloads), then the wrapper's vocabulary-sized parts."""
        embeddings = self.backbone.resize_token_embeddings(new_num_tokens, pad_to_multiple_of, mean_resizing)
        self.config.backbone = self.backbone.config.to_dict()
        if "vocab_size" in vars(self.config):  # a stored copy (NEC derives it from the backbone settings)
            self.config.vocab_size = embeddings.num_embeddings
        self._resize_vocabulary_parts(embeddings.num_embeddings)
        return embeddings


def decoder_layers(backbone: nn.Module) -> nn.ModuleList:
    """The decoder's layer list of any seq2seq backbone (BART / BlenderbotSmall ``layers``, BERT ``layer``, T5 ``block``)."""
    for name, module in backbone.get_decoder().named_modules():
        if isinstance(module, nn.ModuleList) and name.rsplit(".", 1)[-1] in ("layers", "layer", "block"):
            return module
    raise ValueError(f"no decoder layer list found in {type(backbone).__name__}")


def after_self_attention(layer: nn.Module, model_type: str) -> nn.Module:
    """The module of a decoder ``layer`` whose output is the hidden state after the self-attention block (residual
    and norm included) and before the cross-attention: ``self_attn_layer_norm`` of post-norm BART-style layers,
    ``attention`` of BERT-style ones (``EncoderDecoderModel`` decoders)."""
    if model_type in POST_NORM_BART_STYLE and hasattr(layer, "self_attn_layer_norm"):
        return layer.self_attn_layer_norm
    if hasattr(layer, "crossattention") and hasattr(layer, "attention"):
        return layer.attention
    raise ValueError(
        f"cannot place attentions between the self- and cross-attention of a {model_type!r} decoder layer "
        f"({type(layer).__name__}); supported: post-norm BART-style decoders {POST_NORM_BART_STYLE} and BERT-style "
        "EncoderDecoderModel decoders"
    )


class GatedMemoryAttention(nn.Module):
    """h + tanh(g) · MultiHead(LN(h), M, M) over a memory M (B, K, D) with mask (B, K); g starts at 0. Set ``memory``
    before the decoder runs; registered as a forward hook (:meth:`hook`) on a backbone module. Rows whose memory is
    empty are left unchanged; beams decoded per example share its memory."""

    def __init__(self, hidden_size: int, heads: int, dropout: float):
        super().__init__()
        self.norm = nn.LayerNorm(hidden_size)
        self.attention = nn.MultiheadAttention(hidden_size, heads, dropout=dropout, batch_first=True)
        self.gate = nn.Parameter(torch.zeros(1))
        self.memory: tuple[torch.Tensor, torch.Tensor] | None = None

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        states, mask = self.memory
        beams = hidden.shape[0] // states.shape[0]
        states, mask = states.repeat_interleave(beams, 0).to(hidden.dtype), mask.bool().repeat_interleave(beams, 0)
        has_any = mask.any(-1)
        attended, _ = self.attention(self.norm(hidden), states, states, key_padding_mask=~(mask | ~has_any[:, None]), need_weights=False)
        return hidden + torch.tanh(self.gate) * attended * has_any[:, None, None].to(hidden.dtype)

    def hook(self, module, args, output):
        if self.memory is None:
            return output
        if isinstance(output, tuple):
            return (self(output[0]), *output[1:])
        return self(output)


class MemoryCheckpointing:
    """Gradient checkpointing of a model whose :class:`GatedMemoryAttention` hooks run inside the checkpointed backbone
    layers (mixed in before the ``PreTrainedModel`` base): their memory is set for one forward and cleared after it,
    so each checkpoint keeps the memory it ran with and its recompute in backward runs with it again (torch's
    ``context_fn``, non-reentrant checkpointing)."""

    def gradient_checkpointing_enable(self, gradient_checkpointing_kwargs: dict | None = None, **kwargs) -> None:
        settings = {"use_reentrant": False, **(gradient_checkpointing_kwargs or {})}
        if not settings["use_reentrant"]:
            settings.setdefault("context_fn", self._memory_checkpoint_contexts)
        super().gradient_checkpointing_enable(settings, **kwargs)

    def _memory_checkpoint_contexts(self):
        """(forward context, recompute context) of one checkpoint: the recompute restores the memories of now."""
        attentions = [m for m in self.modules() if isinstance(m, GatedMemoryAttention)]
        memories = [m.memory for m in attentions]

        @contextlib.contextmanager
        def restored():
            current = [m.memory for m in attentions]
            for attention, memory in zip(attentions, memories, strict=True):
                attention.memory = memory
            try:
                yield
            finally:
                for attention, memory in zip(attentions, current, strict=True):
                    attention.memory = memory

        return contextlib.nullcontext(), restored()


def cache_argument(backbone: nn.Module) -> str:
    """The backbone forward's name for the key/value cache."""
    return "cache" if "cache" in inspect.signature(backbone.forward).parameters else "past_key_values"


def output_cache(output):
    """The key/value cache of a backbone's output, whichever name it has."""
    return output.cache if "cache" in output.__dataclass_fields__ else output.past_key_values


__all__ = [
    "BackboneAccessors",
    "GatedMemoryAttention",
    "MemoryCheckpointing",
    "after_self_attention",
    "backbone_config",
    "cache_argument",
    "decoder_config",
    "decoder_layers",
    "output_cache",
    "pretrained_backbone",
]
