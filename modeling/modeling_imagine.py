"""IMAGINE (imagine.txt): empathetic responses from emotion causes, communication mechanisms (CM) and
commonsense knowledge.

(1) Emotion perception on the context S (eqs. 1–3) and cause extraction: the cause sequence C (the context
    utterances a cause detector flags) with word + position + dialogue-state embeddings (eq. 4), Cause-Encoder
    (eq. 5), h_c = H_C[0].
(2) Dialogue reaction: one d-dim vector e_cm_i = W_cm_i h_c + b per mechanism (eq. 6), classified yes/no
    (eqs. 7–8), ê_cm = Σ_i P̂_cm_i(yes) · e_cm_i (eq. 9).
(3) Experience projection: Affect / Behaviour / Physical / Events inference sequences through the
    Knowledge-Encoder (eq. 10); first position (eq. 11), mean for Affect (eq. 12); knowledge refinement
    U = H_C ⊕ h per token (eq. 13), Refine-Encoder 2d → d (eq. 14), H̃ = H^ref ⊕ H^ref_Affect (eq. 15),
    Ĥ = MLP(σ(H̃) · H̃) (eq. 16), ĤC = Ĥ_Behav ⊕ Ĥ_Phys ⊕ Ĥ_Events ⊕ ê_cm (eq. 17), |L| × 4d.
(4) Verbal expression: y*_0 = ê_emo projected to d, then the response decoder cross-attending ĤC (eq. 18),
    which a linear layer brings from 4d to the decoder's width d; L = λ1 L_gen + λ2 L_emo + λ3 L_cm + λ4 L_div
    (eqs. 19–23, L_div = FACE).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from transformers import initialization as init
from transformers.cache_utils import EncoderDecoderCache
from transformers.generation import GenerationMixin

from .configuration_imagine import ImagineConfig
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
    TransformerDecoderStack,
    TransformerEncoderStack,
    WordEmbedder,
    cached_length,
    face_weights,
)

KNOWLEDGE_TYPES = ("Affect", "Behaviour", "Physical", "Events")  # rows of ``knowledge_ids``; Affect has no [CLS]


@dataclass
class ImagineEncoderOutput(EmpatheticEncoderOutput):
    """``last_hidden_state``: ĤC (eq. 17) brought to the decoder's width; ``cause_mask`` its padding mask."""

    cause_mask: torch.Tensor | None = None  # (B, L)
    refined_causes: torch.FloatTensor | None = None  # (B, L, 4d) ĤC of eq. 17
    emotion_logits: torch.FloatTensor | None = None  # (B, q) ê_emo of eq. 1
    mechanism_logits: torch.FloatTensor | None = None  # (B, 3, 2) of eq. 7


@dataclass
class ImagineSeq2SeqLMOutput(EmpatheticSeq2SeqLMOutput):
    mechanism_loss: torch.FloatTensor | None = None  # L_cm, eq. 8
    diversity_loss: torch.FloatTensor | None = None  # L_div, eqs. 20–22
    mechanism_logits: torch.FloatTensor | None = None


class ImaginePreTrainedModel(EmpatheticPreTrainedModel):
    config_class = ImagineConfig
    config: ImagineConfig

    def _init_weights(self, module: nn.Module) -> None:
        super()._init_weights(module)
        if isinstance(module, ImagineEncoder):
            init.normal_(module.mechanism_heads, std=self.config.init_std)


