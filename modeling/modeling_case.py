"""CASE (Zhou et al., ACL 2023): aligning coarse-to-fine cognition and affection (case.txt).

(1) Graph encoding (§3.1): the commonsense cognition graph G_CS (u_0 = x_N, its sub-utterances and their
    xIntent/xNeed/xWant/xEffect inferences; vertices initialised by the cognition encoder's [CLS], encoded by
    the Relation-Enhanced Graph Transformer, eqs. 1–2) and the emotional concept graph G_EC ([CLS] + context
    words + ConceptNet concepts; vanilla graph transformer, emotion intensity superimposed).
(2) Coarse-to-fine alignment (§3.2): context encoder → S_X, s_X; knowledge discernment priors (eqs. 3–4) and
    posteriors from the response (5–6), L_KL (7), L_BOW (8), L_coarse (9–10); reactions K^xReact_i → er_i and
    L_fine (11–12); L_align (13); emotion from r_aff (14–17).
(3) Empathy-aware decoder (§3.3): S'_X (18); each layer attends K_CS and K_EC between its self-attention and
    its attention to S'_X; L_gen (19); L = γ1 L_align + γ2 L_emo + γ3 L_gen + γ4 L_div (CEM's diversity loss).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from transformers.cache_utils import EncoderDecoderCache
from transformers.generation import GenerationMixin
from transformers.modeling_layers import GradientCheckpointingLayer

from .configuration_case import CaseConfig
from .encoder_decoder import (
    EmpatheticEncoderDecoderModel,
    EmpatheticForConditionalGeneration,
    model_forward,
    teacher_forcing,
)
from .graphs import (
    CONCEPT_STATE,
    KNOWLEDGE,
    NUM_COGNITION_EDGE_RELATIONS,
    GraphTransformerLayer,
    cognition_graph,
    emotional_context_graph,
)
from .layers import (
    BlockSizes,
    EmpatheticEncoderOutput,
    EmpatheticPreTrainedModel,
    EmpatheticSeq2SeqLMOutput,
    FeedForward,
    MultiHeadAttention,
    TransformerEncoderStack,
    WordEmbedder,
    cached_length,
    causal_self_mask,
    face_weights,
    padding_mask,
    smoothed_nll,
)

LISTENER_STATE = 1


def masked_softmax(scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Softmax over the last dim restricted to ``mask``; all-zero where a row has no valid entry."""
    probs = scores.float().masked_fill(~mask, float("-inf")).softmax(-1)
    return torch.where(mask.any(-1, keepdim=True), probs, torch.zeros_like(probs))


def knowledge_kl(posterior: torch.Tensor, prior: torch.Tensor) -> torch.Tensor:
    """L_KL (eq. 7): Σ_i P(·|Y) log P(·|Y) / P(·|X), mean over the batch. As in PostKS, whose knowledge
    discernment eqs. 3–8 follow, the posterior is the target: L_KL trains the prior, L_BOW the posterior."""
    posterior = posterior.detach()
    return (posterior * (posterior.clamp_min(1e-12).log() - prior.clamp_min(1e-12).log())).sum(-1).mean()


def mutual_information_loss(scores: torch.Tensor, positives: torch.Tensor) -> torch.Tensor:
    """−[2 f(a, b) − log Σ_b̃ exp f(a, b̃) − log Σ_ã exp f(ã, b)] averaged over the positive pairs (eqs. 9, 11):
    ``scores`` (A, B') = f for every pair, ``positives`` (A,) the column of each row's positive."""
    rows = torch.arange(scores.shape[0], device=scores.device)
    positive = scores[rows, positives]
    return -(2 * positive - scores.logsumexp(-1) - scores.logsumexp(0)[positives]).mean()


