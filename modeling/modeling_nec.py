"""NEC (nec.txt): a pretrained seq2seq backbone (BART in the paper; any ``AutoModelForSeq2SeqLM``) whose encoder
reads the context with the selected entity knowledge (eqs. 3–4), whose decoder layers each attend to the social
knowledge K_S after the cross-attention (eq. 8), trained with L_NLL + L_CL (eqs. 9–12) and decoded by beam search
re-ranked with α·S_sim + (1 − α)·S_lm (eqs. 13–15).

From the authors' code where the paper is silent: K_S inferences are encoded by a copy of the backbone's encoder
(first-token states) and added through a gated residual; z is CoNT's mean-pooled ReLU projection; candidate ranks
are by BLEU-2 to y⁺.
"""

from __future__ import annotations

import copy
import math
from collections import Counter
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from transformers import AutoModelForSeq2SeqLM, PreTrainedModel
from transformers.generation import GenerationMixin
from transformers.modeling_outputs import BaseModelOutput
from transformers.utils import ModelOutput

from .backbone_blocks import (
    BackboneAccessors,
    GatedMemoryAttention,
    cache_argument,
    decoder_config,
    decoder_layers,
    output_cache,
    pretrained_backbone,
)
from .configuration_nec import NecConfig
from .encoder_decoder import model_forward
from .layers import NonReentrantCheckpointing, RecoversLostTiedWeights, UnsupportedOutputsCheck


@dataclass
class NecEncoderOutput(ModelOutput):
    """z_x's token states and the encoded social knowledge (``generate`` expands both for beams)."""

    last_hidden_state: torch.FloatTensor | None = None  # (B, S, D), eq. 4
    knowledge_states: torch.FloatTensor | None = None  # (B, K, D), one vector per K_S inference
    knowledge_mask: torch.BoolTensor | None = None  # (B, K)


@dataclass
class NecSeq2SeqLMOutput(ModelOutput):
    loss: torch.FloatTensor | None = None  # eq. 9
    generation_loss: torch.FloatTensor | None = None  # L_NLL, eq. 10
    contrastive_loss: torch.FloatTensor | None = None  # L_CL, eq. 11
    logits: torch.FloatTensor | None = None
    cache: object | None = None  # the key/value cache (``past_key_values`` before transformers 5.24)
    encoder_last_hidden_state: torch.FloatTensor | None = None
    emotion_logits: torch.FloatTensor | None = None  # always None: NEC has no emotion head (the label only picks D)


def shift_right(labels: torch.Tensor, pad_token_id: int, start_token_id: int) -> torch.Tensor:
    """Decoder inputs for ``labels`` (-100 = ignored): the start token, then the labels without their last token."""
    shifted = labels.new_full(labels.shape, pad_token_id)
    shifted[..., 1:] = labels[..., :-1].masked_fill(labels[..., :-1].eq(-100), pad_token_id)
    shifted[..., 0] = start_token_id
    return shifted


def bleu2(candidate: list[int], reference: list[int]) -> float:
    """Sentence BLEU-2 on token ids: uniform weights, brevity penalty, add-one smoothing of the bigram precision."""
    if not candidate or not reference:
        return 0.0
    cand1, ref1 = Counter(candidate), Counter(reference)
    cand2, ref2 = Counter(zip(candidate, candidate[1:])), Counter(zip(reference, reference[1:]))
    p1 = sum((cand1 & ref1).values()) / len(candidate)
    p2 = (sum((cand2 & ref2).values()) + 1) / (len(candidate) - 1 + 1)
    if p1 == 0:
        return 0.0
    return min(1.0, math.exp(1 - len(reference) / len(candidate))) * math.sqrt(p1 * p2)


def contrastive_loss(z_x: torch.Tensor, z_y: torch.Tensor, ranks: torch.Tensor, valid: torch.Tensor, gamma: float) -> torch.Tensor:
    """L_CL (eqs. 11–12): Σ over (y⁺, y⁻) of max{0, cos(z_x, z_y⁻) − cos(z_x, z_y⁺) + γ (rank(y⁻) − rank(y⁺))},
    averaged over the batch. Candidate 0 of each row is y⁺; ``ranks`` (B, N) and ``valid`` (B, N) describe all N."""
    cosine = F.cosine_similarity(z_x[:, None].float(), z_y.float(), dim=-1)  # (B, N)
    margin = cosine[:, 1:] - cosine[:, :1] + gamma * (ranks[:, 1:] - ranks[:, :1]).to(cosine.dtype)
    return (margin.clamp_min(0) * valid[:, 1:]).sum() / z_x.shape[0]


