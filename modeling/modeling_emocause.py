"""Emotion reasoner + gated-attention response generator (Gao et al. 2021, "Improving Empathetic Response
Generation by Recognizing Emotion Cause in Conversations").

Emotion reasoner (§4.2): word embeddings (no positions) → a 1-layer 1-head transformer → the context emotion
from [CLS] (eq. 1) and a cause label per word (eq. 2); L_r of eq. 4.
Response generator (§4.3): encoder and decoder inputs are word + position + emotion embeddings of the
predicted emotion; each decoder layer adds a gated attention over the encoder on top of its cross-attention
(eq. 5), with soft gates g_i = P(c_i = 1) or hard gates c_i sampled by straight-through Gumbel-softmax;
L_ml = L_r + L_g (eq. 7) after a reasoner pre-training phase (set ``reasoner_pretraining`` on the model).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from transformers.cache_utils import EncoderDecoderCache
from transformers.generation import GenerationMixin
from transformers.modeling_layers import GradientCheckpointingLayer

from .configuration_emocause import EmoCauseConfig
from .encoder_decoder import (
    EmpatheticEncoderDecoderModel,
    EmpatheticForConditionalGeneration,
    model_forward,
    teacher_forcing,
)
from .layers import (
    BlockSizes,
    EmpatheticEncoderOutput,
    EmpatheticPreTrainedModel,
    EmpatheticSeq2SeqLMOutput,
    FeedForward,
    MultiHeadAttention,
    SinusoidalPositions,
    TransformerEncoderStack,
    WordEmbedder,
    cached_length,
    causal_self_mask,
    explicit_attention,
    padding_mask,
)


@dataclass
class EmoCauseEncoderOutput(EmpatheticEncoderOutput):
    """Encoder states H plus the reasoner's outputs the decoder and the losses need."""

    attention_mask: torch.Tensor | None = None  # (B, S)
    emotion_logits: torch.FloatTensor | None = None  # (B, q), eq. 1
    cause_logits: torch.FloatTensor | None = None  # (B, S, 2), eq. 2
    gates: torch.FloatTensor | None = None  # (B, S) g_i of eq. 5 ([CLS] always 1); None w/o cause
    emotion_ids: torch.LongTensor | None = None  # (B,) predicted emotion ε


@dataclass
class EmoCauseSeq2SeqLMOutput(EmpatheticSeq2SeqLMOutput):
    cause_loss: torch.FloatTensor | None = None  # word-level cause NLL of eq. 4
    cause_logits: torch.FloatTensor | None = None  # (B, S, 2)


class EmoCausePreTrainedModel(EmpatheticPreTrainedModel):
    config_class = EmoCauseConfig
    config: EmoCauseConfig


class EmotionReasoner(nn.Module):
    """Context emotion prediction (eq. 1) and word-level emotion cause detection (eq. 2)."""

    def __init__(self, config: EmoCauseConfig, embed_tokens: nn.Embedding):
        super().__init__()
        self.embed_tokens = embed_tokens
        sizes = BlockSizes.from_config(config, num_heads=config.reasoner_heads, attention_dim=config.d_model, ffn_dim=config.reasoner_ffn_dim)
        self.stack = TransformerEncoderStack(sizes, config.reasoner_layers)
        self.emotion_head = nn.Linear(config.d_model, config.num_labels)  # W_e, b_e of eq. 1
        self.cause_head = nn.Linear(config.d_model, 2)  # W_c, b_c of eq. 2

    def forward(self, input_ids: torch.LongTensor, attention_mask: torch.Tensor):
        v = self.stack(self.embed_tokens(input_ids), attention_mask)  # no position embedding (Appendix A)
        return self.emotion_head(v[:, 0]), self.cause_head(v)  # eq. 1 from v_x0 ([CLS]); eq. 2 per word


