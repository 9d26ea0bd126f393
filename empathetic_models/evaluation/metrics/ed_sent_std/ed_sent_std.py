"""``ed_sent_std``: sentence-level diversity, NEC's Sent-Std (eq. 16) and the top-5 sentence share."""

import math
from collections import Counter

import datasets
import evaluate

from empathetic_models.text import split_sentences, word_tokenize

_DESCRIPTION = """\
Sent-Std (Huangfu et al., 2024, "Non-Emotion-Centric Empathetic Dialogue Generation", eq. 16): the
population standard deviation of how often each distinct generated sentence occurs,
    Sent-Std = sqrt(1/N * sum_{i=1..N} (count(s_i) - mu)^2),
over the N distinct generated sentences s_i, with mu = (number of sentences) / N their mean count.
Lower is more even, i.e. more diverse at the sentence level. By default (`unit="sentence"`) each
generated response is split into sentences (`empathetic_models.text.split_sentences`: a break after
`.`, `!` or `?` followed by white space) and each sentence is compared as
`" ".join(word_tokenize(sentence))` (lower-case, MoEL's contraction expansion, NLTK Treebank tokens), so
case and spacing differences do not count as different sentences. The sentence is the default because
NEC's eq. 16 speaks of sentences, and on MoEL's released test generations it gives Sent-Std 40.76 against
the 40.15 NEC's Table 2 reports for MoEL, while whole responses give 7.06. `unit="response"` counts whole
responses (normalised the same way) instead. Also returns the share of all generated sentences (or
responses) that are one of the five most frequent ones (NEC Table 3's "proportion of top five frequent
sentences", in %) and the number of distinct ones.
"""

_CITATION = """\
@inproceedings{huangfu2024nec,
  title={Non-Emotion-Centric Empathetic Dialogue Generation},
  author={Huangfu, Yuanxiang and Li, Peifeng and Fan, Yaxin and Zhu, Qiaoming},
  year={2024}
}
"""

_KWARGS_DESCRIPTION = """\
Args:
    predictions (`list` of `str`): generated responses, raw text (references are not used).
    tokenize (`bool`, default `True`): normalise each unit with `" ".join(word_tokenize(.))`; `False`
        when the strings are already word tokens joined by single spaces (then only white space is
        collapsed, and sentences are split after `.`, `!`, `?` tokens).
    unit (`str`, default `"sentence"`): `"sentence"` splits each response into sentences
        (`empathetic_models.text.split_sentences`) and counts those (NEC eq. 16; an empty response adds
        no sentence); `"response"` counts whole responses.
Returns:
    sent_std (`float`): sqrt(mean over distinct units of (count - mu)^2), mu = mean count.
    top5_share (`float`): 100 * (sum of the counts of the 5 most frequent units) / #units.
    num_distinct (`int`): N, the number of distinct units (sentences or responses).
Examples:
    >>> sent_std = evaluate.load("/path/to/ed_sent_std")
    >>> sent_std.compute(predictions=["a", "a", "A", "b"])
    {'sent_std': 1.0, 'top5_share': 100.0, 'num_distinct': 2}
    >>> sent_std.compute(predictions=["Oh no! I'm sorry.", "oh no !"])
    {'sent_std': 0.5, 'top5_share': 100.0, 'num_distinct': 2}
    >>> sent_std.compute(predictions=["Oh no! I'm sorry.", "oh no !"], unit="response")
    {'sent_std': 0.0, 'top5_share': 100.0, 'num_distinct': 2}
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class EdSentStd(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features({"predictions": datasets.Value("string")}),
        )

    def _compute(self, predictions, tokenize=True, unit="sentence"):
        if unit not in ("response", "sentence"):
            raise ValueError(f"unit must be 'response' or 'sentence', got {unit!r}.")
        key = (lambda s: " ".join(word_tokenize(s))) if tokenize else (lambda s: " ".join(s.split()))
        if unit == "sentence":
            units = [key(sentence) for p in predictions for sentence in split_sentences(p)]
        else:
            units = [key(p) for p in predictions]
        counts = Counter(units)
        total, distinct = sum(counts.values()), len(counts)
        if distinct == 0:
            return {"sent_std": 0.0, "top5_share": 0.0, "num_distinct": 0}
        mu = total / distinct
        sent_std = math.sqrt(sum((c - mu) ** 2 for c in counts.values()) / distinct)  # NEC eq. 16
        top5 = sum(c for _, c in counts.most_common(5))
        return {"sent_std": sent_std, "top5_share": 100.0 * top5 / total, "num_distinct": distinct}