class NecEncoder(nn.Module):
    """The backbone's encoder over I_enc (eq. 4) and its copy over each K_S inference (first-token states). Holds no
    weights of its own: both encoders belong to the model (``backbone``, ``knowledge_encoder``)."""

    def __init__(self, model: NecForConditionalGeneration):
        super().__init__()
        self.__dict__["model"] = model  # not a submodule: its weights are registered once, on the model

    def forward(self, input_ids=None, attention_mask=None, knowledge_input_ids=None, knowledge_attention_mask=None, **kwargs) -> NecEncoderOutput:
        encoder, knowledge_encoder = self.model.backbone.get_encoder(), self.model.knowledge_encoder
        states = encoder(input_ids=input_ids, attention_mask=attention_mask, return_dict=True).last_hidden_state
        out = NecEncoderOutput(last_hidden_state=states)
        if knowledge_encoder is not None and knowledge_input_ids is not None:
            b, k, t = knowledge_input_ids.shape
            mask = knowledge_attention_mask.reshape(b * k, t).bool()
            present = mask.any(-1)
            encoded = states.new_zeros(b * k, states.shape[-1])
            if present.any():
                inner = knowledge_encoder(input_ids=knowledge_input_ids.reshape(b * k, t)[present], attention_mask=mask[present].long(), return_dict=True)
                encoded[present] = inner.last_hidden_state[:, 0].to(encoded.dtype)
            out.knowledge_states, out.knowledge_mask = encoded.view(b, k, -1), present.view(b, k)
        return out


class NecPreTrainedModel(RecoversLostTiedWeights, NonReentrantCheckpointing, UnsupportedOutputsCheck, PreTrainedModel):
    config_class = NecConfig
    base_model_prefix = "nec"
    main_input_name = "input_ids"
    supports_gradient_checkpointing = True  # the backbone's blocks are transformers' GradientCheckpointingLayers
    _supports_sdpa = True
    accepts_loss_kwargs = False

    def _resize_vocabulary_parts(self, size: int) -> None:
        """The knowledge encoder (a copy of the backbone's encoder) reads words too: its embedding grows like the
        backbone's (its own rows kept, the new rows the backbone's new ones)."""
        old = self.knowledge_encoder.get_input_embeddings() if self.knowledge_encoder is not None else None
        if old is None or old.num_embeddings == size:
            return
        resized = copy.deepcopy(self.backbone.get_input_embeddings())
        keep = min(size, old.num_embeddings)
        with torch.no_grad():
            resized.weight[:keep] = old.weight[:keep]
        self.knowledge_encoder.set_input_embeddings(resized)

    def _init_weights(self, module: nn.Module) -> None:
        """New modules only: the projection and the knowledge attentions (the backbone loads its own weights)."""
        if isinstance(module, GatedMemoryAttention):
            nn.init.zeros_(module.gate)
        elif isinstance(module, nn.Linear) and getattr(module, "_nec_new", False):
            nn.init.xavier_uniform_(module.weight)
            nn.init.zeros_(module.bias)


