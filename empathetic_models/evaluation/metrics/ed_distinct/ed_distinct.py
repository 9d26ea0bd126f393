"""``ed_distinct``: corpus-level Distinct-1/2 (Li et al., 2016) and average length, on MoEL-style word tokens."""

from collections import Counter

import datasets
import evaluate

from empathetic_models.text import word_tokenize

_DESCRIPTION = """\
Distinct-n (Li et al., 2016) at corpus level, as computed by MoEL / KEMP / CEM / CASE: the number of
distinct n-grams over all generated responses divided by the total number of n-grams in them. N-grams
never cross a response boundary. Tokens come from `empathetic_models.text.word_tokenize` (lower-case,
MoEL's contraction expansion, NLTK Treebank tokens). Reported x 100, as in the CASE / KEMP / IMAGINE
tables (the emotion-cause paper, Gao et al. 2021, reports the fraction: divide by 100 to compare).
Also the average response length in tokens, which exposes degenerate short or looping output.
"""

_CITATION = """\
@inproceedings{li2016diversity,
  title={A Diversity-Promoting Objective Function for Neural Conversation Models},
  author={Li, Jiwei and Galley, Michel and Brockett, Chris and Gao, Jianfeng and Dolan, Bill},
  booktitle={NAACL-HLT}, year={2016}, pages={110--119}
}
"""

_KWARGS_DESCRIPTION = """\
Args:
    predictions (`list` of `str`): generated responses, raw text (references are not used).
    tokenize (`bool`, default `True`): tokenize with `word_tokenize`; `False` when the strings are
        already word tokens joined by single spaces.
Returns:
    dist_1, dist_2 (`float`): 100 * |{distinct n-grams}| / #n-grams, n-grams pooled over all responses
        (0.0 when the responses hold no n-gram of that order).
    avg_length (`float`): mean number of tokens per response.
Examples:
    >>> distinct = evaluate.load("/path/to/ed_distinct")
    >>> distinct.compute(predictions=["a b a", "a b"])
    {'dist_1': 40.0, 'dist_2': 66.66666666666666, 'avg_length': 2.5}
"""


def distinct_n(token_lists, n):
    """Fraction of distinct n-grams among all n-grams of ``token_lists`` (0.0 when there are none)."""
    ngrams = Counter(tuple(tokens[i : i + n]) for tokens in token_lists for i in range(len(tokens) - n + 1))
    total = sum(ngrams.values())
    return len(ngrams) / total if total else 0.0


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class EdDistinct(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features({"predictions": datasets.Value("string")}),
            reference_urls=["https://aclanthology.org/N16-1014/"],
        )

    def _compute(self, predictions, tokenize=True):
        split = word_tokenize if tokenize else str.split
        token_lists = [split(p) for p in predictions]
        out = {f"dist_{n}": 100.0 * distinct_n(token_lists, n) for n in (1, 2)}
        out["avg_length"] = sum(map(len, token_lists)) / len(token_lists) if token_lists else 0.0
        return out