class EmoCauseEncoder(nn.Module):
    """Emotion reasoner, then the generator's encoder over word + position + emotion embeddings (not a :class:`WordEmbedder`:
    its reasoner is registered before the word embedding, an order its checkpoints' state dicts keep)."""

    def __init__(self, config: EmoCauseConfig, embed_tokens: nn.Embedding, embed_emotions: nn.Embedding | None):
        super().__init__()
        self.config = config
        self.reasoner = EmotionReasoner(config, embed_tokens)
        self.embed_tokens, self.embed_emotions = embed_tokens, embed_emotions
        self.embed_positions = SinusoidalPositions(config.max_position_embeddings, config.d_model)
        self.dropout = nn.Dropout(config.embedding_dropout)
        self.stack = TransformerEncoderStack(BlockSizes.from_config(config), config.encoder_layers)
        self.reasoner_frozen = False  # set by the ForConditionalGeneration model for "w/o multi-task"

    def gates(self, cause_logits: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """g_i of eq. 5: P(c_i = 1) (soft), or c_i (hard: straight-through Gumbel-softmax sample in training,
        the most likely label otherwise). [CLS] is always selected, padding never."""
        if self.config.gating == "soft":
            g = cause_logits.float().softmax(-1)[..., 1]
        elif self.training:
            g = F.gumbel_softmax(cause_logits.float(), tau=self.config.gumbel_temperature, hard=True)[..., 1]
        else:
            g = cause_logits.argmax(-1).float()
        g = torch.cat([torch.ones_like(g[:, :1]), g[:, 1:]], dim=1)
        return g * attention_mask.float()

    def forward(
        self,
        input_ids: torch.LongTensor,  # (B, S) "[CLS] context" word ids
        attention_mask: torch.Tensor | None = None,  # (B, S)
        **kwargs,  # generate() also passes its output_*/return_dict flags
    ) -> EmoCauseEncoderOutput:
        attention_mask = torch.ones_like(input_ids) if attention_mask is None else attention_mask
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.reasoner_frozen):
            emotion_logits, cause_logits = self.reasoner(input_ids, attention_mask)
        emotion_ids = emotion_logits.argmax(-1)  # the predicted context emotion ε
        embeds = self.embed_tokens(input_ids) + self.embed_positions(input_ids.shape[1])
        if self.embed_emotions is not None:
            embeds = embeds + self.embed_emotions(emotion_ids)[:, None]  # E_ε
        return EmoCauseEncoderOutput(
            last_hidden_state=self.stack(self.dropout(embeds), attention_mask),
            attention_mask=attention_mask,
            emotion_logits=emotion_logits,
            cause_logits=cause_logits,
            gates=self.gates(cause_logits, attention_mask) if self.config.use_cause_gating else None,
            emotion_ids=emotion_ids,
        )


class GatedAttention(nn.Module):
    """The gated attention layer of eq. 5: its queries come from the cross-attention output, its keys and values
    are the encoder states H as the layer's cross-attention projected (and cached) them."""

    def __init__(self, sizes: BlockSizes):
        super().__init__()
        self.num_heads, self.dropout = sizes.num_heads, sizes.attention_dropout
        self.q_proj = nn.Linear(sizes.d_model, sizes.attention_dim, bias=False)
        self.out_proj = nn.Linear(sizes.attention_dim, sizes.d_model, bias=False)

    def forward(self, hidden_states, key, value, attention_mask, gates):
        query = self.q_proj(hidden_states).view(*hidden_states.shape[:2], self.num_heads, -1).transpose(1, 2)
        out, _ = explicit_attention(query, key, value, attention_mask, self.dropout if self.training else 0.0, gates)
        return self.out_proj(out.transpose(1, 2).reshape(*hidden_states.shape[:2], -1))