@dataclass
class CaseEncoderOutput(EmpatheticEncoderOutput):
    """``last_hidden_state`` is S'_X (eq. 18), what the decoder's last cross-attention reads."""

    context_mask: torch.Tensor | None = None  # (B, S) context words ([CLS] included, concepts excluded)
    cognition: torch.FloatTensor | None = None  # (B, N, D) cs_i of G_CS
    knowledge_mask: torch.Tensor | None = None  # (B, N) which G_CS vertices are inferences (K_CS)
    cognition_owners: torch.LongTensor | None = None  # (B, N) utterance vertex of each inference
    concepts: torch.FloatTensor | None = None  # (B, S) ec_i of G_EC
    concept_mask: torch.Tensor | None = None  # (B, S)
    reactions: torch.FloatTensor | None = None  # (B, U) er_i
    cognition_prior: torch.FloatTensor | None = None  # (B, N) P_CS(cs_i | X), eq. 4
    concept_prior: torch.FloatTensor | None = None  # (B, S) P_EC(ec_i | X)
    cognition_summary: torch.FloatTensor | None = None  # (B, D) r_cog, eq. 3
    emotion_summary: torch.FloatTensor | None = None  # (B, D) r_emo
    emotion_logits: torch.FloatTensor | None = None  # (B, q) eq. 16 (before softmax)


@dataclass
class CaseSeq2SeqLMOutput(EmpatheticSeq2SeqLMOutput):
    bow_loss: torch.FloatTensor | None = None  # eq. 8
    kl_loss: torch.FloatTensor | None = None  # eq. 7
    coarse_loss: torch.FloatTensor | None = None  # eq. 9
    fine_loss: torch.FloatTensor | None = None  # eq. 11
    diversity_loss: torch.FloatTensor | None = None  # CEM's L_div


class CasePreTrainedModel(EmpatheticPreTrainedModel):
    config_class = CaseConfig
    config: CaseConfig


