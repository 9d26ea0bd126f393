"""Transformer blocks shared by every from-scratch model in this folder.

Holds: sinusoidal positions and the word embedding, the block sizes (:class:`BlockSizes`), multi-head attention on
torch SDPA with transformers' ``EncoderDecoderCache``, pre-norm encoder / decoder layers and stacks (the layout of
MoEL's and KEMP's Transformer), the models' ``PreTrainedModel`` base and the ``ModelOutput`` dataclasses they return. Shapes: B batch, S source length, T target length, D model dim.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from transformers import PreTrainedModel
from transformers import initialization as init
from transformers.cache_utils import Cache, EncoderDecoderCache
from transformers.modeling_layers import GradientCheckpointingLayer
from transformers.utils import ModelOutput


def sinusoidal_positions(num_positions: int, dim: int) -> torch.Tensor:
    """Timing signal of Vaswani et al. (2017), as MoEL's ``_gen_timing_signal``: (num_positions, dim)."""
    position = torch.arange(num_positions, dtype=torch.float).unsqueeze(1)
    num_timescales = dim // 2
    log_increment = math.log(1.0e4) / max(num_timescales - 1, 1)
    inv_timescales = torch.exp(torch.arange(num_timescales, dtype=torch.float) * -log_increment)
    scaled = position * inv_timescales.unsqueeze(0)
    signal = torch.cat([torch.sin(scaled), torch.cos(scaled)], dim=1)
    return F.pad(signal, (0, dim % 2))


class SinusoidalPositions(nn.Module):
    """Fixed position signal added to embeddings; ``forward(length, offset)`` → (length, D)."""

    def __init__(self, num_positions: int, dim: int):
        super().__init__()
        # in the default dtype, so ``from_pretrained(..., dtype=torch.bfloat16)`` builds it in bfloat16
        self.register_buffer("signal", sinusoidal_positions(num_positions, dim).to(torch.get_default_dtype()), persistent=False)

    def forward(self, length: int, offset: int = 0) -> torch.Tensor:
        if offset + length > self.signal.shape[0]:
            raise ValueError(
                f"sequence of {offset + length} positions exceeds max_position_embeddings={self.signal.shape[0]}; "
                "truncate the dialogue history (the featurizers keep the most recent tokens)"
            )
        return self.signal[offset : offset + length]


class ScaledWordEmbedding(nn.Embedding):
    """Word embedding multiplied by ``sqrt(d_model)`` (Vaswani et al., 2017, §3.4) when ``scale`` is set and
    initialised N(0, d_model^-0.5): inputs then match the unit-scale sinusoidal positions and tied output
    logits start at unit scale."""

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None, scale: bool = True):
        super().__init__(num_embeddings, embedding_dim, padding_idx=padding_idx)
        self.embed_scale = math.sqrt(embedding_dim) if scale else 1.0

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        return super().forward(input_ids) * self.embed_scale


class WordEmbedder(nn.Module):
    """Base of the encoders and decoders over the model's word embedding ``embed_tokens`` (shared, owned by the model):
    with sinusoidal ``embed_positions`` and the embedding ``dropout``; :meth:`embed` adds words and positions."""

    def __init__(self, config, embed_tokens: nn.Embedding | None):
        super().__init__()
        self.embed_tokens = embed_tokens
        self.embed_positions = SinusoidalPositions(config.max_position_embeddings, config.d_model)
        self.dropout = nn.Dropout(config.embedding_dropout)

    def embed(self, input_ids: torch.Tensor, offset: int = 0) -> torch.Tensor:
        """Word + position embeddings (..., L, D) of ``input_ids`` (..., L) whose first position is ``offset``."""
        return self.embed_tokens(input_ids) + self.embed_positions(input_ids.shape[-1], offset)


def explicit_attention(query, key, value, attention_mask=None, dropout: float = 0.0, gates=None):
    """Scaled dot-product attention with its weights: ``(output (B, H, T, d), weights (B, H, T, S))``.

    ``gates`` (B, S) re-weight the keys as Gao et al. (2021) eq. 5: a_i = g_i exp(s_i) / Σ_j g_j exp(s_j),
    written so that gradients reach the gates; at least one gate per row must be positive.
    """
    scores = query @ key.transpose(-1, -2) / math.sqrt(query.shape[-1])
    if attention_mask is not None:
        scores = scores.masked_fill(~attention_mask, torch.finfo(scores.dtype).min)
    weights = scores.float().softmax(-1)
    if gates is not None:
        weights = weights * gates.float()[:, None, None, :]
        weights = weights / weights.sum(-1, keepdim=True).clamp_min(torch.finfo(weights.dtype).tiny)
    weights = weights.to(query.dtype)
    return F.dropout(weights, dropout) @ value, weights


