"""Configuration of NEC (nec.txt): a pretrained seq2seq backbone with entity and social commonsense, contrastive
training and similarity-re-ranked beam search."""

from __future__ import annotations

from transformers import PretrainedConfig

from .backbone_blocks import backbone_config, decoder_config

NEGATIVE_SOURCES = ("diff_emotion", "self_generated", "batch", "high_frequency")  # D, y', B, H (§3.4)


class NecConfig(PretrainedConfig):
    r"""NEC: a pretrained seq2seq backbone with entity knowledge in its input, an attention over social knowledge in
    every decoder layer, contrastive training and similarity-re-ranked beam search.

    Args:
        backbone (`dict`): the seq2seq backbone's config (``config.to_dict()`` of e.g. ``facebook/bart-base``, a
            BlenderbotSmall or an ``EncoderDecoderModel``); :meth:`NecForConditionalGeneration.from_backbone` fills it.
        knowledge_heads (`int`, *optional*): heads of the attention over the social knowledge K_S added to every
            decoder layer (default: the backbone decoder's).
        projection_dim (`int`, *optional*): size of z_x / z_y, CoNT's ReLU projection (default: the hidden size).
        alpha (`float`): eq. 15's balance of S_sim and S_lm at decoding (0 = plain beam search).
        lm_score (`str`): S_lm as the official code (``"normalized"``: mean token log-probability) or eq. 14
            (``"probability"``: the product of the token probabilities).
        gamma (`float`): ξ = γ (rank(y⁻) − rank(y⁺)) in eq. 11.
        contrastive (`bool`): add L_CL to L_NLL (eq. 9); off for the NLL phase.
        negatives (`list[str]`): which of :data:`NEGATIVE_SOURCES` give y⁻ (Table 4's w/o SelfGen / HighFreq / DiffEmo
            drop one each).
        self_generated (`int`): beams (and own outputs y′) generated per example for the y′ negatives.
        use_entity_knowledge (`bool`): put L(K_E) into the encoder input (eq. 3); read by the featurizer.
        use_social_knowledge (`bool`): the decoder's attention over K_S (eq. 8).
    """

    model_type = "nec"
    has_no_defaults_at_init = True

    def __init__(
        self,
        backbone: dict | None = None,
        knowledge_heads: int | None = None,
        projection_dim: int | None = None,
        alpha: float = 0.7,
        lm_score: str = "normalized",
        gamma: float = 0.01,
        contrastive: bool = False,
        negatives: list[str] | tuple[str, ...] = NEGATIVE_SOURCES,
        self_generated: int = 5,
        use_entity_knowledge: bool = True,
        use_social_knowledge: bool = True,
        **kwargs,
    ):
        if backbone is None:
            raise ValueError("NecConfig needs backbone=<a seq2seq config dict>; use NecForConditionalGeneration.from_backbone(name_or_path)")
        unknown = set(negatives) - set(NEGATIVE_SOURCES)
        if unknown:
            raise ValueError(f"unknown negative sources {sorted(unknown)}; known: {NEGATIVE_SOURCES}")
        if lm_score not in ("normalized", "probability"):
            raise ValueError(f"lm_score must be 'normalized' or 'probability', got {lm_score!r}")
        self.backbone = dict(backbone)
        inner = self.backbone_config()
        for key in ("pad_token_id", "bos_token_id", "eos_token_id", "decoder_start_token_id"):
            if kwargs.get(key) is None:
                kwargs[key] = getattr(inner, key, None)
        if kwargs.get("decoder_start_token_id") is None and getattr(inner, "decoder", None) is not None:
            kwargs["decoder_start_token_id"] = inner.decoder.bos_token_id
        self.knowledge_heads = knowledge_heads
        self.projection_dim = projection_dim
        self.alpha = alpha
        self.lm_score = lm_score
        self.gamma = gamma
        self.contrastive = contrastive
        self.negatives = list(negatives)
        self.self_generated = self_generated
        self.use_entity_knowledge = use_entity_knowledge
        self.use_social_knowledge = use_social_knowledge
        kwargs["is_encoder_decoder"] = True
        super().__init__(**kwargs)

    def backbone_config(self) -> PretrainedConfig:
        return backbone_config(self.backbone)

    def get_text_config(self, decoder=None, encoder=None) -> PretrainedConfig:
        """The backbone's (generation sizes its key/value cache from the decoder's layers)."""
        return self.backbone_config().get_text_config(decoder=decoder, encoder=encoder)

    @property
    def vocab_size(self) -> int:
        return decoder_config(self.backbone_config()).vocab_size

    @property
    def max_position_embeddings(self) -> int:
        """The longest input the backbone's decoder (and so the whole model) takes."""
        return decoder_config(self.backbone_config()).max_position_embeddings

    @property
    def hidden_size(self) -> int:
        inner = decoder_config(self.backbone_config())
        return getattr(inner, "d_model", None) or inner.hidden_size
