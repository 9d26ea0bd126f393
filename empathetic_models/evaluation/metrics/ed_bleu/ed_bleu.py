"""``ed_bleu``: corpus-level BLEU-1..4 on MoEL-style word tokens, as KEMP / CEM / CASE computed it."""

import warnings

import datasets
import evaluate
from nltk.translate.bleu_score import SmoothingFunction, corpus_bleu

from empathetic_models.text import word_tokenize

_DESCRIPTION = """\
Corpus-level BLEU-1..4 (Papineni et al., 2002) computed with NLTK's `corpus_bleu`, one reference per
prediction, as in KEMP's evaluation code. Both sides are tokenized with
`empathetic_models.text.word_tokenize` (lower-case, MoEL's contraction expansion, NLTK Treebank tokens).
BLEU-n is cumulative: the brevity penalty times the geometric mean of the clipped n-gram precisions
p_1..p_n with uniform weights 1/n. Precisions are pooled over the corpus (sum of clipped matches over
sum of hypothesis n-grams), and the brevity penalty uses the total hypothesis and reference lengths.
No smoothing by default, so BLEU-n is 0 when some order k <= n has no match anywhere (NLTK stands in
`sys.float_info.min` for the zero precision, so the value returned is ~1e-150, not exactly 0).
"""

_CITATION = """\
@inproceedings{papineni2002bleu,
  title={BLEU: a Method for Automatic Evaluation of Machine Translation},
  author={Papineni, Kishore and Roukos, Salim and Ward, Todd and Zhu, Wei-Jing},
  booktitle={ACL}, year={2002}, pages={311--318}
}
@inproceedings{li2022kemp,
  title={Knowledge Bridging for Empathetic Dialogue Generation},
  author={Li, Qintong and Li, Piji and Ren, Zhaochun and Ren, Pengjie and Chen, Zhumin},
  booktitle={AAAI}, year={2022}
}
"""

_KWARGS_DESCRIPTION = """\
Args:
    predictions (`list` of `str`): generated responses, raw text.
    references (`list` of `str`): one gold response per prediction, raw text.
    smoothing (`bool`, default `False`): apply NLTK's `SmoothingFunction().method1` (epsilon 0.1 added to
        zero match counts). The published ED tables use no smoothing.
    tokenize (`bool`, default `True`): tokenize with `word_tokenize`. Pass `False` when the strings are
        already word tokens joined by single spaces (they are then split on white space).
Returns:
    bleu_1, bleu_2, bleu_3, bleu_4 (`float`): cumulative corpus BLEU-n x 100, i.e.
        BLEU-n = 100 * BP * exp(sum_{k=1..n} (1/n) * log p_k),
        p_k = sum_i sum_g min(count_hyp_i(g), count_ref_i(g)) / sum_i max(1, #k-grams of hyp_i),
        BP = 1 if H > R else exp(1 - R / H), H / R = total hypothesis / reference tokens.
    NLTK quirk kept on purpose: a hypothesis shorter than k tokens still adds 1 to p_k's denominator.
Examples:
    >>> bleu = evaluate.load("/path/to/ed_bleu")
    >>> bleu.compute(predictions=["the cat sat on mat"], references=["the cat sat on the mat"])["bleu_1"]
    81.87307530779819
"""

_WEIGHTS = [(1.0,), (1 / 2,) * 2, (1 / 3,) * 3, (1 / 4,) * 4]


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class EdBleu(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {"predictions": datasets.Value("string"), "references": datasets.Value("string")}
            ),
            reference_urls=["https://www.nltk.org/api/nltk.translate.bleu_score.html"],
        )

    def _compute(self, predictions, references, smoothing=False, tokenize=True):
        split = word_tokenize if tokenize else str.split
        hypotheses = [split(p) for p in predictions]
        list_of_references = [[split(r)] for r in references]
        smoothing_function = SmoothingFunction().method1 if smoothing else None
        with warnings.catch_warnings():
            # NLTK warns when some order has no match; BLEU is then 0 by definition (no smoothing).
            warnings.simplefilter("ignore", UserWarning)
            scores = corpus_bleu(
                list_of_references, hypotheses, weights=_WEIGHTS, smoothing_function=smoothing_function
            )
        return {f"bleu_{n}": 100.0 * float(score) for n, score in enumerate(scores, start=1)}
