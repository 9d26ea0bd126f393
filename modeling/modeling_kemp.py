"""KEMP (Li et al., AAAI 2022): knowledge-bridged empathetic response generation.

(A) Emotional context graph: vertices = [CLS] + context words + ConceptNet concepts (built by the featurizer,
    which also gives each vertex its emotion intensity η of eq. 1); the edges are derived here from the vertex
    states and each concept's source word.
(B) Emotional context encoder: word + position + vertex-state embeddings (eq. 2), multi-head graph attention
    over neighbours (eqs. 3–4), transformer layers (eqs. 5–6), emotional signal perception (eqs. 7–10).
(C) Emotion-dependency decoder: e'_p as the first input, emotional features [g_s; c_e] (eqs. 11–14),
    emotional attention loss (eqs. 15–16), copying from graph vertices (eqs. 17–19); loss eq. 21.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from transformers.cache_utils import EncoderDecoderCache
from transformers.generation import GenerationMixin
from transformers.modeling_layers import GradientCheckpointingLayer

from .configuration_kemp import KempConfig
from .encoder_decoder import (
    EmpatheticEncoderDecoderModel,
    EmpatheticForConditionalGeneration,
    model_forward,
    teacher_forcing,
)
from .graphs import CONCEPT_STATE, emotional_context_graph
from .layers import (
    BlockSizes,
    EmpatheticEncoderOutput,
    EmpatheticPreTrainedModel,
    EmpatheticSeq2SeqLMOutput,
    EmpatheticSeq2SeqModelOutput,
    FeedForward,
    MultiHeadAttention,
    TransformerEncoderStack,
    WordEmbedder,
    cached_length,
    causal_self_mask,
    padding_mask,
    smoothed_nll,
)


@dataclass
class KempEncoderOutput(EmpatheticEncoderOutput):
    """The emotional context graph G = {ṽ_i} (``last_hidden_state``) and what the decoder needs from it."""

    vertex_mask: torch.Tensor | None = None  # (B, S) vertices the decoder attends (concepts dropped w/o ECE)
    vertex_ids: torch.LongTensor | None = None  # (B, S) word ids, the targets of copying (eq. 19)
    emotion_intensity: torch.FloatTensor | None = None  # (B, S) η(v_i), zero w/o ECE
    emotion_context: torch.FloatTensor | None = None  # (B, D) c_e of eq. 7
    emotion_logits: torch.FloatTensor | None = None  # (B, q) e_p of eq. 8


@dataclass
class KempSeq2SeqModelOutput(EmpatheticSeq2SeqModelOutput):
    graph_attention: torch.FloatTensor | None = None  # (B, T, S) a_i of eq. 15 (last decoder layer)


@dataclass
class KempSeq2SeqLMOutput(EmpatheticSeq2SeqLMOutput):
    """``logits`` are log P(y_j) of eq. 19 (vocabulary and copy distributions mixed)."""

    attention_loss: torch.FloatTensor | None = None  # L_att of eq. 16
    graph_attention: torch.FloatTensor | None = None  # (B, T, S) a_i of eq. 15
    copy_gate: torch.FloatTensor | None = None  # (B, T, 1) p_gen of eq. 18


class KempPreTrainedModel(EmpatheticPreTrainedModel):
    config_class = KempConfig
    config: KempConfig


class KempEncoder(WordEmbedder):
    """Emotional context encoder (phase B)."""

    def __init__(self, config: KempConfig, embed_tokens: nn.Embedding):
        super().__init__(config, embed_tokens)
        self.use_emotional_knowledge = config.use_emotional_knowledge
        self.embed_states = nn.Embedding(config.num_dialogue_states, config.d_model)
        sizes = BlockSizes.from_config(config)
        self.graph_attention = MultiHeadAttention.of(sizes)  # W_q, W_k, W_v of eqs. 3–4
        self.stack = TransformerEncoderStack(sizes, config.encoder_layers)  # eqs. 5–6
        self.emotion_head = nn.Linear(config.d_model, config.num_labels, bias=False)  # W_e of eq. 8
        self.classifier_dropout = nn.Dropout(config.classifier_dropout)

    def forward(
        self,
        input_ids: torch.LongTensor,  # (B, S) vertex word ids: [CLS] context words, then concepts
        attention_mask: torch.Tensor | None = None,  # (B, S)
        dialogue_state_ids: torch.LongTensor | None = None,  # (B, S) 0 speaker, 1 listener, 2 concept
        concept_sources: torch.LongTensor | None = None,  # (B, S) source-word vertex of each concept, else -1
        emotion_intensity: torch.FloatTensor | None = None,  # (B, S) η of eq. 1
        **kwargs,  # generate() also passes its output_*/return_dict flags
    ) -> KempEncoderOutput:
        attention_mask = torch.ones_like(input_ids) if attention_mask is None else attention_mask
        states = torch.zeros_like(input_ids) if dialogue_state_ids is None else dialogue_state_ids
        sources = torch.full_like(input_ids, -1) if concept_sources is None else concept_sources
        intensity = torch.zeros(input_ids.shape, device=input_ids.device) if emotion_intensity is None else emotion_intensity
        if not self.use_emotional_knowledge:  # w/o ECE: no concept vertices, no emotion intensities
            attention_mask = attention_mask * states.ne(CONCEPT_STATE)
            intensity = torch.zeros_like(intensity)
        vertices = self.embed(input_ids) + self.embed_states(states)  # eq. 2
        vertices = self.dropout(vertices)
        adjacency = emotional_context_graph(attention_mask, states, sources)
        vertices = vertices + self.graph_attention(vertices, attention_mask=adjacency[:, None])  # eq. 3
        graph = self.stack(vertices, attention_mask)  # eqs. 5–6: G = {ṽ_i}
        valid = attention_mask.bool()
        weights = intensity.float().masked_fill(~valid, float("-inf")).softmax(-1)  # exp(η_i) / Σ_j exp(η_j)
        emotion_context = torch.einsum("bs,bsd->bd", weights.to(graph.dtype), graph)  # c_e, eq. 7
        return KempEncoderOutput(
            last_hidden_state=graph,
            vertex_mask=valid,
            vertex_ids=input_ids,
            emotion_intensity=intensity,
            emotion_context=emotion_context,
            emotion_logits=self.emotion_head(self.classifier_dropout(emotion_context)),  # e_p, eq. 8
        )


class KempDecoderLayer(GradientCheckpointingLayer):
    """Masked self-attention, then the emotional cross-attention block of eqs. 11–14."""

    def __init__(self, config: KempConfig, layer_idx: int):
        super().__init__()
        sizes, d = BlockSizes.from_config(config), config.d_model
        self.self_attn = MultiHeadAttention.of(sizes, layer_idx)
        self.graph_attn = MultiHeadAttention.of(sizes, layer_idx)  # W_r (query), W_c (key), W_u (value)
        # [g_s; c_e] → d: the paper adds the 2d-dim c to the d-dim y_{j-1} in eq. 13, so it is projected
        self.emotional_features = nn.Linear(2 * d, d) if config.use_emotion_dependency else None
        self.ffn = FeedForward.of(sizes)
        self.self_attn_layer_norm, self.context_layer_norm, self.ffn_layer_norm = (nn.LayerNorm(d) for _ in range(3))
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, hidden_states, graph, graph_mask, emotion_context, self_mask, is_causal, cache=None):
        h = self.self_attn(
            self.self_attn_layer_norm(hidden_states), attention_mask=self_mask, is_causal=is_causal,
            past_key_values=cache,
        )  # fmt: skip
        y = hidden_states + self.dropout(h)
        g_s, weights = self.graph_attn(
            y, key_value_states=graph, attention_mask=graph_mask, past_key_values=cache, need_weights=True
        )  # eqs. 11–12
        c = g_s
        if self.emotional_features is not None:
            c = self.emotional_features(torch.cat([g_s, emotion_context[:, None].expand_as(g_s)], dim=-1))  # c = [g_s; c_e]
        s = self.context_layer_norm(y + self.dropout(c))  # eq. 13
        return self.ffn_layer_norm(s + self.dropout(self.ffn(s))), weights.mean(1)  # eq. 14; a_i of eq. 15


class KempDecoder(WordEmbedder):
    """Emotion-dependency decoder (phase C): y_0 = e'_p = W_z e_p + b_z, then the decoder layers."""

    def __init__(self, config: KempConfig, embed_tokens: nn.Embedding):
        super().__init__(config, embed_tokens)
        self.emotion_input = nn.Linear(config.num_labels, config.d_model) if config.use_emotion_dependency else None  # W_z, b_z
        self.layers = nn.ModuleList(KempDecoderLayer(config, i) for i in range(config.decoder_layers))

    def forward(self, input_ids, encoder_outputs: KempEncoderOutput, past_key_values=None):
        offset = cached_length(past_key_values)
        embeds = self.embed_tokens(input_ids)
        if self.emotion_input is not None and offset == 0:  # the start position takes y_0 = e'_p
            first = self.emotion_input(encoder_outputs.emotion_logits).to(embeds.dtype)
            embeds = torch.cat([first[:, None], embeds[:, 1:]], dim=1)
        hidden = self.dropout(embeds + self.embed_positions(input_ids.shape[1], offset))
        is_causal, self_mask = causal_self_mask(input_ids.shape[1], past_key_values, input_ids.device)
        graph_mask = padding_mask(encoder_outputs.vertex_mask)
        for layer in self.layers:
            hidden, weights = layer(
                hidden, encoder_outputs.last_hidden_state, graph_mask, encoder_outputs.emotion_context,
                self_mask, is_causal, cache=past_key_values,
            )  # fmt: skip
        return hidden, weights  # (B, T, D), (B, T, S) of the last layer


