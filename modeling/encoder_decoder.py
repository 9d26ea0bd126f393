"""The encoder-decoder shell every from-scratch model of this folder shares.

- :func:`model_forward`: the decorators of every model's forward; its key/value cache keyword is ``cache`` (transformers
  5.24's name) and ``past_key_values`` (the name transformers < 5.24 passes) is renamed by transformers' ``deprecate_kwarg``
  (:data:`renamed_cache_argument`).
- :func:`teacher_forcing` and :class:`EncodesContext`: a forward's decoder inputs and encoder outputs.
- :class:`EmpatheticEncoderDecoderModel`: the bare model (``AutoModel``): the word embedding ``shared``, an encoder and
  a decoder that both read it, and the forward that runs them with a key/value cache.
- :class:`EmpatheticForConditionalGeneration`: what each ``...ForConditionalGeneration`` adds around the bare model:
  the vocabulary projection ``lm_head`` tied to the word embedding.
"""

from __future__ import annotations

import torch
from torch import nn
from transformers.cache_utils import DynamicCache, EncoderDecoderCache
from transformers.utils import can_return_tuple
from transformers.utils.deprecation import deprecate_kwarg

from .layers import (
    EmpatheticEncoderOutput,
    EmpatheticPreTrainedModel,
    EmpatheticSeq2SeqModelOutput,
    ScaledWordEmbedding,
    shift_tokens_right,
)

renamed_cache_argument = deprecate_kwarg("past_key_values", "5.40.0", new_name="cache")  # as transformers' own models


def model_forward(forward):
    """The decorators of every model's ``forward``: ``return_dict=False`` (argument or config) gives the output's tuple
    (transformers' ``can_return_tuple``), and ``past_key_values`` is renamed ``cache`` (:data:`renamed_cache_argument`)."""
    return can_return_tuple(renamed_cache_argument(forward))


def teacher_forcing(labels: torch.LongTensor | None, decoder_input_ids: torch.LongTensor | None, use_cache: bool | None, config):
    """``(decoder_input_ids, use_cache)`` of a forward: with ``labels`` and no decoder inputs, the teacher-forcing prefix
    [start] + labels[:-1], decoded without a cache; else both as given."""
    if labels is not None and decoder_input_ids is None:
        return shift_tokens_right(labels, config.pad_token_id, config.decoder_start_token_id), False
    return decoder_input_ids, use_cache


class EncodesContext:
    """Mixin (listed before the ``PreTrainedModel`` base) of a model with an ``encoder`` returning an
    ``encoder_output_class``: :meth:`encode` gives a forward's encoder outputs. ``context_description`` says in errors
    what ``input_ids`` hold."""

    encoder_output_class: type[EmpatheticEncoderOutput] = EmpatheticEncoderOutput
    context_description = "the encoded dialogue context"

    def encode(self, input_ids: torch.LongTensor | None, encoder_outputs=None, **encoder_inputs) -> EmpatheticEncoderOutput:
        """``encoder_outputs`` when given (checked to be this encoder's), else the encoder on ``input_ids`` and ``encoder_inputs``."""
        if encoder_outputs is None:
            if input_ids is None:
                raise ValueError(f"pass input_ids ({self.context_description}) or encoder_outputs")
            return self.encoder(input_ids, **encoder_inputs)
        if isinstance(encoder_outputs, self.encoder_output_class):
            return encoder_outputs
        if self.encoder_output_class is EmpatheticEncoderOutput:  # a tuple (hidden states,) as transformers' models take
            return EmpatheticEncoderOutput(last_hidden_state=encoder_outputs[0])
        raise TypeError(f"{type(self).__name__} needs the {self.encoder_output_class.__name__} of its own encoder, "
                        f"got {type(encoder_outputs).__name__}")  # fmt: skip