class CaseEncoder(WordEmbedder):
    """Graph encoding, context encoding, knowledge discernment priors, reactions and emotion (§3.1–3.2)."""

    has_dialogue_states = True  # the context encoder's input adds dialogue-state embeddings

    def __init__(self, config: CaseConfig, embed_tokens: nn.Embedding):
        super().__init__(config, embed_tokens)
        d, sizes = config.d_model, BlockSizes.from_config(config)
        self.config = config
        # speaker / listener words of the context (a backbone's context encoder reads token ids only)
        self.embed_states = nn.Embedding(config.num_dialogue_states, d) if self.has_dialogue_states else None
        self.embed_vertex_types = nn.Embedding(2, d)  # G_EC: word or emotional concept
        self.intensity = nn.Linear(1, d, bias=False)  # superimposes ω(v_i) on ec_i
        self.context_encoder = self.build_context_encoder(config)
        self.cognition_encoder = TransformerEncoderStack(sizes, config.cognition_layers)
        self.cognition_graph = nn.ModuleList(GraphTransformerLayer(sizes, NUM_COGNITION_EDGE_RELATIONS) for _ in range(config.graph_layers))
        self.concept_graph = nn.ModuleList(GraphTransformerLayer(sizes) for _ in range(config.graph_layers))
        self.graph_norms = nn.ModuleList(nn.LayerNorm(d) for _ in range(2))
        self.cognition_query = nn.Sequential(nn.Linear(d, d), nn.Tanh())  # φ_CS of eq. 4
        self.concept_query = nn.Sequential(nn.Linear(d, d), nn.Tanh())  # φ_EC
        self.reaction_encoder = TransformerEncoderStack(sizes, config.reaction_layers)
        self.reaction_fusion = nn.Linear(2 * d, d)  # S_X[j] ⊕ her_i → d
        self.reaction_context_encoder = TransformerEncoderStack(sizes, config.reaction_layers)
        self.affect_gate = nn.Linear(2 * d, 1)  # w_aff of eq. 15
        self.emotion_head = nn.Linear(d, config.num_labels)  # W_emo of eq. 16
        self.context_fusion = nn.Linear(3 * d, d)  # MLP of eq. 18

    def build_context_encoder(self, config: CaseConfig) -> nn.Module | None:
        return TransformerEncoderStack(BlockSizes.from_config(config), config.encoder_layers)

    def encode_context(self, input_ids: torch.Tensor, states: torch.Tensor, mask: torch.Tensor, dropout: bool = True) -> torch.Tensor:
        """The context encoder over word + position + dialogue-state embeddings → S_X (B, S, D) (§3.2)."""
        embedded = self.embed(input_ids) + self.embed_states(states)
        return self.context_encoder(self.dropout(embedded) if dropout else embedded, mask)

    def fuse_context(self, context: torch.Tensor, r_cog: torch.Tensor, r_aff: torch.Tensor) -> torch.Tensor:
        """S'_X = ReLU(MLP([S_X; r_cog; r_aff])) per token (eq. 18)."""
        return F.relu(self.context_fusion(torch.cat([context, r_cog[:, None].expand_as(context), r_aff[:, None].expand_as(context)], -1)))

    def encode_sentences(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, encoder: TransformerEncoderStack,
                         pooling: str = "first") -> torch.Tensor:  # fmt: skip
        """(..., L) ids → (..., D): each sequence encoded alone by ``encoder``, then its first ([CLS]) state
        (``pooling="first"``) or the mean of its token states (``"mean"``). Only non-empty sequences run, cut to
        the longest of them (padding vertices would otherwise dominate the cost); empty ones pool to zeros."""
        shape = input_ids.shape
        ids, mask = input_ids.reshape(-1, shape[-1]), attention_mask.reshape(-1, shape[-1]).bool()
        count, rows = ids.shape[0], mask.any(-1).nonzero().squeeze(-1)
        if rows.numel() == 0:
            return self.embed_tokens.weight.new_zeros(*shape[:-1], self.embed_tokens.embedding_dim)
        width = int(mask[rows].any(0).nonzero().max()) + 1
        ids, mask = ids[rows, :width], mask[rows, :width]
        states = encoder(self.dropout(self.embed(ids)), mask)
        if pooling == "first":
            pooled = states[:, 0]
        else:
            weights = mask[..., None].to(states.dtype)
            pooled = (states * weights).sum(1) / weights.sum(1)
        return pooled.new_zeros(count, pooled.shape[-1]).index_copy(0, rows, pooled).view(*shape[:-1], -1)

    def forward(
        self,
        input_ids: torch.LongTensor,  # (B, S) [CLS] context words, then concepts (KEMP's layout)
        attention_mask: torch.Tensor | None = None,
        dialogue_state_ids: torch.LongTensor | None = None,  # (B, S) 0 speaker, 1 listener, 2 concept
        concept_sources: torch.LongTensor | None = None,  # (B, S)
        emotion_intensity: torch.FloatTensor | None = None,  # (B, S) ω
        cs_input_ids: torch.LongTensor | None = None,  # (B, N, L) [CLS] + words of every G_CS vertex
        cs_attention_mask: torch.Tensor | None = None,  # (B, N, L)
        cs_vertex_types: torch.LongTensor | None = None,  # (B, N) see graphs.cognition_graph
        cs_owners: torch.LongTensor | None = None,  # (B, N)
        reaction_ids: torch.LongTensor | None = None,  # (B, U, L_r) [CLS] + the xReact inferences of u_i
        reaction_attention_mask: torch.Tensor | None = None,  # (B, U, L_r)
        **kwargs,
    ) -> CaseEncoderOutput:
        if cs_input_ids is None or reaction_ids is None:
            raise ValueError("CASE needs its commonsense inputs (cs_input_ids, cs_vertex_types, cs_owners, reaction_ids): use CaseFeaturizer")
        c = self.config
        valid = (torch.ones_like(input_ids) if attention_mask is None else attention_mask).bool()
        states = torch.zeros_like(input_ids) if dialogue_state_ids is None else dialogue_state_ids
        sources = torch.full_like(input_ids, -1) if concept_sources is None else concept_sources
        intensity = torch.zeros(input_ids.shape, device=input_ids.device) if emotion_intensity is None else emotion_intensity
        is_concept = valid & states.eq(CONCEPT_STATE)
        context_mask = valid & ~is_concept

        # context encoder: [CLS] ⊕ x_1 ⊕ … ⊕ x_N → S_X, s_X (§3.2)
        context = self.encode_context(input_ids, states.masked_fill(is_concept, 0), context_mask)
        s_x = context[:, 0]

        # G_EC: token + position + type embeddings, vanilla graph transformer, ω superimposed
        concepts = self.dropout(self.embed(input_ids) + self.embed_vertex_types(is_concept.long()))
        if c.use_concept_graph:
            edges = emotional_context_graph(valid, states, sources, self_loops=True)
            for layer in self.concept_graph:
                concepts = layer(concepts, edges)
            concepts = self.graph_norms[0](concepts)
        concepts = concepts + self.intensity(intensity[..., None].to(concepts.dtype))

        # G_CS: [CLS] of the cognition encoder per vertex, then the relation-enhanced graph transformer (eqs. 1–2)
        cs_mask = cs_input_ids.ne(self.embed_tokens.padding_idx) if cs_attention_mask is None else cs_attention_mask
        cognition = self.encode_sentences(cs_input_ids, cs_mask, self.cognition_encoder)
        if c.use_cognition_graph:
            relations = cognition_graph(cs_vertex_types, cs_owners)
            for layer in self.cognition_graph:
                cognition = layer(cognition, relations)
            cognition = self.graph_norms[1](cognition)
        knowledge_mask = cs_vertex_types.ge(KNOWLEDGE)

        # knowledge discernment priors (eqs. 3–4) and their summaries r_cog, r_emo
        cognition_prior = masked_softmax(torch.einsum("bnd,bd->bn", cognition, self.cognition_query(s_x)), knowledge_mask)
        concept_prior = masked_softmax(torch.einsum("bsd,bd->bs", concepts, self.concept_query(s_x)), valid)
        r_cog = torch.einsum("bn,bnd->bd", cognition_prior.to(cognition.dtype), cognition)
        r_emo = torch.einsum("bs,bsd->bd", concept_prior.to(concepts.dtype), concepts)

        # emotional reactions: mean-pooled H^er_i joined with S_X token-wise, a second encoder, [CLS] → er_i
        r_mask = reaction_ids.ne(self.embed_tokens.padding_idx) if reaction_attention_mask is None else reaction_attention_mask
        her = self.encode_sentences(reaction_ids, r_mask, self.reaction_encoder, pooling="mean")
        b, u, s = *her.shape[:2], context.shape[1]
        joined = torch.cat([context[:, None].expand(b, u, s, -1), her[:, :, None].expand(b, u, s, -1)], dim=-1)
        fused = self.reaction_context_encoder(self.reaction_fusion(joined).view(b * u, s, -1), context_mask.repeat_interleave(u, 0))
        reactions = fused[:, 0].view(b, u, -1)

        # emotion prediction (eqs. 14–16): r_aff gates r_emo and er_0
        mu = torch.sigmoid(self.affect_gate(torch.cat([r_emo, reactions[:, 0]], dim=-1)))
        r_aff = mu * r_emo + (1 - mu) * reactions[:, 0]
        return CaseEncoderOutput(
            last_hidden_state=self.fuse_context(context, r_cog, r_aff),  # eq. 18
            context_mask=context_mask,
            cognition=cognition,
            knowledge_mask=knowledge_mask,
            cognition_owners=cs_owners,
            concepts=concepts,
            concept_mask=valid,
            reactions=reactions,
            cognition_prior=cognition_prior,
            concept_prior=concept_prior,
            cognition_summary=r_cog,
            emotion_summary=r_emo,
            emotion_logits=self.emotion_head(r_aff),
        )


