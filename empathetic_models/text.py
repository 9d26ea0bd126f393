"""Word-level text normalisation shared by the data pipeline, the tokenizer and the metrics.

It reproduces how MoEL / CEM / KEMP prepared EmpatheticDialogues: lower-case, expand the contractions
of MoEL's ``word_pairs`` table by plain substring replacement, then ``nltk.word_tokenize``.
``nltk.word_tokenize`` needs NLTK's downloadable ``punkt`` model, which is not installable offline, so
sentences are split by :func:`split_sentences` (a break after ``.``, ``!`` or ``?`` followed by white
space) and each sentence goes through ``nltk.tokenize.NLTKWordTokenizer`` — the Treebank tokenizer that
``word_tokenize`` itself applies per sentence. The only difference from punkt is at abbreviations:
punkt keeps ``mr. smith`` in one sentence (tokens ``mr.`` ``smith``), here it gives ``mr`` ``.`` ``smith``.
"""

from __future__ import annotations

import re
from functools import lru_cache

from nltk.tokenize import NLTKWordTokenizer

# MoEL's ``word_pairs`` (data/loader.py), applied in this order by substring replacement.
CONTRACTIONS: dict[str, str] = {
    "it's": "it is",
    "don't": "do not",
    "doesn't": "does not",
    "didn't": "did not",
    "you'd": "you would",
    "you're": "you are",
    "you'll": "you will",
    "i'm": "i am",
    "they're": "they are",
    "that's": "that is",
    "what's": "what is",
    "couldn't": "could not",
    "i've": "i have",
    "we've": "we have",
    "can't": "cannot",
    "i'd": "i would",
    "aren't": "are not",
    "isn't": "is not",
    "wasn't": "was not",
    "weren't": "were not",
    "won't": "will not",
    "there's": "there is",
    "there're": "there are",
}

_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+")
_TREEBANK = NLTKWordTokenizer()


def normalize(text: str) -> str:
    """Lower-case ``text``, decode ED's ``_comma_`` and expand MoEL's contractions."""
    text = text.replace("_comma_", ",").lower()
    for short, full in CONTRACTIONS.items():
        text = text.replace(short, full)
    return text


def split_sentences(text: str) -> list[str]:
    """Split at white space that follows ``.``, ``!`` or ``?`` (stand-in for punkt)."""
    return [s for s in _SENTENCE_BREAK.split(text.strip()) if s]


@lru_cache(maxsize=200_000)
def _tokenize_normalized(text: str) -> tuple[str, ...]:
    return tuple(tok for sentence in split_sentences(text) for tok in _TREEBANK.tokenize(sentence))


def word_tokenize(text: str) -> list[str]:
    """MoEL-style word tokens of ``text``: :func:`normalize`, then Treebank tokens per sentence."""
    return list(_tokenize_normalized(normalize(text)))


def detokenize(tokens: list[str]) -> str:
    """Join word tokens with single spaces: the form the papers score and print."""
    return " ".join(tokens)