class EmpatheticEncoderDecoderModel(EncodesContext, EmpatheticPreTrainedModel):
    """Bare encoder-decoder (``AutoModel``): ``encoder_class(config, shared)`` and ``decoder_class(config, shared)`` around
    the word embedding ``shared`` (``ScaledWordEmbedding``), returning the decoder states.

    The encoder returns an ``encoder_output_class`` holding what the decoder reads; the decoder is called as
    ``decoder(decoder_input_ids, encoder_outputs, cache)`` (:meth:`decode`) and its result named by :meth:`model_output`."""

    encoder_class: type[nn.Module]
    decoder_class: type[nn.Module]
    _tied_weights_keys = {"encoder.embed_tokens.weight": "shared.weight", "decoder.embed_tokens.weight": "shared.weight"}  # noqa: RUF012

    def __init__(self, config):
        super().__init__(config)
        self.shared = ScaledWordEmbedding(config.vocab_size, config.d_model, config.pad_token_id, config.scale_embedding)
        self.build_encoder_decoder(config)
        self.post_init()

    def build_encoder_decoder(self, config) -> None:
        self.encoder = self.encoder_class(config, self.shared)
        self.decoder = self.decoder_class(config, self.shared)

    def get_input_embeddings(self) -> nn.Embedding:
        return self.shared

    def set_input_embeddings(self, value: nn.Embedding) -> None:
        self.shared = self.encoder.embed_tokens = self.decoder.embed_tokens = value

    def get_encoder(self) -> nn.Module:
        return self.encoder

    def decode(self, decoder_input_ids: torch.LongTensor, encoder_outputs, attention_mask: torch.Tensor | None, cache):
        """The decoder over ``encoder_outputs``, which hold the masks it needs (``attention_mask`` is the context's)."""
        return self.decoder(decoder_input_ids, encoder_outputs, cache)

    def model_output(self, decoded, cache, encoder_outputs) -> EmpatheticSeq2SeqModelOutput:
        return EmpatheticSeq2SeqModelOutput(last_hidden_state=decoded, cache=cache, encoder_last_hidden_state=encoder_outputs.last_hidden_state)

    @model_forward
    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        attention_mask: torch.Tensor | None = None,
        decoder_input_ids: torch.LongTensor | None = None,
        encoder_outputs: EmpatheticEncoderOutput | tuple | None = None,
        cache: EncoderDecoderCache | None = None,
        use_cache: bool | None = None,
        **kwargs,  # the encoder's other inputs (see its forward)
    ) -> EmpatheticSeq2SeqModelOutput:
        encoder_outputs = self.encode(input_ids, encoder_outputs, attention_mask=attention_mask, **kwargs)
        if decoder_input_ids is None:
            raise ValueError(f"pass decoder_input_ids, or labels to {type(self).__name__.removesuffix('Model')}ForConditionalGeneration")
        use_cache = self.config.use_cache if use_cache is None else use_cache
        if use_cache and cache is None and not self.training:
            cache = EncoderDecoderCache(DynamicCache(), DynamicCache())
        decoded = self.decode(decoder_input_ids, encoder_outputs, attention_mask, cache)
        return self.model_output(decoded, cache if use_cache else None, encoder_outputs)


class EmpatheticForConditionalGeneration(EmpatheticPreTrainedModel):
    """The bare ``bare_model_class`` as ``model`` and the vocabulary projection ``lm_head`` (tied to its word embedding
    when ``tie_word_embeddings``); subclasses add their heads, then call ``post_init``. Listed before
    ``GenerationMixin``, which each subclass inherits directly (as transformers detects generative models)."""

    bare_model_class: type[EmpatheticEncoderDecoderModel]
    _tied_weights_keys = {"lm_head.weight": "model.shared.weight"}  # noqa: RUF012

    def __init__(self, config):
        super().__init__(config)
        self.model = self.bare_model_class(config)
        self.lm_head = nn.Linear(config.d_model, config.vocab_size, bias=self.lm_head_bias(config))

    def lm_head_bias(self, config) -> bool:
        return config.output_bias

    def get_encoder(self) -> nn.Module:
        return self.model.encoder

    def get_output_embeddings(self) -> nn.Linear:
        return self.lm_head

    def set_output_embeddings(self, value: nn.Linear) -> None:
        self.lm_head = value

    def encode(self, input_ids: torch.LongTensor | None, encoder_outputs=None, **encoder_inputs) -> EmpatheticEncoderOutput:
        """The bare model's :meth:`~EncodesContext.encode`."""
        return self.model.encode(input_ids, encoder_outputs, **encoder_inputs)


__all__ = [
    "EmpatheticEncoderDecoderModel",
    "EmpatheticForConditionalGeneration",
    "EncodesContext",
    "model_forward",
    "renamed_cache_argument",
    "teacher_forcing",
]
