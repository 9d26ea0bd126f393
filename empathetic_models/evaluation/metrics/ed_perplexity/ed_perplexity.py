"""``ed_perplexity``: perplexity from per-example mean target-token NLLs, as MoEL / KEMP / CEM report it."""

import math

import datasets
import evaluate

_DESCRIPTION = """\
Perplexity as reported on EmpatheticDialogues by MoEL, KEMP, CEM and CASE:
    PPL = exp(mean over test examples of each example's mean target-token NLL),
where an example's NLL is the natural-log negative log-likelihood of its target tokens under the model
(teacher forcing), averaged over the example's non-PAD target tokens, without label smoothing. The
model computes those NLLs; this module only aggregates them. Note this is the exponential of a mean of
per-example means, not of the token-weighted mean. On a word-level vocabulary it is a per-word PPL; a
subword PPL is not comparable with the published figures.
"""

_CITATION = """\
@inproceedings{lin2019moel,
  title={MoEL: Mixture of Empathetic Listeners},
  author={Lin, Zhaojiang and Madotto, Andrea and Shin, Jamin and Xu, Peng and Fung, Pascale},
  booktitle={EMNLP-IJCNLP}, year={2019}, pages={121--132}
}
"""

_KWARGS_DESCRIPTION = """\
Args:
    nlls (`list` of `float`): one value per test example, the mean NLL (nats) of its target tokens,
        PAD ignored, no label smoothing.
Returns:
    ppl (`float`): exp(mean(nlls)).
Examples:
    >>> ppl = evaluate.load("/path/to/ed_perplexity")
    >>> ppl.compute(nlls=[1.0, 3.0])["ppl"]  # exp(2)
    7.38905609893065
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class EdPerplexity(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features({"nlls": datasets.Value("float64")}),
        )

    def _compute(self, nlls):
        if len(nlls) == 0:
            raise ValueError("ed_perplexity needs at least one per-example NLL.")
        bad = [x for x in nlls if x is None or not math.isfinite(x) or x < 0]
        if bad:
            raise ValueError(f"NLLs must be finite and >= 0; got {bad[:5]} ({len(bad)} bad values).")
        return {"ppl": math.exp(math.fsum(nlls) / len(nlls))}
