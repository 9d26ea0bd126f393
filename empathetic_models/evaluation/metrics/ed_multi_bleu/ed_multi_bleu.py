"""``ed_multi_bleu``: corpus BLEU-4 as Moses' ``multi-bleu.perl [-lc]`` computes it (MoEL's and MIME's number)."""

import math
from collections import Counter

import datasets
import evaluate

_DESCRIPTION = """\
A re-implementation of Moses' `multi-bleu.perl`, the script MoEL and MIME report BLEU with (`-lc`:
lower-case first). Tokens are the white-space-separated words of each line, as the script reads them (the
released outputs are already word-tokenized). Corpus level: clipped n-gram matches (n = 1..4) and
hypothesis n-gram counts are summed over all lines; the reference length of a line is that of the reference
closest in length to the hypothesis (the shorter one on ties); brevity penalty exp(1 - R/H) when H < R.
BLEU = BP * exp(mean of log p_1..p_4), x 100, and 0 when some order has no match (the script's log of 0).
"""

_CITATION = """\
@misc{moses_multibleu,
  title={multi-bleu.perl}, author={Koehn, Philipp and others},
  howpublished={https://github.com/moses-smt/mosesdecoder/blob/master/scripts/generic/multi-bleu.perl}
}
"""

_KWARGS_DESCRIPTION = """\
Args:
    predictions (`list` of `str`): generated responses.
    references (`list` of `str`): one gold response per prediction.
    lowercase (`bool`, default `True`): the script's `-lc` flag.
Returns:
    bleu_4 (`float`): corpus BLEU-4 x 100; also `precisions` (p_1..p_4 x 100), `brevity_penalty`,
    `hypothesis_length`, `reference_length`.
Examples:
    >>> bleu = evaluate.load("/path/to/ed_multi_bleu")
    >>> round(bleu.compute(predictions=["the cat sat on the mat"], references=["the cat sat on the mat"])["bleu_4"], 2)
    100.0
"""


def _ngrams(tokens, n):
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class EdMultiBleu(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features({"predictions": datasets.Value("string"), "references": datasets.Value("string")}),
        )

    def _compute(self, predictions, references, lowercase=True):
        correct, total = [0] * 4, [0] * 4
        hyp_length = ref_length = 0
        for prediction, reference in zip(predictions, references):
            if lowercase:
                prediction, reference = prediction.lower(), reference.lower()
            hyp, ref = prediction.split(), reference.split()
            hyp_length += len(hyp)
            ref_length += len(ref)  # one reference: it is the closest
            for n in range(1, 5):
                counts, ref_counts = _ngrams(hyp, n), _ngrams(ref, n)
                correct[n - 1] += sum(min(c, ref_counts[g]) for g, c in counts.items())
                total[n - 1] += max(0, len(hyp) - n + 1)
        precisions = [c / t if t else 0.0 for c, t in zip(correct, total)]
        if hyp_length == 0 or min(precisions) == 0:
            bleu, penalty = 0.0, 0.0 if hyp_length == 0 else math.exp(min(0.0, 1 - ref_length / hyp_length))
        else:
            penalty = math.exp(min(0.0, 1 - ref_length / hyp_length))
            bleu = penalty * math.exp(sum(math.log(p) for p in precisions) / 4)
        return {
            "bleu_4": 100.0 * bleu,
            "precisions": [100.0 * p for p in precisions],
            "brevity_penalty": penalty,
            "hypothesis_length": hyp_length,
            "reference_length": ref_length,
        }
