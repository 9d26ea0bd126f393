"""Configuration of CASE-BlenderBot (case.txt §4.5): CASE whose context encoder and decoder are a pretrained seq2seq
backbone's (BlenderBot-small in the paper)."""

from __future__ import annotations

from transformers import PretrainedConfig

from .backbone_blocks import backbone_config, decoder_config
from .configuration_case import CaseFields
from .configuration_common import NEVER_READ, EmpatheticConfig


class CaseBlenderbotConfig(CaseFields, EmpatheticConfig):
    r"""CASE's settings (:class:`~.configuration_case.CaseFields`: layers of its own encoders, N′, l, ablations, loss
    weights) around a backbone; :meth:`CaseBlenderbotForConditionalGeneration.from_backbone` fills ``backbone``.

    Sizes follow the backbone's decoder (values given for them are replaced): ``d_model``, ``num_heads`` (also of the
    new K_CS / K_EC attentions), ``attention_dim`` (= ``d_model``), ``ffn_dim`` of CASE's own encoders,
    ``vocab_size`` and ``max_position_embeddings``. Token ids left unset are the backbone's; ``cls_token_id`` (the
    [CLS] of G_CS vertices, reactions and G_EC) defaults to its BOS. The context encoder, the decoder and their word
    embedding are the backbone's: there are no layer counts, embedding scale, output bias or dialogue-state
    embeddings of CASE's own.

    Args:
        backbone (`dict`): the backbone's ``config.to_dict()`` (BlenderbotSmall, BART, or a BERT-style
            ``EncoderDecoderModel``).
    """

    model_type = "case_blenderbot"
    bare_model_class = None  # no bare AutoModel: the backbone's encoder-decoder is the base
    has_no_defaults_at_init = True
    # CASE's own encoder-decoder settings, which the backbone replaces, and the switches CASE never read
    removed_fields = (*NEVER_READ, "encoder_layers", "decoder_layers", "scale_embedding", "output_bias", "num_dialogue_states",
                      "use_emotion_classifier", "classifier_dropout")  # fmt: skip

    backbone: dict | None = None
    pad_token_id: int | None = None
    bos_token_id: int | None = None
    eos_token_id: int | list[int] | None = None
    cls_token_id: int | None = None
    decoder_start_token_id: int | None = None
    tie_word_embeddings: bool = False  # the backbone ties its own

    def __post_init__(self, **kwargs):
        if self.backbone is None:
            raise ValueError("CaseBlenderbotConfig needs backbone=<a seq2seq config dict>; use CaseBlenderbotForConditionalGeneration.from_backbone(name_or_path)")
        inner = self.backbone_config()
        decoder = decoder_config(inner)
        self.d_model = getattr(decoder, "d_model", None) or decoder.hidden_size
        self.num_heads = getattr(decoder, "decoder_attention_heads", None) or decoder.num_attention_heads
        self.attention_dim = self.d_model
        self.ffn_dim = getattr(decoder, "decoder_ffn_dim", None) or decoder.intermediate_size
        self.vocab_size = decoder.vocab_size
        self.max_position_embeddings = decoder.max_position_embeddings
        for key in ("pad_token_id", "bos_token_id", "eos_token_id", "decoder_start_token_id"):
            if getattr(self, key) is None:
                setattr(self, key, getattr(inner, key, None) if getattr(inner, key, None) is not None else getattr(decoder, key, None))
        if self.decoder_start_token_id is None:
            self.decoder_start_token_id = self.bos_token_id
        if self.cls_token_id is None:
            self.cls_token_id = self.bos_token_id
        super().__post_init__(**kwargs)

    def backbone_config(self) -> PretrainedConfig:
        return backbone_config(self.backbone)

    def get_text_config(self, decoder=None, encoder=None) -> PretrainedConfig:
        """The backbone's (generation sizes its key/value cache from the decoder's layers)."""
        return self.backbone_config().get_text_config(decoder=decoder, encoder=encoder)


__all__ = ["CaseBlenderbotConfig"]