@dataclass(frozen=True)
class BlockSizes:
    """The sizes of one transformer block: width D, heads, total key/value depth shared by the heads (MoEL's
    ``depth``), feed-forward size (MoEL's ``filter``) and the residual / attention dropouts."""

    d_model: int
    num_heads: int
    attention_dim: int
    ffn_dim: int
    dropout: float
    attention_dropout: float

    @classmethod
    def from_config(cls, config, **overrides) -> BlockSizes:
        """The sizes a config gives every block (``d_model``, ``num_heads``, ``attention_dim``, ``ffn_dim``, ``dropout``,
        ``attention_dropout``); ``overrides`` replace some, e.g. a smaller stack's own heads or feed-forward size."""
        sizes = {"d_model": config.d_model, "num_heads": config.num_heads, "attention_dim": config.attention_dim, "ffn_dim": config.ffn_dim,
                 "dropout": config.dropout, "attention_dropout": config.attention_dropout}  # fmt: skip
        return cls(**{**sizes, **overrides})


class MultiHeadAttention(nn.Module):
    """Multi-head attention with a separate total key/value depth (MoEL's ``total_key_depth``).

    Self-attention caches keys/values per step; cross-attention computes them once and re-uses them.
    """

    def __init__(self, d_model: int, num_heads: int, attention_dim: int, dropout: float, layer_idx: int | None = None):
        super().__init__()
        if attention_dim % num_heads:
            raise ValueError(f"attention_dim ({attention_dim}) must be divisible by num_heads ({num_heads})")
        self.num_heads, self.head_dim, self.dropout, self.layer_idx = num_heads, attention_dim // num_heads, dropout, layer_idx
        self.q_proj = nn.Linear(d_model, attention_dim, bias=False)
        self.k_proj = nn.Linear(d_model, attention_dim, bias=False)
        self.v_proj = nn.Linear(d_model, attention_dim, bias=False)
        self.out_proj = nn.Linear(attention_dim, d_model, bias=False)

    @classmethod
    def of(cls, sizes: BlockSizes, layer_idx: int | None = None) -> MultiHeadAttention:
        """An attention of a block of ``sizes``; ``layer_idx`` names its slot in a key/value cache."""
        return cls(sizes.d_model, sizes.num_heads, sizes.attention_dim, sizes.attention_dropout, layer_idx)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:  # (B, L, H*d) -> (B, H, L, d)
        return x.view(*x.shape[:2], self.num_heads, self.head_dim).transpose(1, 2)

    def forward(
        self,
        hidden_states: torch.Tensor,  # (B, T, D)
        key_value_states: torch.Tensor | None = None,  # (B, S, D) for cross-attention
        attention_mask: torch.Tensor | None = None,  # bool, broadcastable to (B, H, T, S); True = attend
        is_causal: bool = False,
        past_key_values: Cache | None = None,
        need_weights: bool = False,
        return_key_value: bool = False,
    ):
        """Attention output (B, T, D); with ``need_weights`` also the attention weights (B, H, T, S), computed
        explicitly instead of by SDPA (the models that read weights use them for losses and copying); with
        ``return_key_value`` also the (key, value) heads, for a second attention over the same keys."""
        is_cross = key_value_states is not None
        query = self._heads(self.q_proj(hidden_states))
        cache = past_key_values
        if isinstance(past_key_values, EncoderDecoderCache):
            cache = past_key_values.cross_attention_cache if is_cross else past_key_values.self_attention_cache
        if is_cross and cache is not None and past_key_values.is_updated.get(self.layer_idx):
            key, value = cache.layers[self.layer_idx].keys, cache.layers[self.layer_idx].values
        else:
            source = key_value_states if is_cross else hidden_states
            key, value = self._heads(self.k_proj(source)), self._heads(self.v_proj(source))
            if cache is not None:
                key, value = cache.update(key, value, self.layer_idx)
                if is_cross:
                    past_key_values.is_updated[self.layer_idx] = True
        weights = None
        if need_weights:
            if is_causal:
                raise ValueError("need_weights needs an explicit mask (pass attention_mask, not is_causal)")
            out, weights = explicit_attention(query, key, value, attention_mask, self.dropout if self.training else 0.0)
        else:
            out = F.scaled_dot_product_attention(
                query, key, value, attn_mask=attention_mask, is_causal=is_causal,
                dropout_p=self.dropout if self.training else 0.0,
            )  # fmt: skip
        out = self.out_proj(out.transpose(1, 2).reshape(*hidden_states.shape[:2], -1))
        extras = ((weights,) if need_weights else ()) + (((key, value),) if return_key_value else ())
        return (out, *extras) if extras else out


