"""``ed_emotion_accuracy``: top-1 accuracy of the predicted emotion over EmpatheticDialogues' 32 labels."""

import datasets
import evaluate

_DESCRIPTION = """\
Emotion accuracy as reported by MoEL, MIME, KEMP, CEM and CASE: the percentage of test examples whose
top-1 predicted emotion (argmax over the 32 EmpatheticDialogues labels) equals the gold emotion.
Labels are integer ids in [0, num_labels).
"""

_CITATION = """\
@inproceedings{rashkin2019empathetic,
  title={Towards Empathetic Open-domain Conversation Models: A New Benchmark and Dataset},
  author={Rashkin, Hannah and Smith, Eric Michael and Li, Margaret and Boureau, Y-Lan},
  booktitle={ACL}, year={2019}, pages={5370--5381}
}
"""

_KWARGS_DESCRIPTION = """\
Args:
    predictions (`list` of `int`): predicted emotion ids (top-1).
    references (`list` of `int`): gold emotion ids.
    num_labels (`int`, default 32): labels must lie in [0, num_labels).
Returns:
    emotion_accuracy (`float`): 100 * #(prediction == reference) / #examples.
Examples:
    >>> acc = evaluate.load("/path/to/ed_emotion_accuracy")
    >>> acc.compute(predictions=[0, 1, 2, 3], references=[0, 1, 2, 0])
    {'emotion_accuracy': 75.0}
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class EdEmotionAccuracy(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features({"predictions": datasets.Value("int64"), "references": datasets.Value("int64")}),
        )

    def _compute(self, predictions, references, num_labels=32):
        if len(predictions) == 0:
            raise ValueError("ed_emotion_accuracy needs at least one example.")
        out_of_range = sorted({int(x) for x in (*predictions, *references) if not 0 <= x < num_labels})
        if out_of_range:
            raise ValueError(f"Emotion ids must lie in [0, {num_labels}); got {out_of_range[:10]}.")
        correct = sum(int(p) == int(r) for p, r in zip(predictions, references))
        return {"emotion_accuracy": 100.0 * correct / len(predictions)}