class EmoCauseDecoderLayer(GradientCheckpointingLayer):
    """Pre-norm causal self-attention, cross-attention, gated attention over the encoder (eq. 5), FFN."""

    def __init__(self, config: EmoCauseConfig, layer_idx: int):
        super().__init__()
        sizes = BlockSizes.from_config(config)
        self.self_attn = MultiHeadAttention.of(sizes, layer_idx)
        self.cross_attn = MultiHeadAttention.of(sizes, layer_idx)
        self.gated_attn = GatedAttention(sizes) if config.use_cause_gating else None
        self.ffn = FeedForward.of(sizes)
        self.norms = nn.ModuleList(nn.LayerNorm(config.d_model) for _ in range(4 if config.use_cause_gating else 3))
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, hidden, encoder_hidden, encoder_mask, gates, self_mask, is_causal, cache=None):
        h = self.self_attn(self.norms[0](hidden), attention_mask=self_mask, is_causal=is_causal, past_key_values=cache)
        hidden = hidden + self.dropout(h)
        h, (key, value) = self.cross_attn(
            self.norms[1](hidden), key_value_states=encoder_hidden, attention_mask=encoder_mask,
            past_key_values=cache, return_key_value=True,
        )  # fmt: skip
        hidden = hidden + self.dropout(h)
        if self.gated_attn is not None:  # queries from the cross-attention output, keys/values from H (eq. 5)
            hidden = hidden + self.dropout(self.gated_attn(self.norms[2](hidden), key, value, encoder_mask, gates))
        return hidden + self.dropout(self.ffn(self.norms[-1](hidden)))


class EmoCauseDecoder(WordEmbedder):
    def __init__(self, config: EmoCauseConfig, embed_tokens: nn.Embedding, embed_emotions: nn.Embedding | None):
        super().__init__(config, embed_tokens)
        self.embed_emotions = embed_emotions
        self.layers = nn.ModuleList(EmoCauseDecoderLayer(config, i) for i in range(config.decoder_layers))
        self.layer_norm = nn.LayerNorm(config.d_model)

    def forward(self, input_ids, encoder_outputs: EmoCauseEncoderOutput, past_key_values=None):
        offset = cached_length(past_key_values)
        embeds = self.embed(input_ids, offset)
        if self.embed_emotions is not None:
            embeds = embeds + self.embed_emotions(encoder_outputs.emotion_ids)[:, None]  # E_ε
        hidden = self.dropout(embeds)
        is_causal, self_mask = causal_self_mask(input_ids.shape[1], past_key_values, input_ids.device)
        encoder_mask = padding_mask(encoder_outputs.attention_mask)
        for layer in self.layers:
            hidden = layer(
                hidden, encoder_outputs.last_hidden_state, encoder_mask, encoder_outputs.gates, self_mask, is_causal,
                cache=past_key_values,
            )  # fmt: skip
        return self.layer_norm(hidden)


class EmoCauseModel(EmoCausePreTrainedModel, EmpatheticEncoderDecoderModel):
    """Bare reasoner + generator (``AutoModel``): decoder hidden states."""

    encoder_output_class = EmoCauseEncoderOutput

    def build_encoder_decoder(self, config: EmoCauseConfig) -> None:
        self.embed_emotions = nn.Embedding(config.num_labels, config.d_model) if config.use_emotion_embedding else None
        self.encoder = EmoCauseEncoder(config, self.shared, self.embed_emotions)
        self.decoder = EmoCauseDecoder(config, self.shared, self.embed_emotions)
        # one word embedding (reasoner, encoder, decoder) and one emotion embedding E_ε (encoder, decoder)
        self._tied_weights_keys = {
            f"{name}.weight": "shared.weight" for name in ("encoder.embed_tokens", "encoder.reasoner.embed_tokens", "decoder.embed_tokens")
        }
        if self.embed_emotions is not None:
            self._tied_weights_keys |= {f"{part}.embed_emotions.weight": "embed_emotions.weight" for part in ("encoder", "decoder")}

    def set_input_embeddings(self, value: nn.Embedding) -> None:
        self.shared = self.encoder.embed_tokens = self.encoder.reasoner.embed_tokens = self.decoder.embed_tokens = value