class FeedForward(nn.Module):
    """Position-wise FFN: Linear → ReLU → dropout → Linear."""

    def __init__(self, d_model: int, ffn_dim: int, dropout: float):
        super().__init__()
        self.fc1, self.fc2, self.dropout = nn.Linear(d_model, ffn_dim), nn.Linear(ffn_dim, d_model), nn.Dropout(dropout)

    @classmethod
    def of(cls, sizes: BlockSizes) -> FeedForward:
        return cls(sizes.d_model, sizes.ffn_dim, sizes.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.dropout(F.relu(self.fc1(x))))


class EncoderLayer(GradientCheckpointingLayer):
    """Pre-norm self-attention + FFN block."""

    def __init__(self, sizes: BlockSizes, layer_idx: int = 0):
        super().__init__()
        self.self_attn = MultiHeadAttention.of(sizes, layer_idx)
        self.ffn = FeedForward.of(sizes)
        self.self_attn_layer_norm, self.ffn_layer_norm = nn.LayerNorm(sizes.d_model), nn.LayerNorm(sizes.d_model)
        self.dropout = nn.Dropout(sizes.dropout)

    def forward(self, hidden_states: torch.Tensor, attention_mask: torch.Tensor | None) -> torch.Tensor:
        h = self.self_attn(self.self_attn_layer_norm(hidden_states), attention_mask=attention_mask)
        hidden_states = hidden_states + self.dropout(h)
        return hidden_states + self.dropout(self.ffn(self.ffn_layer_norm(hidden_states)))


class DecoderLayer(GradientCheckpointingLayer):
    """Pre-norm causal self-attention, cross-attention over the encoder, FFN."""

    def __init__(self, sizes: BlockSizes, layer_idx: int):
        super().__init__()
        self.self_attn = MultiHeadAttention.of(sizes, layer_idx)
        self.cross_attn = MultiHeadAttention.of(sizes, layer_idx)
        self.ffn = FeedForward.of(sizes)
        self.self_attn_layer_norm, self.cross_attn_layer_norm, self.ffn_layer_norm = (nn.LayerNorm(sizes.d_model) for _ in range(3))
        self.dropout = nn.Dropout(sizes.dropout)

    def forward(self, hidden_states, encoder_hidden_states, encoder_mask, self_mask, is_causal, cache=None):
        h = self.self_attn(
            self.self_attn_layer_norm(hidden_states), attention_mask=self_mask, is_causal=is_causal,
            past_key_values=cache,
        )  # fmt: skip
        hidden_states = hidden_states + self.dropout(h)
        h = self.cross_attn(
            self.cross_attn_layer_norm(hidden_states), key_value_states=encoder_hidden_states,
            attention_mask=encoder_mask, past_key_values=cache,
        )  # fmt: skip
        hidden_states = hidden_states + self.dropout(h)
        return hidden_states + self.dropout(self.ffn(self.ffn_layer_norm(hidden_states)))


def face_weights(counts: torch.Tensor) -> torch.Tensor:
    """Per-token weights of the frequency-aware diversity loss (FACE, Jiang et al. 2019; CEM's L_div; IMAGINE
    eqs. 20–22): relative frequencies RF_i, w_i = a·RF_i + 1 with a = −1 / max RF (the most frequent token gets
    0), normalised to mean 1. Without counts, or with all counts equal, every weight is 1."""
    total = counts.sum()
    if total <= 0:
        return torch.ones_like(counts, dtype=torch.float)
    relative = counts.float() / total
    weights = 1 - relative / relative.max()
    if weights.sum() <= 0:  # every token equally frequent
        return torch.ones_like(weights)
    return weights / weights.sum() * weights.numel()