class CaseDecoderLayer(GradientCheckpointingLayer):
    """Self-attention, attention to K_CS, attention to K_EC, attention to S'_X, FFN (§3.3), pre-norm."""

    def __init__(self, config: CaseConfig, layer_idx: int):
        super().__init__()
        sizes = BlockSizes.from_config(config)
        self.self_attn = MultiHeadAttention.of(sizes, layer_idx)
        self.cognition_attn = MultiHeadAttention.of(sizes)  # small key sets: recomputed per step, not cached
        self.concept_attn = MultiHeadAttention.of(sizes)
        self.context_attn = MultiHeadAttention.of(sizes, layer_idx)  # cached like any cross-attention
        self.ffn = FeedForward.of(sizes)
        self.norms = nn.ModuleList(nn.LayerNorm(config.d_model) for _ in range(5))
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, hidden, encoder_outputs: CaseEncoderOutput, masks, self_mask, is_causal, cache=None):
        knowledge_mask, concept_mask, context_mask = masks
        h = self.self_attn(self.norms[0](hidden), attention_mask=self_mask, is_causal=is_causal, past_key_values=cache)
        hidden = hidden + self.dropout(h)
        hidden = hidden + self.dropout(self.cognition_attn(self.norms[1](hidden), encoder_outputs.cognition, knowledge_mask))
        hidden = hidden + self.dropout(self.concept_attn(self.norms[2](hidden), encoder_outputs.concepts, concept_mask))
        h = self.context_attn(
            self.norms[3](hidden), key_value_states=encoder_outputs.last_hidden_state, attention_mask=context_mask,
            past_key_values=cache,
        )  # fmt: skip
        hidden = hidden + self.dropout(h)
        return hidden + self.dropout(self.ffn(self.norms[4](hidden)))


