"""Word-level tokenizer for the from-scratch models, saved as a ``PreTrainedTokenizerFast``.

The vocabulary is every word of the training split (contexts, targets and situations) after
:func:`empathetic_models.text.word_tokenize`, most frequent first. Our featurizers map
``word_tokenize`` output to ids directly, which is exactly MoEL's preprocessing. The saved
``tokenizer.json`` also carries a normalizer + regex pre-tokenizer that reproduces those word tokens on
raw text (98–99 % of ED utterances tokenize identically; differences are rare forms such as ``did'nt``),
so ``AutoTokenizer.from_pretrained(checkpoint)("I'm fine!")`` works without this package.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers
from transformers import PreTrainedTokenizerFast

from .text import CONTRACTIONS, word_tokenize

PAD, UNK, BOS, EOS, CLS = "[PAD]", "[UNK]", "[SOS]", "[EOS]", "[CLS]"
SPECIAL_TOKENS = (PAD, UNK, BOS, EOS, CLS)  # ids 0..4, the defaults of the model configs

# Treebank-like word pieces, tried in order: quotes, ellipses, dashes, clitics, gonna/wanna/gotta, n't, words, symbols.
_WORD_PATTERN = (
    r"``|''|\.{2,}|--|n't\b|'(?:s|m|d|ll|re|ve)\b|(?:gon|wan)(?=na\b)|got(?=ta\b)|[a-z0-9]+(?=n't\b)"
    r"|[0-9]+(?:,[0-9]{3})+|[a-z0-9]+(?:[.&_/-][a-z0-9]+)*|\S"
)


def _raw_text_pipeline(tokenizer: Tokenizer) -> None:
    """Attach the normalizer / pre-tokenizer that mimic :func:`word_tokenize` on raw text."""
    steps = [normalizers.Replace("_comma_", ","), normalizers.Lowercase()]
    steps += [normalizers.Replace(short, full) for short, full in CONTRACTIONS.items()]
    steps += [
        normalizers.Replace(Regex(r"\bcannot\b"), "can not"),
        normalizers.Replace(Regex(r'^"|(?<=[\s(\[{<])"'), " `` "),  # opening double quote
        normalizers.Replace('"', " '' "),  # closing double quote
    ]
    tokenizer.normalizer = normalizers.Sequence(steps)
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Split(Regex(_WORD_PATTERN), behavior="isolated")]
    )


def vocabulary_texts(train_split) -> list[str]:
    """The texts a word vocabulary is built from: every utterance and situation of an ED training split once
    (an utterance recurs in the contexts of later turns)."""
    utterances = (u for context in train_split["context"] for u in context)
    return list(dict.fromkeys([*utterances, *train_split["target"], *train_split["situation"]]))


def count_words(texts: Iterable[str]) -> Counter:
    """Word frequencies of ``texts`` under :func:`word_tokenize`."""
    counts: Counter = Counter()
    for text in texts:
        counts.update(word_tokenize(text))
    return counts


def build_word_tokenizer(
    texts: Iterable[str], min_frequency: int = 1, max_vocab_size: int | None = None
) -> PreTrainedTokenizerFast:
    """Build the word vocabulary from ``texts`` (the training split) and wrap it for ``AutoTokenizer``."""
    counts = count_words(texts)
    words = sorted((w for w, c in counts.items() if c >= min_frequency and w not in SPECIAL_TOKENS), key=lambda w: (-counts[w], w))
    if max_vocab_size is not None:
        words = words[: max(max_vocab_size - len(SPECIAL_TOKENS), 0)]
    if not words:
        raise ValueError("cannot build a vocabulary: the training texts contain no words")
    vocab = {token: i for i, token in enumerate((*SPECIAL_TOKENS, *words))}
    backend = Tokenizer(models.WordLevel(vocab, unk_token=UNK))
    _raw_text_pipeline(backend)
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        pad_token=PAD,
        unk_token=UNK,
        bos_token=BOS,
        eos_token=EOS,
        cls_token=CLS,
        model_max_length=1000,
        clean_up_tokenization_spaces=False,
    )