def smoothed_nll(log_probs: torch.Tensor, labels: torch.Tensor, label_smoothing: float = 0.0) -> torch.Tensor:
    """Mean label-smoothed NLL of ``labels`` (..., -100 = ignored) under normalised ``log_probs`` (..., V): torch's
    ``F.cross_entropy(label_smoothing=ε)``, i.e. (1 − ε)·NLL + ε·mean over the whole vocabulary (the target
    included) of −log P. ``log_softmax`` of normalised log-probabilities is themselves, so cross-entropy on them is
    this loss (KEMP's copy-mixed distribution, CASE's vocabulary distribution). 0 when every label is ignored."""
    labels = labels.reshape(-1)
    total = F.cross_entropy(log_probs.reshape(-1, log_probs.shape[-1]).float(), labels, ignore_index=-100, reduction="sum",
                            label_smoothing=label_smoothing)  # fmt: skip
    return total / labels.ne(-100).sum().clamp_min(1)


def shift_tokens_right(labels: torch.Tensor, pad_token_id: int, decoder_start_token_id: int) -> torch.Tensor:
    """Teacher-forcing decoder inputs: [start] + labels[:-1], with -100 replaced by PAD."""
    shifted = labels.new_full(labels.shape, pad_token_id)
    shifted[:, 1:] = labels[:, :-1].masked_fill(labels[:, :-1] == -100, pad_token_id)
    shifted[:, 0] = decoder_start_token_id
    return shifted


def cached_length(past_key_values: Cache | None) -> int:
    """Decoder steps already in the cache (0 without one), as an int (a static cache reports a tensor)."""
    return int(past_key_values.get_seq_length()) if past_key_values is not None else 0


def causal_self_mask(target_length: int, past_key_values: Cache | None, device: torch.device) -> tuple[bool, torch.Tensor | None]:
    """``(is_causal, mask)`` for decoder self-attention over the cached + ``target_length`` new steps: SDPA's causal
    flag for a fresh prefix, else an explicit (T, keys) mask. A static cache's keys span its whole length
    (``generate(cache_implementation="static")``): its unfilled slots are masked too."""
    past = cached_length(past_key_values)
    self_cache = past_key_values.self_attention_cache if isinstance(past_key_values, EncoderDecoderCache) else past_key_values
    keys = int(self_cache.get_mask_sizes(target_length, 0)[0]) if self_cache is not None else target_length  # past + T, or capacity
    if keys == past + target_length and (past == 0 or target_length == 1):
        return past == 0 and target_length > 1, None
    steps = torch.arange(target_length, device=device)[:, None] + past
    return False, steps >= torch.arange(keys, device=device)[None, :]


def padding_mask(attention_mask: torch.Tensor | None) -> torch.Tensor | None:
    """(B, S) 0/1 mask → bool (B, 1, 1, S) for SDPA (True = attend)."""
    return None if attention_mask is None else attention_mask.bool()[:, None, None, :]


class TransformerEncoderStack(nn.Module):
    """``num_layers`` encoder layers of ``sizes`` over already-embedded inputs, then a final layer norm."""

    def __init__(self, sizes: BlockSizes, num_layers: int):
        super().__init__()
        self.layers = nn.ModuleList(EncoderLayer(sizes, i) for i in range(num_layers))
        self.layer_norm = nn.LayerNorm(sizes.d_model)

    def forward(self, inputs_embeds: torch.Tensor, attention_mask: torch.Tensor | None) -> torch.Tensor:
        mask, hidden_states = padding_mask(attention_mask), inputs_embeds
        for layer in self.layers:
            hidden_states = layer(hidden_states, mask)
        return self.layer_norm(hidden_states)  # (B, S, D)


