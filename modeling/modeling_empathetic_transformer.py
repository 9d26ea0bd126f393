"""Transformer / Multi-TRS baseline for empathetic response generation (Rashkin et al. 2019; MoEL's baseline).

Encoder input = word + position + dialogue-state (speaker/listener) embeddings of "[CLS] u_1 ... u_n";
the decoder generates the listener's response; Multi-TRS adds an emotion classifier on the encoder's
[CLS] state. Loss = generation NLL + ``emotion_loss_weight`` × emotion NLL, each term returned.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from transformers.cache_utils import EncoderDecoderCache
from transformers.generation import GenerationMixin

from .configuration_empathetic_transformer import EmpatheticTransformerConfig
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
)


class EmpatheticTransformerPreTrainedModel(EmpatheticPreTrainedModel):
    config_class = EmpatheticTransformerConfig
    config: EmpatheticTransformerConfig


class EmpatheticTransformerEncoder(WordEmbedder):
    """Context encoder: word + position + dialogue-state embeddings, then the encoder stack."""

    def __init__(self, config: EmpatheticTransformerConfig, embed_tokens: nn.Embedding):
        super().__init__(config, embed_tokens)
        self.embed_states = nn.Embedding(config.num_dialogue_states, config.d_model)
        self.stack = TransformerEncoderStack(BlockSizes.from_config(config), config.encoder_layers)

    def forward(
        self,
        input_ids: torch.LongTensor,  # (B, S)
        attention_mask: torch.Tensor | None = None,  # (B, S), 1 = token
        dialogue_state_ids: torch.LongTensor | None = None,  # (B, S), 0 = speaker, 1 = listener
        **kwargs,  # generate() also passes its output_*/return_dict flags; attentions are not returned
    ) -> EmpatheticEncoderOutput:
        embeds = self.embed(input_ids)
        if dialogue_state_ids is not None:
            embeds = embeds + self.embed_states(dialogue_state_ids)
        return EmpatheticEncoderOutput(last_hidden_state=self.stack(self.dropout(embeds), attention_mask))


class EmpatheticTransformerDecoder(WordEmbedder):
    """Response decoder: word + position embeddings, then causal self-attention + cross-attention layers."""

    def __init__(self, config: EmpatheticTransformerConfig, embed_tokens: nn.Embedding):
        super().__init__(config, embed_tokens)
        self.stack = TransformerDecoderStack(BlockSizes.from_config(config), config.decoder_layers)

    def forward(self, input_ids, encoder_hidden_states, encoder_attention_mask=None, past_key_values=None):
        embeds = self.embed(input_ids, cached_length(past_key_values))
        return self.stack(self.dropout(embeds), encoder_hidden_states, encoder_attention_mask, past_key_values)


class EmpatheticTransformerModel(EmpatheticTransformerPreTrainedModel, EmpatheticEncoderDecoderModel):
    """Bare encoder-decoder (``AutoModel``): returns decoder hidden states."""

    encoder_class, decoder_class = EmpatheticTransformerEncoder, EmpatheticTransformerDecoder

    def decode(self, decoder_input_ids, encoder_outputs, attention_mask, cache):
        return self.decoder(decoder_input_ids, encoder_outputs.last_hidden_state, attention_mask, cache)  # the context's mask


class EmpatheticTransformerForConditionalGeneration(EmpatheticTransformerPreTrainedModel, EmpatheticForConditionalGeneration, GenerationMixin):
    """Transformer (``use_emotion_classifier=False``) or Multi-TRS response generator."""

    bare_model_class = EmpatheticTransformerModel

    def __init__(self, config: EmpatheticTransformerConfig):
        super().__init__(config)
        self.emotion_head = nn.Linear(config.d_model, config.num_labels) if config.use_emotion_classifier else None
        self.classifier_dropout = nn.Dropout(config.classifier_dropout)
        self.post_init()
        self.generation_config.max_new_tokens = 30  # the papers decode at most 30 steps, greedily

    @model_forward
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
        **kwargs,
    ) -> EmpatheticSeq2SeqLMOutput:
        decoder_input_ids, use_cache = teacher_forcing(labels, decoder_input_ids, use_cache, self.config)
        encoder_outputs = self.encode(input_ids, encoder_outputs, attention_mask=attention_mask, dialogue_state_ids=dialogue_state_ids)
        outputs = self.model(
            attention_mask=attention_mask, decoder_input_ids=decoder_input_ids, encoder_outputs=encoder_outputs, cache=cache, use_cache=use_cache,
            return_dict=True,  # the bare model's output whatever config.return_dict says
        )
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