class ImagineEncoder(WordEmbedder):
    def __init__(self, config: ImagineConfig, embed_tokens: nn.Embedding):
        super().__init__(config, embed_tokens)
        d, sizes, layers = config.d_model, BlockSizes.from_config(config), config.encoder_layers
        self.config = config
        self.embed_states = nn.Embedding(config.num_dialogue_states, d)  # E_S of eq. 4
        self.context_encoder = TransformerEncoderStack(sizes, layers)  # H_S for emotion perception
        self.emotion_head = nn.Linear(d, config.num_labels)  # W_e, b_e of eq. 1
        self.cause_encoder = TransformerEncoderStack(sizes, layers)  # eq. 5
        self.mechanism_vectors = nn.Linear(d, config.num_mechanisms * d)  # W_cm_i, b_cm_i of eq. 6 (one d-dim e_cm_i each)
        self.mechanism_heads = nn.Parameter(torch.empty(config.num_mechanisms, d, 2))  # e_cm_i → no / yes, eq. 7
        self.knowledge_encoder = TransformerEncoderStack(sizes, layers)  # eq. 10
        self.refine_input = nn.Linear(2 * d, d)  # U (2d) → d
        self.refine_encoder = TransformerEncoderStack(sizes, layers)  # eq. 14
        self.highlight = nn.Linear(2 * d, d)  # MLP of eq. 16
        self.memory = nn.Linear(4 * d, d)  # ĤC (4d) → the decoder's width

    def embed_with_states(self, input_ids, state_ids=None):
        """Word + position (+ dialogue-state, eq. 4) embeddings, after dropout."""
        embeds = self.embed(input_ids)
        if state_ids is not None:
            embeds = embeds + self.embed_states(state_ids)
        return self.dropout(embeds)

    def forward(
        self,
        input_ids: torch.LongTensor,  # (B, S) [CLS] + the context S
        attention_mask: torch.Tensor | None = None,
        dialogue_state_ids: torch.LongTensor | None = None,
        cause_input_ids: torch.LongTensor | None = None,  # (B, L) [CLS] + the cause utterances C
        cause_attention_mask: torch.Tensor | None = None,
        cause_state_ids: torch.LongTensor | None = None,
        knowledge_ids: torch.LongTensor | None = None,  # (B, 4, K) S_Affect, S_Behav, S_Phys, S_Events
        knowledge_attention_mask: torch.Tensor | None = None,  # (B, 4, K)
        **kwargs,
    ) -> ImagineEncoderOutput:
        c, d = self.config, self.config.d_model
        mask = torch.ones_like(input_ids) if attention_mask is None else attention_mask
        states = torch.zeros_like(input_ids) if dialogue_state_ids is None else dialogue_state_ids
        h_s = self.context_encoder(self.embed_with_states(input_ids, states), mask)
        emotion_logits = self.emotion_head(h_s[:, 0])  # ê_emo, eq. 1

        if c.use_causes and cause_input_ids is not None:  # eqs. 4–5; w/o cause (or no C given): C = S
            cause_mask = torch.ones_like(cause_input_ids) if cause_attention_mask is None else cause_attention_mask
            cause_states = torch.zeros_like(cause_input_ids) if cause_state_ids is None else cause_state_ids
            h_c = self.cause_encoder(self.embed_with_states(cause_input_ids, cause_states), cause_mask)
        else:
            h_c, cause_mask = self.cause_encoder(self.embed_with_states(input_ids, states), mask), mask
        b, length = h_c.shape[:2]

        mechanism_logits, e_cm = None, h_c.new_zeros(b, d)
        if c.use_mechanisms:
            vectors = self.mechanism_vectors(h_c[:, 0]).view(b, c.num_mechanisms, d)  # e_cm_i, eq. 6
            mechanism_logits = torch.einsum("bmd,mdk->bmk", vectors, self.mechanism_heads)  # eq. 7 (before softmax)
            e_cm = (mechanism_logits.float().softmax(-1)[..., 1:].to(vectors.dtype) * vectors).sum(1)  # ê_cm, eq. 9

        if c.use_knowledge and knowledge_ids is not None:
            k_mask = knowledge_ids.ne(self.embed_tokens.padding_idx) if knowledge_attention_mask is None else knowledge_attention_mask
            width = knowledge_ids.shape[-1]
            h_k = self.knowledge_encoder(self.embed_with_states(knowledge_ids.reshape(-1, width)), k_mask.reshape(-1, width)).view(b, 4, width, d)
            weights = k_mask[:, 0, :, None].to(h_k.dtype)
            affect = (h_k[:, 0] * weights).sum(1) / weights.sum(1).clamp_min(1)  # eq. 12: mean over S_Affect
            summaries = torch.stack([affect, h_k[:, 1, 0], h_k[:, 2, 0], h_k[:, 3, 0]], dim=1)  # eq. 11: first position
            fused = torch.cat([h_c[:, None].expand(b, 4, length, d), summaries[:, :, None].expand(b, 4, length, d)], dim=-1)  # U, eq. 13
            refined = self.refine_encoder(self.refine_input(fused.reshape(b * 4, length, 2 * d)), cause_mask.repeat_interleave(4, 0))
            refined = refined.view(b, 4, length, d)  # H^ref for Affect, Behav, Phys, Events (eq. 14)
            joined = torch.cat([refined[:, 1:], refined[:, :1].expand(b, 3, length, d)], dim=-1)  # H̃, eq. 15
            highlighted = F.relu(self.highlight(torch.sigmoid(joined) * joined))  # Ĥ, eq. 16
        else:  # w/o know (or no knowledge given): the cause states stand in for every refined representation
            highlighted = h_c[:, None].expand(b, 3, length, d)
        refined_causes = torch.cat([highlighted[:, 0], highlighted[:, 1], highlighted[:, 2], e_cm[:, None].expand(b, length, d)], dim=-1)  # eq. 17
        return ImagineEncoderOutput(
            last_hidden_state=self.memory(refined_causes),
            cause_mask=cause_mask,
            refined_causes=refined_causes,
            emotion_logits=emotion_logits,
            mechanism_logits=mechanism_logits,
        )


