"""CASE-BlenderBot (case.txt §4.5): CASE "integrating BlenderBot by replacing the encoder and decoder".

The context encoder (S_X, s_X) and the response decoder are a pretrained seq2seq backbone's (BlenderBot-small in the
paper; any post-norm BART-style model or BERT-style ``EncoderDecoderModel`` here). Everything else is CASE's
(:mod:`.modeling_case`): G_CS and G_EC with their graph encoders, the knowledge discernment priors and posteriors,
the reactions, the emotion gate, and the objectives (:class:`~.modeling_case.CaseObjectives`). The empathy-aware
decoder (§3.3) becomes: in every backbone decoder layer, attentions to K_CS and to K_EC inserted between the
self-attention and the cross-attention to S'_X, each through a tanh gate starting at 0 (a no-op at initialisation).

Our choices where §4.5 is silent: S'_X (eq. 18) enters as a gated residual S_X + tanh(g)·ReLU(MLP[S_X; r_cog;
r_aff]) with g = 0 at initialisation, so the pretrained cross-attention first reads the backbone's own S_X; CASE's
own encoders read the backbone's word vectors layer-normed (their scale differs per backbone) plus sinusoidal
positions; there are no dialogue-state embeddings (the backbone's encoder reads token ids).
"""

from __future__ import annotations

import torch
from torch import nn
from transformers import AutoModelForSeq2SeqLM, PreTrainedModel
from transformers import initialization as init
from transformers.generation import GenerationMixin
from transformers.modeling_outputs import BaseModelOutput

from .backbone_blocks import (
    BackboneAccessors,
    GatedMemoryAttention,
    MemoryCheckpointing,
    after_self_attention,
    cache_argument,
    decoder_config,
    decoder_layers,
    output_cache,
    pretrained_backbone,
)
from .configuration_case_blenderbot import CaseBlenderbotConfig
from .encoder_decoder import EncodesContext
from .layers import EmpatheticPreTrainedModel
from .modeling_case import CaseEncoder, CaseEncoderOutput, CaseObjectives


class CaseBackboneEncoder(CaseEncoder):
    """:class:`CaseEncoder` whose context encoder is the backbone's. The backbone's encoder and word embeddings are
    referenced, not registered: their weights belong to the model's ``backbone``."""

    main_input_name = "input_ids"
    has_dialogue_states = False  # the backbone's encoder reads token ids only

    def __init__(self, config: CaseBlenderbotConfig, backbone: PreTrainedModel):
        super().__init__(config, embed_tokens=None)
        self.__dict__["embed_tokens"] = backbone.get_input_embeddings()
        self.__dict__["context_encoder"] = backbone.get_encoder()
        self.embed_norm = nn.LayerNorm(config.d_model)
        self.fusion_gate = nn.Parameter(torch.zeros(1))

    def build_context_encoder(self, config) -> None:
        return None

    def embed(self, input_ids: torch.Tensor) -> torch.Tensor:
        """Input of CASE's own encoders (cognition, reactions, G_EC): LN(backbone word vector) + sinusoidal position."""
        return self.embed_norm(self.embed_tokens(input_ids)) + self.embed_positions(input_ids.shape[-1])

    def encode_context(self, input_ids: torch.Tensor, states: torch.Tensor, mask: torch.Tensor, dropout: bool = True) -> torch.Tensor:
        """S_X from the backbone's encoder (concept vertices masked out); ``states`` are unused."""
        return self.context_encoder(input_ids=input_ids, attention_mask=mask.long(), return_dict=True).last_hidden_state

    def fuse_context(self, context: torch.Tensor, r_cog: torch.Tensor, r_aff: torch.Tensor) -> torch.Tensor:
        """S'_X = S_X + tanh(g) · eq. 18's ReLU(MLP([S_X; r_cog; r_aff])), g = 0 at initialisation."""
        return context + torch.tanh(self.fusion_gate) * super().fuse_context(context, r_cog, r_aff)