class CaseDecoder(WordEmbedder):
    def __init__(self, config: CaseConfig, embed_tokens: nn.Embedding):
        super().__init__(config, embed_tokens)
        self.layers = nn.ModuleList(CaseDecoderLayer(config, i) for i in range(config.decoder_layers))
        self.layer_norm = nn.LayerNorm(config.d_model)

    def forward(self, input_ids, encoder_outputs: CaseEncoderOutput, past_key_values=None):
        hidden = self.dropout(self.embed(input_ids, cached_length(past_key_values)))
        is_causal, self_mask = causal_self_mask(input_ids.shape[1], past_key_values, input_ids.device)
        # an empty K_CS (no inference retrieved) is attended as if its first vertex were valid: its weight is then
        # on a padding vertex whose state is the cognition encoder's output for [PAD] — harmless and finite
        knowledge = encoder_outputs.knowledge_mask.clone()
        knowledge[:, 0] |= ~knowledge.any(-1)
        masks = (padding_mask(knowledge), padding_mask(encoder_outputs.concept_mask), padding_mask(encoder_outputs.context_mask))
        for layer in self.layers:
            hidden = layer(hidden, encoder_outputs, masks, self_mask, is_causal, cache=past_key_values)
        return self.layer_norm(hidden)


class CaseModel(CasePreTrainedModel, EmpatheticEncoderDecoderModel):
    """Bare CASE encoder-decoder (``AutoModel``)."""

    encoder_class, decoder_class, encoder_output_class = CaseEncoder, CaseDecoder, CaseEncoderOutput
    context_description = "the context, with CASE's knowledge inputs"


ENCODER_INPUTS = (
    "attention_mask", "dialogue_state_ids", "concept_sources", "emotion_intensity", "cs_input_ids", "cs_attention_mask",
    "cs_vertex_types", "cs_owners", "reaction_ids", "reaction_attention_mask",
)  # fmt: skip