class ImagineDecoder(WordEmbedder):
    """Response decoder (eq. 18): y*_0 = ê_emo projected to d, then the tokens; cross-attention to ĤC."""

    def __init__(self, config: ImagineConfig, embed_tokens: nn.Embedding):
        super().__init__(config, embed_tokens)
        self.emotion_input = nn.Linear(config.num_labels, config.d_model)
        self.stack = TransformerDecoderStack(BlockSizes.from_config(config), config.decoder_layers)

    def forward(self, input_ids, encoder_outputs: ImagineEncoderOutput, past_key_values=None):
        offset = cached_length(past_key_values)
        embeds = self.embed_tokens(input_ids)
        if offset == 0:  # the start position takes y*_0 = ê_emo
            first = self.emotion_input(encoder_outputs.emotion_logits).to(embeds.dtype)
            embeds = torch.cat([first[:, None], embeds[:, 1:]], dim=1)
        hidden = self.dropout(embeds + self.embed_positions(input_ids.shape[1], offset))
        return self.stack(hidden, encoder_outputs.last_hidden_state, encoder_outputs.cause_mask, past_key_values)


class ImagineModel(ImaginePreTrainedModel, EmpatheticEncoderDecoderModel):
    """Bare IMAGINE encoder-decoder (``AutoModel``)."""

    encoder_class, decoder_class, encoder_output_class = ImagineEncoder, ImagineDecoder, ImagineEncoderOutput
    context_description = "the context S"


ENCODER_INPUTS = (
    "attention_mask", "dialogue_state_ids", "cause_input_ids", "cause_attention_mask", "cause_state_ids", "knowledge_ids",
    "knowledge_attention_mask",
)  # fmt: skip