class TransformerDecoderStack(nn.Module):
    """``num_layers`` decoder layers of ``sizes`` over already-embedded target prefixes, then a final layer norm."""

    def __init__(self, sizes: BlockSizes, num_layers: int):
        super().__init__()
        self.layers = nn.ModuleList(DecoderLayer(sizes, i) for i in range(num_layers))
        self.layer_norm = nn.LayerNorm(sizes.d_model)

    def forward(self, inputs_embeds, encoder_hidden_states, encoder_attention_mask, past_key_values=None):
        is_causal, self_mask = causal_self_mask(inputs_embeds.shape[1], past_key_values, inputs_embeds.device)
        encoder_mask, hidden_states = padding_mask(encoder_attention_mask), inputs_embeds
        for layer in self.layers:
            hidden_states = layer(hidden_states, encoder_hidden_states, encoder_mask, self_mask, is_causal, cache=past_key_values)
        return self.layer_norm(hidden_states)  # (B, T, D)


class NonReentrantCheckpointing:
    """transformers' gradient checkpointing, non-reentrant only: the blocks take ModelOutputs and tuples of tensors
    (KEMP's graph, CASE's encoder states, NEC's knowledge memory), whose gradients the reentrant variant would
    silently drop. Mixed into the models' ``PreTrainedModel`` bases."""

    def gradient_checkpointing_enable(self, gradient_checkpointing_kwargs: dict | None = None, **kwargs) -> None:
        if (gradient_checkpointing_kwargs or {}).get("use_reentrant"):
            raise ValueError(f"{type(self).__name__} supports gradient checkpointing with use_reentrant=False only (the default): "
                             "its blocks take tensors inside ModelOutputs, which the reentrant variant cannot backpropagate through")  # fmt: skip
        super().gradient_checkpointing_enable(gradient_checkpointing_kwargs, **kwargs)


def _refuse_unsupported_outputs(module: nn.Module, args, kwargs) -> None:
    """Forward pre-hook: attention maps and per-layer hidden states are not collected by these models, so asking
    for them is an error rather than silently returning none."""
    asked = [name for name in ("output_attentions", "output_hidden_states") if kwargs.get(name)]
    if asked:
        raise ValueError(f"{type(module).__name__} does not return {' or '.join(asked)}: call it without "
                         f"{', '.join(f'{name}=True' for name in asked)} (and leave them unset in the generation config)")  # fmt: skip


class UnsupportedOutputsCheck:
    """Mixed into the models' ``PreTrainedModel`` bases: ``output_attentions=True`` / ``output_hidden_states=True``
    raise a clear error (see :func:`_refuse_unsupported_outputs`)."""

    def post_init(self) -> None:
        super().post_init()
        self.register_forward_pre_hook(_refuse_unsupported_outputs, with_kwargs=True)


class RecoversLostTiedWeights:
    """Mixed into the models' ``PreTrainedModel`` bases. A checkpoint that lacks a shared weight and every weight tied
    to it (the word embedding, saved once): transformers would flag the source as loaded (the encoder and decoder share
    its module) and leave it on the meta device. Here it is initialised like a new weight, its tied copies follow it,
    and it is reported missing, as BART does."""

    def _lost_tie_sources(self, missing_keys) -> set[str]:
        tied = self.all_tied_weights_keys
        return {source for source in set(tied.values())
                if source in missing_keys and all(t in missing_keys for t, s in tied.items() if s == source)}  # fmt: skip

    def mark_tied_weights_as_initialized(self, loading_info) -> None:
        lost = self._lost_tie_sources(loading_info.missing_keys)
        super().mark_tied_weights_as_initialized(loading_info)
        for source in lost:  # not loaded: initialise it
            loading_info.missing_keys.add(source)
            parameter = self.get_parameter(source)
            if hasattr(parameter, "_is_hf_initialized"):
                del parameter._is_hf_initialized

    def tie_weights(self, missing_keys: set[str] | None = None, recompute_mapping: bool = True):
        lost = self._lost_tie_sources(missing_keys) if missing_keys is not None else set()
        if not lost:
            return super().tie_weights(missing_keys, recompute_mapping)
        followers = {target for target, source in self.all_tied_weights_keys.items() if source in lost}
        super().tie_weights(missing_keys - lost, recompute_mapping)  # each copy tied to its (initialised) source
        missing_keys -= followers  # the source alone stays reported


