"""Shared fixtures: the embedded ED sample, a word tokenizer built on it, a tiny seeded model and a saved checkpoint.

Everything is local (no network): the sample ships with the package and the model is random and tiny
(d_model 16) so the whole modeling/tokenization suite runs in seconds on CPU.
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests must never download
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest  # noqa: E402
import torch  # noqa: E402

import empathetic_models  # noqa: E402,F401  (registers the Auto classes)
from collections import Counter  # noqa: E402

from transformers import BertConfig, BertForSequenceClassification, BertTokenizer  # noqa: E402

from empathetic_models.data import load_empathetic_dialogues  # noqa: E402
from empathetic_models.text import word_tokenize  # noqa: E402
from empathetic_models.tokenization import build_word_tokenizer, vocabulary_texts  # noqa: E402

# Tiny model dimensions used throughout the tests. A large ``init_std`` makes the random model's outputs
# depend clearly on its inputs, so "same tokens" comparisons between decoding paths are meaningful.
TINY_CONFIG = dict(d_model=16, attention_dim=8, ffn_dim=16, num_heads=2, init_std=0.5, max_position_embeddings=256)
SEED = 1234


def make_tiny_model(tokenizer, seed: int = SEED, **overrides):
    """A seeded tiny ``EmpatheticTransformerForConditionalGeneration`` in eval mode."""
    from transformers import AutoConfig, AutoModelForSeq2SeqLM

    config = AutoConfig.for_model("empathetic_transformer", **{"vocab_size": len(tokenizer), **TINY_CONFIG, **overrides})
    torch.manual_seed(seed)
    return AutoModelForSeq2SeqLM.from_config(config).eval()


@pytest.fixture(scope="session")
def sample_ed():
    """DatasetDict (train/valid/test) of response examples from the embedded sample."""
    return load_empathetic_dialogues("sample")


@pytest.fixture(scope="session")
def word_tokenizer(sample_ed):
    """Word-level fast tokenizer built from the sample's train contexts, targets and situations."""
    return build_word_tokenizer(vocabulary_texts(sample_ed["train"]))


@pytest.fixture
def tiny_model(word_tokenizer):
    """Fresh (per test, so tests may train it) tiny seeded Multi-TRS model in eval mode."""
    return make_tiny_model(word_tokenizer)


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory, word_tokenizer):
    """A folder holding a tiny model (``save_pretrained``) and its tokenizer; returns its path."""
    folder = tmp_path_factory.mktemp("checkpoint") / "tiny_empathetic_transformer"
    make_tiny_model(word_tokenizer).save_pretrained(folder)
    word_tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_cause_encoder(tmp_path_factory):
    """A tiny random BERT with a word-piece vocabulary of the sample's words, saved like a hub checkpoint."""
    folder = tmp_path_factory.mktemp("tiny_bert")
    sample = load_empathetic_dialogues("sample")["train"]
    words = Counter(w for context in sample["context"] for u in context for w in word_tokenize(u))
    vocab = list(dict.fromkeys(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "happiness", *sorted(w for w, _ in words.most_common(500))]))
    tokenizer = BertTokenizer(vocab={w: i for i, w in enumerate(vocab)})
    config = BertConfig(vocab_size=len(vocab), hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
                        max_position_embeddings=256, num_labels=2)  # fmt: skip
    torch.manual_seed(0)
    BertForSequenceClassification(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_bart(tmp_path_factory):
    """A tiny random BART with a word-level tokenizer (lower-cased words of ED + ATOMIC-style text), saved
    like a hub checkpoint: the stand-in for COMET-ATOMIC2020 / facebook/bart-* in tests."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import BartConfig, BartForConditionalGeneration, PreTrainedTokenizerFast

    folder = tmp_path_factory.mktemp("tiny_bart")
    sample = load_empathetic_dialogues("sample")["train"]
    words = Counter(w for context in sample["context"] for u in context for w in u.lower().split())
    extra = "personx persony to be happy sad go home eat a dog xintent xneed xwant xeffect xreact xattr [gen]".split()
    vocab = list(dict.fromkeys(["<pad>", "<s>", "</s>", "<unk>", *extra, *sorted(w for w, _ in words.most_common(400))]))
    backend = Tokenizer(models.WordLevel({w: i for i, w in enumerate(vocab)}, unk_token="<unk>"))
    backend.normalizer = normalizers.Lowercase()
    backend.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    backend.post_processor = processors.TemplateProcessing(single="<s> $A </s>", special_tokens=[("<s>", 1), ("</s>", 2)])
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, bos_token="<s>", eos_token="</s>", pad_token="<pad>", unk_token="<unk>")
    config = BartConfig(vocab_size=len(vocab), d_model=16, encoder_layers=1, decoder_layers=1, encoder_attention_heads=2,
                        decoder_attention_heads=2, encoder_ffn_dim=32, decoder_ffn_dim=32, max_position_embeddings=128,
                        pad_token_id=0, bos_token_id=1, eos_token_id=2, decoder_start_token_id=2, forced_eos_token_id=2)  # fmt: skip
    torch.manual_seed(0)
    BartForConditionalGeneration(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