class CaseObjectives:
    """CASE's training objectives and forward, shared by CASE and CASE-BlenderBot: L = γ1 (L_BOW + L_KL + L_coarse +
    α L_fine) + γ2 L_emo + γ3 L_gen + γ4 L_div. A model mixing this in (before its ``PreTrainedModel`` base, so that
    its :meth:`forward` is the model's) has ``config``, the CASE encoder as :meth:`get_encoder` and its outputs from
    ``encode``, the decoder's log-probabilities and cache from ``response_log_probs(decoder_input_ids, encoder_outputs,
    cache, use_cache)``, and calls :meth:`init_objectives` in its ``__init__``.

    ``bow_pretraining = True`` (set by :class:`empathetic_models.training.callbacks.PretrainingPhaseCallback`) trains L_BOW alone, the
    paper's first phase. ``token_frequency`` counts the tokens the model predicted in training (CEM's diversity
    weights; summed over processes, saved with the weights)."""

    def init_objectives(self, d: int, vocab_size: int) -> None:
        self.bow_head = nn.Sequential(nn.Linear(2 * d, d), nn.ReLU(), nn.Linear(d, vocab_size))  # η of eq. 8
        self.coarse_scorer = nn.Linear(d, d, bias=False)  # W^coarse of eq. 10
        self.fine_scorer = nn.Linear(d, d, bias=False)  # W^fine of eq. 12
        self.register_buffer("token_frequency", torch.zeros(vocab_size))
        self.bow_pretraining = False

    def _response_summaries(self, labels: torch.Tensor, encoder_outputs: CaseEncoderOutput):
        """Posteriors P_CS(cs_i | Y), P_EC(ec_i | Y) (eqs. 5–6) from [CLS] ⊕ Y through the cognition and context encoders."""
        c, encoder = self.config, self.get_encoder()
        response = labels.masked_fill(labels.eq(-100), c.pad_token_id)
        response = torch.cat([torch.full_like(response[:, :1], c.cls_token_id), response], dim=1)
        mask = response.ne(c.pad_token_id)
        s_cog = encoder.encode_sentences(response, mask, encoder.cognition_encoder)
        s_ctx = encoder.encode_context(response, torch.full_like(response, LISTENER_STATE), mask, dropout=False)[:, 0]
        cognition_post = masked_softmax(torch.einsum("bnd,bd->bn", encoder_outputs.cognition, s_cog), encoder_outputs.knowledge_mask)
        concept_post = masked_softmax(torch.einsum("bsd,bd->bs", encoder_outputs.concepts, s_ctx), encoder_outputs.concept_mask)
        return cognition_post, concept_post
    def alignment_losses(self, labels: torch.Tensor, encoder_outputs: CaseEncoderOutput) -> dict[str, torch.Tensor]:
        """L_BOW, L_KL, L_coarse, L_fine (eqs. 7–12) as enabled by the config."""
        c, out = self.config, encoder_outputs
        cognition_post, concept_post = self._response_summaries(labels, out)
        losses = {}

        losses["kl_loss"] = knowledge_kl(cognition_post, out.cognition_prior) + knowledge_kl(concept_post, out.concept_prior)  # eq. 7
        r_cog = torch.einsum("bn,bnd->bd", cognition_post.to(out.cognition.dtype), out.cognition)  # r'_cog
        r_emo = torch.einsum("bs,bsd->bd", concept_post.to(out.concepts.dtype), out.concepts)  # r'_emo
        log_bow = self.bow_head(torch.cat([r_cog, r_emo], dim=-1)).float().log_softmax(-1)  # η, (B, V)
        bag = labels.ne(-100) & labels.ne(c.eos_token_id)
        losses["bow_loss"] = -(log_bow.gather(-1, labels.clamp_min(0)) * bag).sum() / bag.sum().clamp_min(1)  # eq. 8
        if c.use_coarse_alignment:  # eq. 9 with in-batch negatives; f = σ(a^T W b), eq. 10
            scores = torch.sigmoid(out.cognition_summary.float() @ self.coarse_scorer(out.emotion_summary).float().T)
            losses["coarse_loss"] = mutual_information_loss(scores, torch.arange(scores.shape[0], device=scores.device))
        if c.use_fine_alignment:  # eq. 11: each inference cs^r_{i,j} with the reaction er_i of its utterance
            b, u = out.reactions.shape[:2]
            knowledge = out.knowledge_mask.reshape(-1)
            if knowledge.any():
                inferences = out.cognition.reshape(-1, out.cognition.shape[-1])[knowledge]
                owners = (out.cognition_owners + torch.arange(b, device=labels.device)[:, None] * u).reshape(-1)[knowledge]
                reactions = self.fine_scorer(out.reactions.reshape(b * u, -1))
                scores = torch.sigmoid(inferences.float() @ reactions.float().T)  # eq. 12 for every pair in the batch
                losses["fine_loss"] = mutual_information_loss(scores, owners)
            else:
                losses["fine_loss"] = out.reactions.sum() * 0.0
        return losses

    def diversity_loss(self, log_probs: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """CEM's L_div: NLL weighted by :func:`face_weights` of the tokens the model predicted so far."""
        steps = labels.ne(-100)
        if self.training:
            predicted = log_probs.argmax(-1)[steps]
            counts = torch.bincount(predicted, minlength=self.config.vocab_size).to(self.token_frequency.dtype)
            counts[self.config.eos_token_id] = 0
            if dist.is_available() and dist.is_initialized():
                dist.all_reduce(counts)
            self.token_frequency += counts
        weight = face_weights(self.token_frequency)
        nll = -log_probs.gather(-1, labels.clamp_min(0)[..., None]).squeeze(-1)
        return (weight[labels.clamp_min(0)] * nll * steps).sum() / steps.sum().clamp_min(1)

    def case_losses(self, log_probs: torch.Tensor, labels: torch.Tensor | None, emotion_labels: torch.Tensor | None,
                    encoder_outputs: CaseEncoderOutput) -> tuple[torch.Tensor | None, dict[str, torch.Tensor]]:  # fmt: skip
        """(L, its unweighted terms) for the response ``labels`` and ``log_probs`` (B, T, V) of the decoder."""
        c, losses = self.config, {}
        if labels is not None:
            if c.use_alignment:
                losses.update(self.alignment_losses(labels, encoder_outputs))
            if self.bow_pretraining and "bow_loss" not in losses:
                raise ValueError("the L_BOW pre-training phase needs use_alignment=True")
            if not self.bow_pretraining:
                smoothing = c.label_smoothing if self.training else 0.0
                losses["generation_loss"] = smoothed_nll(log_probs, labels, smoothing)  # eq. 19
                if c.diversity_loss_weight:
                    losses["diversity_loss"] = self.diversity_loss(log_probs, labels)
        if emotion_labels is not None and not self.bow_pretraining:
            losses["emotion_loss"] = F.cross_entropy(encoder_outputs.emotion_logits.float(), emotion_labels)  # eq. 17
        if not losses:
            return None, losses
        if self.bow_pretraining:
            return losses["bow_loss"], losses  # phase 1
        alignment = {"bow_loss": 1.0, "kl_loss": 1.0, "coarse_loss": 1.0, "fine_loss": c.fine_alignment_weight}  # eq. 13
        weights = {name: c.alignment_loss_weight * w for name, w in alignment.items()}
        weights.update(emotion_loss=c.emotion_loss_weight, generation_loss=c.generation_loss_weight, diversity_loss=c.diversity_loss_weight)
        return sum(weights[name] * value for name, value in losses.items()), losses

    @model_forward
    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        decoder_input_ids: torch.LongTensor | None = None,
        encoder_outputs: CaseEncoderOutput | None = None,
        cache: EncoderDecoderCache | None = None,
        labels: torch.LongTensor | None = None,  # (B, T) response ids + EOS, -100 = ignored
        emotion_labels: torch.LongTensor | None = None,  # (B,)
        use_cache: bool | None = None,
        **kwargs,  # the encoder's inputs (see CaseEncoder.forward)
    ) -> CaseSeq2SeqLMOutput:
        decoder_input_ids, use_cache = teacher_forcing(labels, decoder_input_ids, use_cache, self.config)
        encoder_outputs = self.encode(input_ids, encoder_outputs, **{k: v for k, v in kwargs.items() if k in ENCODER_INPUTS})
        log_probs, cache = self.response_log_probs(decoder_input_ids, encoder_outputs, cache, use_cache)
        loss, losses = self.case_losses(log_probs, labels, emotion_labels, encoder_outputs)
        return CaseSeq2SeqLMOutput(
            loss=loss,
            logits=log_probs,
            emotion_logits=encoder_outputs.emotion_logits,
            cache=cache,
            encoder_last_hidden_state=encoder_outputs.last_hidden_state,
            **losses,
        )


class CaseForConditionalGeneration(CaseObjectives, CasePreTrainedModel, EmpatheticForConditionalGeneration, GenerationMixin):
    """CASE with its losses (:class:`CaseObjectives`)."""

    bare_model_class = CaseModel

    def __init__(self, config: CaseConfig):
        super().__init__(config)
        self.init_objectives(config.d_model, config.vocab_size)
        self.post_init()
        self.generation_config.max_new_tokens = 30  # "the maximum decoding step is set to 30"

    def response_log_probs(self, decoder_input_ids, encoder_outputs: CaseEncoderOutput, cache, use_cache):
        outputs = self.model(decoder_input_ids=decoder_input_ids, encoder_outputs=encoder_outputs, cache=cache, use_cache=use_cache, return_dict=True)
        return self.lm_head(outputs.last_hidden_state).float().log_softmax(-1), outputs.cache


__all__ = ["CaseEncoder", "CaseForConditionalGeneration", "CaseModel", "CaseObjectives", "CasePreTrainedModel"]