class EmpatheticPreTrainedModel(RecoversLostTiedWeights, NonReentrantCheckpointing, UnsupportedOutputsCheck, PreTrainedModel):
    """Base of the from-scratch models: normal(0, ``config.init_std``) weights, N(0, d^-0.5) word embeddings
    with a zero padding row, and the sinusoidal tables re-filled (non-persistent buffers, not restored by loading)."""

    base_model_prefix = "model"
    main_input_name = "input_ids"
    # every block subclasses GradientCheckpointingLayer; its cache (the ``cache`` keyword) is dropped under checkpointing
    supports_gradient_checkpointing = True
    _supports_sdpa = True
    # losses are means over the batch's tokens; Trainer must not rescale them by num_items_in_batch / world size
    accepts_loss_kwargs = False

    def _init_weights(self, module: nn.Module) -> None:
        super()._init_weights(module)
        if isinstance(module, nn.Linear) and getattr(self.config, "init_method", "normal") == "xavier_uniform":
            init.xavier_uniform_(module.weight)  # MoEL / KEMP main.py: every matrix Xavier-uniform
        if isinstance(module, ScaledWordEmbedding):
            init.normal_(module.weight, mean=0.0, std=module.embedding_dim**-0.5)
            if module.padding_idx is not None:
                init.zeros_(module.weight[module.padding_idx])
        if isinstance(module, SinusoidalPositions):
            init.copy_(module.signal, sinusoidal_positions(*module.signal.shape))
        if isinstance(getattr(module, "token_frequency", None), torch.Tensor):  # FACE / CEM counts start at zero
            init.zeros_(module.token_frequency)

    def resize_token_embeddings(self, new_num_tokens: int | None = None, pad_to_multiple_of: int | None = None, mean_resizing: bool = True):
        """Resize the word embedding and output layer (transformers), then every other vocabulary-sized part
        (:meth:`_resize_vocabulary_parts`)."""
        embeddings = super().resize_token_embeddings(new_num_tokens, pad_to_multiple_of, mean_resizing)
        self._resize_vocabulary_parts(embeddings.num_embeddings)
        return embeddings

    def _resize_vocabulary_parts(self, size: int) -> None:
        """The ``token_frequency`` counts (new words start at zero) and ``bow_head``'s last layer (CASE's η)."""
        frequency = getattr(self, "token_frequency", None)
        if isinstance(frequency, torch.Tensor) and frequency.shape[0] != size:
            resized = frequency.new_zeros(size)
            keep = min(size, frequency.shape[0])
            resized[:keep] = frequency[:keep]
            self.token_frequency = resized  # a registered buffer: assignment keeps it one
        bow = getattr(self, "bow_head", None)
        if bow is not None and bow[-1].out_features != size:
            bow[-1] = self._get_resized_lm_head(bow[-1], size, mean_resizing=False)


@dataclass
class EmpatheticEncoderOutput(ModelOutput):
    """What every encoder returns to ``generate`` (which expands it for beams)."""

    last_hidden_state: torch.FloatTensor | None = None  # (B, S, D)


@dataclass
class EmpatheticSeq2SeqModelOutput(ModelOutput):
    """Output of the bare encoder-decoders (``AutoModel``).

    The key/value cache is the field ``cache`` (transformers >= 5.24's name; 5.17–5.23 call it
    ``past_key_values``). The forwards take ``cache``; ``past_key_values`` is renamed to it
    (:data:`~.encoder_decoder.renamed_cache_argument`)."""

    last_hidden_state: torch.FloatTensor | None = None  # (B, T, D) decoder states
    cache: Cache | None = None
    encoder_last_hidden_state: torch.FloatTensor | None = None  # (B, S, D)


@dataclass
class EmpatheticSeq2SeqLMOutput(ModelOutput):
    """Output of every ``...ForConditionalGeneration``: ``loss`` is the paper's weighted sum and every field
    ending in ``_loss`` is one unweighted term of it (the trainer logs each)."""

    loss: torch.FloatTensor | None = None
    logits: torch.FloatTensor | None = None  # (B, T, V) log-space scores over the vocabulary
    emotion_logits: torch.FloatTensor | None = None  # (B, num_emotions)
    generation_loss: torch.FloatTensor | None = None
    emotion_loss: torch.FloatTensor | None = None
    cache: Cache | None = None  # the key/value cache (``past_key_values`` before transformers 5.24)
    encoder_last_hidden_state: torch.FloatTensor | None = None