class ImagineForConditionalGeneration(ImaginePreTrainedModel, EmpatheticForConditionalGeneration, GenerationMixin):
    """IMAGINE with eq. 23: L = λ1 L_gen + λ2 L_emo + λ3 L_cm + λ4 L_div. ``token_frequency`` holds FACE's counts
    (of predictions or targets, ``config.face_counts``), summed over processes and saved with the weights."""

    bare_model_class = ImagineModel

    def __init__(self, config: ImagineConfig):
        super().__init__(config)
        self.register_buffer("token_frequency", torch.zeros(config.vocab_size))
        self.post_init()
        self.generation_config.max_new_tokens = 30  # "30 decoding steps" (App. B)

    def count_tokens(self, log_probs: torch.Tensor, labels: torch.Tensor) -> None:
        """Add this batch's counts (eq. 20's FQ) to ``token_frequency`` before weighting it (FACE re-weights per batch)."""
        steps = labels.ne(-100)
        tokens = log_probs.argmax(-1)[steps] if self.config.face_counts == "predictions" else labels[steps]
        counts = torch.bincount(tokens, minlength=self.config.vocab_size).to(self.token_frequency.dtype)
        counts[self.config.eos_token_id] = 0
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            torch.distributed.all_reduce(counts)
        self.token_frequency += counts

    @model_forward
    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        decoder_input_ids: torch.LongTensor | None = None,
        encoder_outputs: ImagineEncoderOutput | None = None,
        cache: EncoderDecoderCache | None = None,
        labels: torch.LongTensor | None = None,
        emotion_labels: torch.LongTensor | None = None,
        mechanism_labels: torch.LongTensor | None = None,  # (B, 3) er, ip, ex ∈ {0, 1}
        use_cache: bool | None = None,
        **kwargs,  # the encoder's inputs (see ImagineEncoder.forward)
    ) -> ImagineSeq2SeqLMOutput:
        decoder_input_ids, use_cache = teacher_forcing(labels, decoder_input_ids, use_cache, self.config)
        encoder_outputs = self.encode(input_ids, encoder_outputs, **{k: v for k, v in kwargs.items() if k in ENCODER_INPUTS})
        outputs = self.model(decoder_input_ids=decoder_input_ids, encoder_outputs=encoder_outputs, cache=cache, use_cache=use_cache, return_dict=True)
        log_probs = self.lm_head(outputs.last_hidden_state).float().log_softmax(-1)
        c, losses = self.config, {}
        if labels is not None:
            steps = labels.ne(-100)
            nll = -log_probs.gather(-1, labels.clamp_min(0)[..., None]).squeeze(-1)
            losses["generation_loss"] = (nll * steps).sum() / steps.sum().clamp_min(1)  # eq. 19
            if c.diversity_loss_weight:
                if self.training:
                    self.count_tokens(log_probs, labels)
                weights = face_weights(self.token_frequency)[labels.clamp_min(0)]  # eqs. 20–21
                losses["diversity_loss"] = (weights * nll * steps).sum() / steps.sum().clamp_min(1)  # eq. 22
        if emotion_labels is not None:
            losses["emotion_loss"] = F.cross_entropy(encoder_outputs.emotion_logits.float(), emotion_labels)  # eq. 3
        if mechanism_labels is not None and encoder_outputs.mechanism_logits is not None:
            logits = encoder_outputs.mechanism_logits.float()
            losses["mechanism_loss"] = F.cross_entropy(logits.reshape(-1, 2), mechanism_labels.reshape(-1), reduction="sum") / logits.shape[0]  # eq. 8
        weights = {"generation_loss": c.generation_loss_weight, "emotion_loss": c.emotion_loss_weight,
                   "mechanism_loss": c.mechanism_loss_weight, "diversity_loss": c.diversity_loss_weight}  # fmt: skip
        loss = sum(weights[name] * value for name, value in losses.items()) if losses else None  # eq. 23
        return ImagineSeq2SeqLMOutput(
            loss=loss,
            logits=log_probs,
            emotion_logits=encoder_outputs.emotion_logits,
            mechanism_logits=encoder_outputs.mechanism_logits,
            cache=outputs.cache,
            encoder_last_hidden_state=encoder_outputs.last_hidden_state,
            **losses,
        )


__all__ = ["ImagineForConditionalGeneration", "ImagineModel", "ImaginePreTrainedModel"]