class EmoCauseForConditionalGeneration(EmoCausePreTrainedModel, EmpatheticForConditionalGeneration, GenerationMixin):
    """Reasoner + generator with the LM head; ``reasoner_pretraining = True`` trains the reasoner alone (L_r)."""

    bare_model_class = EmoCauseModel

    def __init__(self, config: EmoCauseConfig):
        super().__init__(config)
        self.reasoner_pretraining = False  # runtime phase flag (empathetic_models.training.callbacks sets it), not configuration
        self.post_init()
        self.generation_config.update(max_new_tokens=30, do_sample=True, top_k=3)  # top-k (k = 3) sampling

    def reasoner_losses(self, emotion_logits, cause_logits, emotion_labels=None, cause_labels=None) -> dict:
        """The two terms of L_r (eq. 4): emotion NLL, and the per-word cause NLL averaged over labelled words."""
        losses = {}
        if emotion_labels is not None:
            losses["emotion_loss"] = F.cross_entropy(emotion_logits.float(), emotion_labels)
        if cause_labels is not None:
            losses["cause_loss"] = F.cross_entropy(cause_logits.flatten(0, 1).float(), cause_labels.flatten(), ignore_index=-100)
        return losses

    @model_forward
    def forward(
        self,
        input_ids: torch.LongTensor | None = None,  # (B, S) "[CLS] context" word ids
        attention_mask: torch.Tensor | None = None,  # (B, S)
        decoder_input_ids: torch.LongTensor | None = None,  # (B, T)
        encoder_outputs: EmoCauseEncoderOutput | None = None,
        cache: EncoderDecoderCache | None = None,
        labels: torch.LongTensor | None = None,  # (B, T) response ids + EOS, -100 = ignored
        emotion_labels: torch.LongTensor | None = None,  # (B,)
        cause_labels: torch.LongTensor | None = None,  # (B, S) word-level cause labels, -100 = padding
        use_cache: bool | None = None,
        **kwargs,
    ) -> EmoCauseSeq2SeqLMOutput:
        encoder = self.model.encoder
        encoder.reasoner_frozen = not self.config.multitask and not self.reasoner_pretraining
        if self.training and self.reasoner_pretraining:  # phase 1: the reasoner alone, L_r
            emotion_logits, cause_logits = encoder.reasoner(input_ids, attention_mask if attention_mask is not None else torch.ones_like(input_ids))
            losses = self.reasoner_losses(emotion_logits, cause_logits, emotion_labels, cause_labels)
            return EmoCauseSeq2SeqLMOutput(loss=sum(losses.values()), emotion_logits=emotion_logits, cause_logits=cause_logits, **losses)

        decoder_input_ids, use_cache = teacher_forcing(labels, decoder_input_ids, use_cache, self.config)
        encoder_outputs = self.encode(input_ids, encoder_outputs, attention_mask=attention_mask)
        outputs = self.model(decoder_input_ids=decoder_input_ids, encoder_outputs=encoder_outputs, cache=cache, use_cache=use_cache, return_dict=True)
        logits = self.lm_head(outputs.last_hidden_state)
        losses = {}
        if labels is not None:
            smoothing = self.config.label_smoothing if self.training else 0.0
            losses["generation_loss"] = F.cross_entropy(logits.flatten(0, 1).float(), labels.flatten(), label_smoothing=smoothing)  # L_g, eq. 6
        if self.config.multitask or not self.training:
            losses.update(self.reasoner_losses(encoder_outputs.emotion_logits, encoder_outputs.cause_logits, emotion_labels, cause_labels))
        counted = losses if self.config.multitask else {k: v for k, v in losses.items() if k == "generation_loss"}
        return EmoCauseSeq2SeqLMOutput(
            loss=sum(counted.values()) if counted else None,  # L_ml = L_r + L_g (eq. 7)
            logits=logits,
            emotion_logits=encoder_outputs.emotion_logits,
            cause_logits=encoder_outputs.cause_logits,
            cache=outputs.cache,
            encoder_last_hidden_state=encoder_outputs.last_hidden_state,
            **losses,
        )


__all__ = ["EmoCauseForConditionalGeneration", "EmoCauseModel", "EmoCausePreTrainedModel"]