class NecForConditionalGeneration(BackboneAccessors, NecPreTrainedModel, GenerationMixin):
    def __init__(self, config: NecConfig):
        super().__init__(config)
        # the attention implementation asked of from_pretrained / from_config reaches the backbone's layers
        # and the dtype being built (from_pretrained(..., dtype=...) sets the default), not the one the backbone settings saved
        self.backbone = AutoModelForSeq2SeqLM.from_config(
            config.backbone_config(), attn_implementation=config._attn_implementation, dtype=torch.get_default_dtype()
        )
        hidden = config.hidden_size
        self.knowledge_encoder = copy.deepcopy(self.backbone.get_encoder()) if config.use_social_knowledge else None
        self.nec_encoder = NecEncoder(self)
        layers = decoder_layers(self.backbone)
        inner = decoder_config(config.backbone_config())
        heads = config.knowledge_heads or getattr(inner, "decoder_attention_heads", None) or inner.num_attention_heads
        dropout = getattr(inner, "attention_dropout", None) or getattr(inner, "attention_probs_dropout_prob", 0.0)
        self.knowledge_attention = nn.ModuleList(GatedMemoryAttention(hidden, heads, dropout) for _ in layers) if config.use_social_knowledge else None
        if self.knowledge_attention is not None:
            for layer, attention in zip(layers, self.knowledge_attention, strict=True):
                layer.register_forward_hook(attention.hook)
        self.projection = nn.Linear(hidden, config.projection_dim or hidden)  # CoNT's z = ReLU(W h), mean-pooled
        self.projection._nec_new = True
        self._cache_argument = cache_argument(self.backbone)
        self.post_init()
        self.generation_config.num_beams = 5  # beam 5, 30 steps (§4.2 and the code)
        self.generation_config.max_new_tokens = 30

    @classmethod
    def from_backbone(cls, backbone: str | PreTrainedModel, **config_kwargs) -> NecForConditionalGeneration:
        """A new NEC around a pretrained seq2seq model or checkpoint (hub id or path); K_S's encoder starts as a
        copy of its encoder."""
        backbone = pretrained_backbone(backbone)
        model = cls(NecConfig(backbone=backbone.config.to_dict(), **config_kwargs))
        model.backbone.load_state_dict(backbone.state_dict())
        if model.knowledge_encoder is not None:
            model.knowledge_encoder.load_state_dict(backbone.get_encoder().state_dict())
        return model

    def get_encoder(self) -> NecEncoder:
        return self.nec_encoder

    def _set_knowledge(self, encoder_outputs: NecEncoderOutput | None) -> None:
        if self.knowledge_attention is None:
            return
        knowledge = None
        if encoder_outputs is not None and encoder_outputs.knowledge_states is not None:
            knowledge = (encoder_outputs.knowledge_states, encoder_outputs.knowledge_mask)
        for attention in self.knowledge_attention:
            attention.memory = knowledge

    def represent(self, states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """z: the mean over unmasked positions of ReLU(W h)."""
        projected = F.relu(self.projection(states))
        mask = mask.to(projected.dtype)[..., None]
        return (projected * mask).sum(-2) / mask.sum(-2).clamp_min(1)

    def _decode(self, encoder_outputs, attention_mask, decoder_input_ids, cache=None, **kwargs):
        """The backbone's decoder with K_S set for the knowledge attentions; ``cache`` under the backbone's name."""
        if cache is not None:
            kwargs[self._cache_argument] = cache
        self._set_knowledge(encoder_outputs)
        try:
            return self.backbone(
                encoder_outputs=BaseModelOutput(last_hidden_state=encoder_outputs.last_hidden_state),
                attention_mask=attention_mask, decoder_input_ids=decoder_input_ids, return_dict=True, **kwargs,
            )  # fmt: skip
        finally:
            self._set_knowledge(None)

    def score_candidates(self, encoder_outputs: NecEncoderOutput, attention_mask: torch.Tensor, candidates: torch.Tensor):
        """z_y (eq. 8 states, projected) and Σ_t log P(y_t | …) of each candidate (B, N, T; pad-filled token ids
        ending with EOS), decoded by teacher forcing in one batch."""
        c = self.config
        b, n, t = candidates.shape
        expanded = NecEncoderOutput(
            last_hidden_state=encoder_outputs.last_hidden_state.repeat_interleave(n, 0),
            knowledge_states=None if encoder_outputs.knowledge_states is None else encoder_outputs.knowledge_states.repeat_interleave(n, 0),
            knowledge_mask=None if encoder_outputs.knowledge_mask is None else encoder_outputs.knowledge_mask.repeat_interleave(n, 0),
        )  # fmt: skip
        targets = candidates.reshape(b * n, t)
        mask = targets.ne(c.pad_token_id)
        out = self._decode(expanded, attention_mask.repeat_interleave(n, 0), shift_right(targets.masked_fill(~mask, -100), c.pad_token_id, c.decoder_start_token_id),
                           output_hidden_states=True, use_cache=False)  # fmt: skip
        z = self.represent(out.decoder_hidden_states[-1], mask).view(b, n, -1)
        token_log_probs = out.logits.float().log_softmax(-1).gather(-1, targets[..., None]).squeeze(-1) * mask
        return z, token_log_probs.sum(-1).view(b, n), mask.sum(-1).view(b, n)

    @model_forward
    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        knowledge_input_ids: torch.Tensor | None = None,
        knowledge_attention_mask: torch.Tensor | None = None,
        decoder_input_ids: torch.Tensor | None = None,
        encoder_outputs: NecEncoderOutput | None = None,
        cache=None,
        labels: torch.Tensor | None = None,
        negative_ids: torch.Tensor | None = None,
        negative_sources: torch.Tensor | None = None,
        use_cache: bool | None = None,
        **kwargs,
    ) -> NecSeq2SeqLMOutput:
        """``labels``: response token ids (-100 = ignored). With ``config.contrastive`` and labels, ``negative_ids``
        (B, C, T) hold the collator's negatives and ``negative_sources`` (B, C) their source as an index into
        :data:`~.configuration_nec.NEGATIVE_SOURCES` (-1 = padding); batch mates and own beams are added here."""
        c = self.config
        if encoder_outputs is None:
            encoder_outputs = self.nec_encoder(input_ids, attention_mask, knowledge_input_ids, knowledge_attention_mask)
        if labels is not None and decoder_input_ids is None:
            decoder_input_ids = shift_right(labels, c.pad_token_id, c.decoder_start_token_id)
        out = self._decode(encoder_outputs, attention_mask, decoder_input_ids, cache=cache, use_cache=use_cache)
        loss = generation_loss = contrastive = None
        if labels is not None:
            generation_loss = F.cross_entropy(out.logits.float().transpose(1, 2), labels, ignore_index=-100)  # eq. 10
            loss = generation_loss
            if c.contrastive and self.training:  # validation loss stays L_NLL (early stopping, PPL)
                contrastive = self._contrastive_loss(input_ids, attention_mask, knowledge_input_ids, knowledge_attention_mask,
                                                     encoder_outputs, labels, negative_ids, negative_sources)  # fmt: skip
                loss = loss + contrastive  # eq. 9, 1:1
        # built at once, so that to_tuple() (return_dict=False) lists the fields in their declared order, loss first
        return NecSeq2SeqLMOutput(loss=loss, generation_loss=generation_loss, contrastive_loss=contrastive, logits=out.logits,
                                  cache=output_cache(out), encoder_last_hidden_state=encoder_outputs.last_hidden_state)  # fmt: skip

    def _contrastive_loss(self, input_ids, attention_mask, knowledge_input_ids, knowledge_attention_mask, encoder_outputs, labels, negative_ids, negative_sources):
        c = self.config
        positive = labels.masked_fill(labels.eq(-100), c.pad_token_id)
        groups = [positive[:, None]]
        if negative_ids is not None:  # D and H from the collator, kept if their source is enabled
            enabled = torch.tensor([s in c.negatives for s in ("diff_emotion", "self_generated", "batch", "high_frequency")], device=labels.device)
            keep = negative_sources.ge(0) & enabled[negative_sources.clamp_min(0)]
            groups.append(negative_ids.masked_fill(~keep[..., None], c.pad_token_id))
        if "batch" in c.negatives and labels.shape[0] > 1:  # B: every other example's response
            b = labels.shape[0]
            others = torch.arange(b, device=labels.device).repeat(b, 1)
            others = others[~torch.eye(b, dtype=torch.bool, device=labels.device)].view(b, b - 1)
            groups.append(positive[others])
        if "self_generated" in c.negatives and c.self_generated > 0:  # y': the model's own beams
            was_training = self.training
            self.eval()
            with torch.no_grad():
                beams = GenerationMixin.generate(self, input_ids=input_ids, attention_mask=attention_mask, knowledge_input_ids=knowledge_input_ids,
                                                 knowledge_attention_mask=knowledge_attention_mask, num_beams=c.self_generated,
                                                 num_return_sequences=c.self_generated, do_sample=False)  # fmt: skip
            self.train(was_training)
            groups.append(beams[:, 1:].reshape(labels.shape[0], c.self_generated, -1))
        width = max(g.shape[-1] for g in groups)
        candidates = torch.cat([F.pad(g, (0, width - g.shape[-1]), value=c.pad_token_id) for g in groups], dim=1)
        valid = candidates.ne(c.pad_token_id).any(-1)
        ranks = candidate_ranks(candidates, valid, c.pad_token_id)
        z_y, _, _ = self.score_candidates(encoder_outputs, attention_mask, candidates)
        z_x = self.represent(encoder_outputs.last_hidden_state, attention_mask)
        return contrastive_loss(z_x, z_y, ranks, valid, c.gamma)

    @torch.no_grad()
    def generate(self, inputs: torch.Tensor | None = None, generation_config=None, rerank_alpha: float | None = None, **kwargs):
        """Beam search whose beams are re-ranked by eq. 15, y* = argmax α·S_sim + (1 − α)·S_lm, with α =
        ``rerank_alpha`` (default ``config.alpha``); α = 0, greedy or sampling is plain ``generate``."""
        alpha = self.config.alpha if rerank_alpha is None else rerank_alpha
        config = copy.deepcopy(generation_config or self.generation_config)
        config.update(**{k: kwargs.pop(k) for k in list(kwargs) if hasattr(config, k)})
        if alpha <= 0 or config.num_beams <= 1 or config.do_sample:
            return super().generate(inputs, generation_config=config, **kwargs)
        if config.num_return_sequences not in (None, 1):
            raise ValueError("NEC's re-ranked beam search returns one response per input (num_return_sequences=1)")
        input_ids = inputs if inputs is not None else kwargs["input_ids"]
        kwargs.pop("input_ids", None)
        config.num_return_sequences = config.num_beams
        generated = super().generate(input_ids, generation_config=config, **kwargs)
        beams = generated.sequences if isinstance(generated, ModelOutput) else generated  # return_dict_in_generate
        b, n = input_ids.shape[0], config.num_beams
        encoder_outputs = self.nec_encoder(input_ids, kwargs.get("attention_mask"), kwargs.get("knowledge_input_ids"), kwargs.get("knowledge_attention_mask"))
        attention_mask = kwargs.get("attention_mask", input_ids.ne(self.config.pad_token_id))
        candidates = beams[:, 1:].reshape(b, n, -1)
        z_y, log_prob, length = self.score_candidates(encoder_outputs, attention_mask, candidates)
        s_sim = F.cosine_similarity(self.represent(encoder_outputs.last_hidden_state, attention_mask)[:, None].float(), z_y.float(), dim=-1)  # eq. 13
        s_lm = log_prob / length.clamp_min(1) if self.config.lm_score == "normalized" else log_prob.exp()  # code / eq. 14
        best = (alpha * s_sim + (1 - alpha) * s_lm).argmax(-1)  # eq. 15
        chosen = torch.arange(b, device=beams.device) * n + best  # the re-ranked beam of each input, in (B·N) order
        if not isinstance(generated, ModelOutput):
            return beams[chosen]
        # per returned sequence: keep the chosen one; per-step scores/logits cover every beam and stay as they are
        for name in ("sequences", "sequences_scores", "beam_indices"):
            if getattr(generated, name, None) is not None:
                setattr(generated, name, getattr(generated, name)[chosen])
        return generated


def candidate_ranks(candidates: torch.Tensor, valid: torch.Tensor, pad_token_id: int) -> torch.Tensor:
    """rank(y) per candidate (B, N): y⁺ (index 0) is 0, the others 1, 2, … by decreasing BLEU-2 to y⁺ (the code's
    ordering); padding candidates rank last."""
    rows = candidates.tolist()
    ranks = torch.zeros(candidates.shape[:2], dtype=torch.long)
    for i, row in enumerate(rows):
        reference = [t for t in row[0] if t != pad_token_id]
        scores = [bleu2([t for t in cand if t != pad_token_id], reference) if valid[i, j] else -1.0 for j, cand in enumerate(row[1:], start=1)]
        order = sorted(range(len(scores)), key=lambda j: -scores[j])
        for position, j in enumerate(order, start=1):
            ranks[i, j + 1] = position
    return ranks.to(candidates.device)
