"""Transformer / Multi-TRS baseline for empathetic response generation (Rashkin et al. 2019; MoEL's baseline).

Encoder input = word + position + dialogue-state (speaker/listener) embeddings of "[CLS] u_1 ... u_n";
the decoder generates the listener's response; Multi-TRS adds an emotion classifier on the encoder's
[CLS] state. Loss = generation NLL + ``emotion_loss_weight`` × emotion NLL, each term returned.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from transformers.cache_utils import DynamicCache, EncoderDecoderCache
from transformers.generation import GenerationMixin
from transformers.utils import can_return_tuple

from .configuration_empathetic_transformer import EmpatheticTransformerConfig
from .layers import (
    BlockSizes,
    EmpatheticEncoderOutput,
    EmpatheticPreTrainedModel,
    EmpatheticSeq2SeqLMOutput,
    EmpatheticSeq2SeqModelOutput,
    ScaledWordEmbedding,
    SinusoidalPositions,
    TransformerDecoderStack,
    TransformerEncoderStack,
    cached_length,
    shift_tokens_right,
)


class EmpatheticTransformerPreTrainedModel(EmpatheticPreTrainedModel):
    config_class = EmpatheticTransformerConfig
    config: EmpatheticTransformerConfig


class EmpatheticTransformerEncoder(nn.Module):
    """Context encoder: word + position + dialogue-state embeddings, then the encoder stack."""

    def __init__(self, config: EmpatheticTransformerConfig, embed_tokens: nn.Embedding):
        super().__init__()
        self.embed_tokens = embed_tokens
        self.embed_states = nn.Embedding(config.num_dialogue_states, config.d_model)
        self.embed_positions = SinusoidalPositions(config.max_position_embeddings, config.d_model)
        self.dropout = nn.Dropout(config.embedding_dropout)
        self.stack = TransformerEncoderStack(BlockSizes.from_config(config), config.encoder_layers)

    def forward(
        self,
        input_ids: torch.LongTensor,  # (B, S)
        attention_mask: torch.Tensor | None = None,  # (B, S), 1 = token
        dialogue_state_ids: torch.LongTensor | None = None,  # (B, S), 0 = speaker, 1 = listener
        **kwargs,  # generate() also passes its output_*/return_dict flags; attentions are not returned
    ) -> EmpatheticEncoderOutput:
        embeds = self.embed_tokens(input_ids) + self.embed_positions(input_ids.shape[1])
        if dialogue_state_ids is not None:
            embeds = embeds + self.embed_states(dialogue_state_ids)
        return EmpatheticEncoderOutput(last_hidden_state=self.stack(self.dropout(embeds), attention_mask))


class EmpatheticTransformerDecoder(nn.Module):
    """Response decoder: word + position embeddings, then causal self-attention + cross-attention layers."""

    def __init__(self, config: EmpatheticTransformerConfig, embed_tokens: nn.Embedding):
        super().__init__()
        self.embed_tokens = embed_tokens
        self.embed_positions = SinusoidalPositions(config.max_position_embeddings, config.d_model)
        self.dropout = nn.Dropout(config.embedding_dropout)
        self.stack = TransformerDecoderStack(BlockSizes.from_config(config), config.decoder_layers)

    def forward(self, input_ids, encoder_hidden_states, encoder_attention_mask=None, past_key_values=None):
        offset = cached_length(past_key_values)
        embeds = self.embed_tokens(input_ids) + self.embed_positions(input_ids.shape[1], offset)
        return self.stack(self.dropout(embeds), encoder_hidden_states, encoder_attention_mask, past_key_values)


class EmpatheticTransformerModel(EmpatheticTransformerPreTrainedModel):
    """Bare encoder-decoder (``AutoModel``): returns decoder hidden states."""

    _tied_weights_keys = {"encoder.embed_tokens.weight": "shared.weight", "decoder.embed_tokens.weight": "shared.weight"}

    def __init__(self, config: EmpatheticTransformerConfig):
        super().__init__(config)
        self.shared = ScaledWordEmbedding(config.vocab_size, config.d_model, config.pad_token_id, config.scale_embedding)
        self.encoder = EmpatheticTransformerEncoder(config, self.shared)
        self.decoder = EmpatheticTransformerDecoder(config, self.shared)
        self.post_init()

    def get_input_embeddings(self) -> nn.Embedding:
        return self.shared

    def set_input_embeddings(self, value: nn.Embedding) -> None:
        self.shared = self.encoder.embed_tokens = self.decoder.embed_tokens = value

    def get_encoder(self) -> EmpatheticTransformerEncoder:
        return self.encoder

    @can_return_tuple  # return_dict=False (argument or config) gives the output's tuple
    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        attention_mask: torch.Tensor | None = None,
        dialogue_state_ids: torch.LongTensor | None = None,
        decoder_input_ids: torch.LongTensor | None = None,
        encoder_outputs: EmpatheticEncoderOutput | tuple | None = None,
        cache: EncoderDecoderCache | None = None,
        use_cache: bool | None = None,
        past_key_values: EncoderDecoderCache | None = None,  # the name transformers < 5.24 passes
        **kwargs,
    ) -> EmpatheticSeq2SeqModelOutput:
        if encoder_outputs is None:
            if input_ids is None:
                raise ValueError("pass input_ids (the encoded dialogue context) or encoder_outputs")
            encoder_outputs = self.encoder(input_ids, attention_mask, dialogue_state_ids)
        elif not isinstance(encoder_outputs, EmpatheticEncoderOutput):
            encoder_outputs = EmpatheticEncoderOutput(last_hidden_state=encoder_outputs[0])
        if decoder_input_ids is None:
            raise ValueError("pass decoder_input_ids, or labels to the ForConditionalGeneration model")
        cache = cache if cache is not None else past_key_values
        use_cache = self.config.use_cache if use_cache is None else use_cache
        if use_cache and cache is None and not self.training:
            cache = EncoderDecoderCache(DynamicCache(), DynamicCache())
        hidden = self.decoder(decoder_input_ids, encoder_outputs.last_hidden_state, attention_mask, cache)
        return EmpatheticSeq2SeqModelOutput(
            last_hidden_state=hidden,
            cache=cache if use_cache else None,
            encoder_last_hidden_state=encoder_outputs.last_hidden_state,
        )


class EmpatheticTransformerForConditionalGeneration(EmpatheticTransformerPreTrainedModel, GenerationMixin):
    """Transformer (``use_emotion_classifier=False``) or Multi-TRS response generator."""

    _tied_weights_keys = {"lm_head.weight": "model.shared.weight"}

    def __init__(self, config: EmpatheticTransformerConfig):
        super().__init__(config)
        self.model = EmpatheticTransformerModel(config)
        self.lm_head = nn.Linear(config.d_model, config.vocab_size, bias=config.output_bias)
        self.emotion_head = nn.Linear(config.d_model, config.num_labels) if config.use_emotion_classifier else None
        self.classifier_dropout = nn.Dropout(config.classifier_dropout)
        self.post_init()
        self.generation_config.max_new_tokens = 30  # the papers decode at most 30 steps, greedily

    def get_encoder(self) -> EmpatheticTransformerEncoder:
        return self.model.encoder

    def get_output_embeddings(self) -> nn.Linear:
        return self.lm_head

    def set_output_embeddings(self, value: nn.Linear) -> None:
        self.lm_head = value

    @can_return_tuple  # return_dict=False (argument or config) gives the output's tuple
    def forward(
        self,
        input_ids: torch.LongTensor | None = None,  # (B, S) "[CLS] context" word ids
        attention_mask: torch.Tensor | None = None,  # (B, S)
        dialogue_state_ids: torch.LongTensor | None = None,  # (B, S)
        decoder_input_ids: torch.LongTensor | None = None,  # (B, T)
        encoder_outputs: EmpatheticEncoderOutput | tuple | None = None,
        cache: EncoderDecoderCache | None = None,
        labels: torch.LongTensor | None = None,  # (B, T) response ids + EOS, -100 = ignored
        emotion_labels: torch.LongTensor | None = None,  # (B,)
        use_cache: bool | None = None,
        past_key_values: EncoderDecoderCache | None = None,  # the name transformers < 5.24 passes
        **kwargs,
    ) -> EmpatheticSeq2SeqLMOutput:
        if labels is not None and decoder_input_ids is None:
            decoder_input_ids = shift_tokens_right(labels, self.config.pad_token_id, self.config.decoder_start_token_id)
            use_cache = False
        outputs = self.model(
            input_ids, attention_mask, dialogue_state_ids, decoder_input_ids, encoder_outputs,
            cache=cache if cache is not None else past_key_values, use_cache=use_cache,
        )  # fmt: skip
        emotion_logits = None
        if self.emotion_head is not None:
            emotion_logits = self.emotion_head(self.classifier_dropout(outputs.encoder_last_hidden_state[:, 0]))  # (B, E) from [CLS]

        loss = generation_loss = emotion_loss = logits = None
        if labels is not None and self.training:
            # training reads the vocabulary projection at the response tokens only (43 % of a padded ED batch of
            # 16): the same loss, without projecting padding; ``logits`` stays None
            response = labels.ne(-100)
            response_logits = self.lm_head(outputs.last_hidden_state[response])  # (N, V)
            generation_loss = F.cross_entropy(response_logits.float(), labels[response], label_smoothing=self.config.label_smoothing)
            loss = generation_loss
        else:
            logits = self.lm_head(outputs.last_hidden_state)  # (B, T, V)
            if labels is not None:
                generation_loss = F.cross_entropy(logits.flatten(0, 1).float(), labels.flatten())  # no smoothing outside training
                loss = generation_loss
        if emotion_labels is not None and emotion_logits is not None:
            emotion_loss = F.cross_entropy(emotion_logits.float(), emotion_labels)
            loss = emotion_loss * self.config.emotion_loss_weight if loss is None else loss + emotion_loss * self.config.emotion_loss_weight
        return EmpatheticSeq2SeqLMOutput(
            loss=loss,
            logits=logits,
            emotion_logits=emotion_logits,
            generation_loss=generation_loss,
            emotion_loss=emotion_loss,
            cache=outputs.cache,
            encoder_last_hidden_state=outputs.encoder_last_hidden_state,
        )


__all__ = [
    "EmpatheticTransformerForConditionalGeneration",
    "EmpatheticTransformerModel",
    "EmpatheticTransformerPreTrainedModel",
]