class KempModel(KempPreTrainedModel, EmpatheticEncoderDecoderModel):
    """Bare KEMP encoder-decoder (``AutoModel``): decoder states and the decoder's graph attention."""

    encoder_class, decoder_class, encoder_output_class = KempEncoder, KempDecoder, KempEncoderOutput
    context_description = "the emotional context graph's vertices"

    def model_output(self, decoded, cache, encoder_outputs) -> KempSeq2SeqModelOutput:
        hidden, weights = decoded
        return KempSeq2SeqModelOutput(last_hidden_state=hidden, cache=cache, encoder_last_hidden_state=encoder_outputs.last_hidden_state,
                                      graph_attention=weights)  # fmt: skip


class KempForConditionalGeneration(KempPreTrainedModel, EmpatheticForConditionalGeneration, GenerationMixin):
    """KEMP with the pointer-generator output of eqs. 17–19 and the multi-task loss of eq. 21."""

    bare_model_class = KempModel

    def __init__(self, config: KempConfig):
        super().__init__(config)  # lm_head: W_v, b_v of eq. 17
        self.copy_gate = nn.Linear(config.d_model, 1)  # W_g, b_g of eq. 18
        self.post_init()
        self.generation_config.max_new_tokens = 30  # "the maximum decoding step as 30"

    def lm_head_bias(self, config) -> bool:
        return True  # b_v of eq. 17

    def output_distribution(self, hidden: torch.Tensor, graph_attention: torch.Tensor, vertex_ids: torch.Tensor,
                            positions: torch.Tensor | None = None):  # fmt: skip
        """log P(y_j) of eq. 19 and the copy gate p_gen of eq. 18, in float32: (B, T, V) and (B, T, 1), or (N, V) and
        (N, 1) at the N ``positions`` of a (B, T) mask when given.

        Computed in log space without materialising the copy distribution over the vocabulary: every word is
        log p_gen + log P_V, except the graph's own words, whose copy mass Σ_{i: v_i = w} a_i is added.
        """
        same_word = vertex_ids[:, :, None].eq(vertex_ids[:, None, :])  # (B, S, S)
        copy_mass = graph_attention.float() @ same_word.float()  # (B, T, S): Σ_{i: v_i = v_k} a_i for each vertex k
        targets = vertex_ids[:, None, :].expand(-1, hidden.shape[1], -1)
        # a word repeated in the graph is written once per occurrence below; only its first occurrence carries the
        # gradient, so that the copy mass counts once in the backward pass too (as the officials' scatter_add)
        repeated = same_word.tril(-1).any(-1)[:, None, :].expand_as(targets)  # (B, T, S)
        if positions is not None:
            hidden, copy_mass, targets, repeated = hidden[positions], copy_mass[positions], targets[positions], repeated[positions]
        gate = self.copy_gate(hidden).float()  # eq. 18 (as a logit)
        log_probs = F.logsigmoid(gate) + self.lm_head(hidden).float().log_softmax(-1)  # log p_gen P_V, eq. 17
        mixed = torch.logaddexp(
            log_probs.gather(-1, targets), F.logsigmoid(-gate) + copy_mass.clamp_min(torch.finfo(copy_mass.dtype).tiny).log()
        )  # eq. 19 at the graph's words
        mixed = torch.where(repeated, mixed.detach(), mixed)
        return log_probs.scatter(-1, targets, mixed), torch.sigmoid(gate)

    @model_forward
    def forward(
        self,
        input_ids: torch.LongTensor | None = None,  # (B, S) vertices: [CLS] context words, concepts
        attention_mask: torch.Tensor | None = None,  # (B, S)
        dialogue_state_ids: torch.LongTensor | None = None,  # (B, S) 0 speaker, 1 listener, 2 concept
        concept_sources: torch.LongTensor | None = None,  # (B, S)
        emotion_intensity: torch.FloatTensor | None = None,  # (B, S)
        decoder_input_ids: torch.LongTensor | None = None,  # (B, T)
        encoder_outputs: KempEncoderOutput | None = None,
        cache: EncoderDecoderCache | None = None,
        labels: torch.LongTensor | None = None,  # (B, T) response ids + EOS, -100 = ignored
        emotion_labels: torch.LongTensor | None = None,  # (B,)
        use_cache: bool | None = None,
        **kwargs,
    ) -> KempSeq2SeqLMOutput:
        decoder_input_ids, use_cache = teacher_forcing(labels, decoder_input_ids, use_cache, self.config)
        encoder_outputs = self.encode(
            input_ids, encoder_outputs, attention_mask=attention_mask, dialogue_state_ids=dialogue_state_ids,
            concept_sources=concept_sources, emotion_intensity=emotion_intensity,
        )  # fmt: skip
        outputs = self.model(decoder_input_ids=decoder_input_ids, encoder_outputs=encoder_outputs, cache=cache, use_cache=use_cache, return_dict=True)
        attention = outputs.graph_attention
        emotion_logits = encoder_outputs.emotion_logits
        c = self.config
        losses = {}
        if labels is not None and self.training:
            # training reads eq. 19 at the response tokens only: the same loss without projecting padding (57 % of
            # a padded ED batch of 16); ``logits`` and ``copy_gate`` stay None
            steps = labels.ne(-100)
            log_probs, _ = self.output_distribution(outputs.last_hidden_state, attention, encoder_outputs.vertex_ids, steps)
            losses["generation_loss"] = smoothed_nll(log_probs, labels[steps], c.label_smoothing)  # eq. 20 over the response tokens
            logits = p_gen = None
        else:
            logits, p_gen = self.output_distribution(outputs.last_hidden_state, attention, encoder_outputs.vertex_ids)
        if labels is not None:
            steps = labels.ne(-100)
            if not self.training:  # no smoothing outside training
                nll = -logits.gather(-1, labels.clamp_min(0)[..., None]).squeeze(-1)  # eq. 20 per step
                losses["generation_loss"] = (nll * steps).sum() / steps.sum().clamp_min(1)
            if c.use_emotion_dependency:
                vertex_mask = encoder_outputs.vertex_mask.float()  # (B, S)
                squared = (encoder_outputs.emotion_intensity[:, None] - attention.float()).square()  # (η(v_i) − a_i)²
                per_step = (squared * vertex_mask[:, None]).sum(-1) / vertex_mask.sum(-1, keepdim=True)  # eq. 16
                losses["attention_loss"] = (per_step * steps).sum() / steps.sum().clamp_min(1)
        if emotion_labels is not None:
            losses["emotion_loss"] = F.cross_entropy(emotion_logits.float(), emotion_labels)  # eq. 10
        weights = {"emotion_loss": c.emotion_loss_weight, "generation_loss": c.generation_loss_weight, "attention_loss": c.attention_loss_weight}
        loss = sum(weights[name] * value for name, value in losses.items()) if losses else None  # eq. 21
        return KempSeq2SeqLMOutput(
            loss=loss,
            logits=logits,
            emotion_logits=emotion_logits,
            cache=outputs.cache,
            encoder_last_hidden_state=encoder_outputs.last_hidden_state,
            graph_attention=attention,
            copy_gate=p_gen,
            **losses,
        )


__all__ = ["KempForConditionalGeneration", "KempModel", "KempPreTrainedModel"]