class CaseBlenderbotPreTrainedModel(MemoryCheckpointing, EmpatheticPreTrainedModel):
    config_class = CaseBlenderbotConfig
    config: CaseBlenderbotConfig
    base_model_prefix = "case_blenderbot"
    # the backbone's layers and CASE's graph layers are GradientCheckpointingLayers; the knowledge attentions inside the
    # backbone's decoder layers read memory set for one forward, which each checkpoint keeps (MemoryCheckpointing)
    supports_gradient_checkpointing = True

    def _resize_vocabulary_parts(self, size: int) -> None:
        super()._resize_vocabulary_parts(size)  # token_frequency, bow_head
        self.encoder.__dict__["embed_tokens"] = self.backbone.get_input_embeddings()  # the resized module, still shared

    def _init_weights(self, module: nn.Module) -> None:
        """CASE's modules as in CASE; the gates at 0. The backbone initialises its own (and loads its weights)."""
        super()._init_weights(module)
        if isinstance(module, GatedMemoryAttention):
            init.zeros_(module.gate)
        elif isinstance(module, CaseBackboneEncoder):
            init.zeros_(module.fusion_gate)


class CaseBlenderbotForConditionalGeneration(BackboneAccessors, EncodesContext, CaseObjectives, CaseBlenderbotPreTrainedModel, GenerationMixin):
    """CASE-BlenderBot with CASE's losses; :meth:`from_backbone` builds one around a pretrained checkpoint."""

    encoder_output_class = CaseEncoderOutput
    context_description = "the context, with CASE's knowledge inputs"

    def __init__(self, config: CaseBlenderbotConfig):
        super().__init__(config)
        d, heads = config.d_model, config.num_heads
        # the attention implementation asked of from_pretrained / from_config reaches the backbone's layers
        # and the dtype being built (from_pretrained(..., dtype=...) sets the default), not the one the backbone settings saved
        self.backbone = AutoModelForSeq2SeqLM.from_config(
            config.backbone_config(), attn_implementation=config._attn_implementation, dtype=torch.get_default_dtype()
        )
        self.encoder = CaseBackboneEncoder(config, self.backbone)
        layers = decoder_layers(self.backbone)
        decoder_type = decoder_config(config.backbone_config()).model_type
        # per decoder layer: attention to K_CS, then to K_EC, after the self-attention (§3.3)
        self.knowledge_attention = nn.ModuleList(
            nn.ModuleList(GatedMemoryAttention(d, heads, config.attention_dropout) for _ in range(2)) for _ in layers
        )  # fmt: skip
        for layer, attentions in zip(layers, self.knowledge_attention, strict=True):
            point = after_self_attention(layer, decoder_type)
            for attention in attentions:
                point.register_forward_hook(attention.hook)
        self._cache_argument = cache_argument(self.backbone)
        self.init_objectives(d, config.vocab_size)
        self.post_init()
        self.generation_config.max_new_tokens = 30  # "the maximum decoding step is set to 30"

    @classmethod
    def from_backbone(cls, backbone: str | PreTrainedModel, **config_kwargs) -> CaseBlenderbotForConditionalGeneration:
        """A new CASE-BlenderBot around a pretrained seq2seq model or checkpoint (hub id or path)."""
        backbone = pretrained_backbone(backbone)
        model = cls(CaseBlenderbotConfig(backbone=backbone.config.to_dict(), **config_kwargs))
        model.backbone.load_state_dict(backbone.state_dict())
        return model

    def get_encoder(self) -> CaseBackboneEncoder:
        return self.encoder

    def _set_knowledge(self, encoder_outputs: CaseEncoderOutput | None) -> None:
        memories = (None, None)
        if encoder_outputs is not None:
            memories = ((encoder_outputs.cognition, encoder_outputs.knowledge_mask), (encoder_outputs.concepts, encoder_outputs.concept_mask))
        for attentions in self.knowledge_attention:
            for attention, memory in zip(attentions, memories, strict=True):
                attention.memory = memory

    def response_log_probs(self, decoder_input_ids, encoder_outputs: CaseEncoderOutput, cache, use_cache):
        """The backbone's decoder with K_CS and K_EC set for the knowledge attentions; its cross-attention reads S'_X
        (eq. 18) over the context words."""
        self._set_knowledge(encoder_outputs)
        try:
            out = self.backbone(
                encoder_outputs=BaseModelOutput(last_hidden_state=encoder_outputs.last_hidden_state),
                attention_mask=encoder_outputs.context_mask.long(), decoder_input_ids=decoder_input_ids, use_cache=use_cache,
                return_dict=True, **({self._cache_argument: cache} if cache is not None else {}),
            )  # fmt: skip
        finally:
            self._set_knowledge(None)
        return out.logits.float().log_softmax(-1), output_cache(out)


__all__ = ["CaseBlenderbotForConditionalGeneration", "CaseBlenderbotPreTrainedModel"]
