"""Automatic metrics for empathetic response generation on EmpatheticDialogues, defined once.

Every metric is a local ``evaluate`` module under :data:`METRICS_DIR` (``metrics/<name>/<name>.py``),
loaded by path with :func:`load_metric`, never from the Hub. Text metrics tokenize both generated and gold
responses with :func:`empathetic_models.text.word_tokenize`: lower-case, MoEL's contraction expansion
(substring replacement), then NLTK Treebank word tokens per sentence (the published code's preprocessing;
``nltk.word_tokenize`` itself needs NLTK's ``punkt`` data).

Definitions (:data:`METRIC_VERSION` is bumped whenever one of them changes):

* **PPL** (``ed_perplexity``) = exp(mean over test examples of each example's mean target-token NLL),
  NLL in nats under teacher forcing, PAD tokens ignored, no label smoothing (as MoEL / KEMP / CEM /
  CASE). The model computes the per-example NLLs; on a word vocabulary this is a per-word PPL, and a
  subword PPL is not comparable with the papers.
* **BLEU-1..4** (``ed_bleu``) = NLTK ``corpus_bleu`` with one reference per response, cumulative uniform
  weights (BLEU-n uses 1/n on p_1..p_n), clipped n-gram counts and lengths pooled over the corpus,
  corpus brevity penalty, no smoothing (KEMP's choice; 0 if some order has no match), x 100.
* **Dist-1 / Dist-2** (``ed_distinct``) = distinct n-grams / all n-grams, pooled over all generated
  responses (corpus level; n-grams do not cross responses), x 100 as in the CASE / KEMP / IMAGINE tables.
  The emotion-cause paper (Gao et al., 2021) reports the fraction: divide by 100 to compare.
* **Sent-Std** (``ed_sent_std``, NEC eq. 16) = sqrt(1/N * sum_i (count(s_i) - mu)^2) over the N distinct
  generated sentences s_i: each generated response is split into sentences
  (:func:`empathetic_models.text.split_sentences`) and each sentence compared as
  ``" ".join(word_tokenize(sentence))``; count(s_i) = how often s_i was generated, mu = mean count =
  #sentences / N. Lower = more diverse sentences. The sentence unit follows eq. 16's wording and, on
  MoEL's released test generations, gives 40.76 vs NEC Table 2's 40.15 for MoEL (whole responses give
  7.06); ``unit="response"`` of the module still counts whole responses.
* **Top-5 share** (``ed_sent_std``) = 100 * (number of generated sentences, split and normalised as for
  Sent-Std, that equal one of the 5 most frequent sentences) / (number of generated sentences); NEC
  Table 3's "proportion of top five frequent sentences".
* **Avg. length** (``ed_distinct``) = mean number of word tokens per generated response.
* **Emotion accuracy** (``ed_emotion_accuracy``) = 100 * share of examples whose top-1 predicted emotion
  (over the 32 ED labels) equals the gold emotion.

Results schema, as written by :func:`write_results` (``hub_cards/results/*.json``)::

    {
      "model_type": "kemp",                      # config.model_type
      "model_name_or_path": "...",               # checkpoint folder or hub id
      "dataset": "empathetic_dialogues",
      "split_style": "full" | "paper",           # "paper" = MoEL split, last conversation of each split dropped
      "split": "test",
      "num_examples": 5255,
      "decoding": {"strategy": "greedy", "max_new_tokens": 30, ...},
      "metric_version": "1",                     # METRIC_VERSION (filled in by write_results if absent)
      "metrics": {"ppl": ..., "bleu_1": ..., "bleu_2": ..., "bleu_3": ..., "bleu_4": ...,
                  "dist_1": ..., "dist_2": ..., "sent_std": ..., "top5_share": ...,
                  "emotion_accuracy": ...},      # every value as defined above; absent when not measured
      # provenance, when known:
      "command": "...", "commit": "...", "hardware": "...",
      "train_wall_clock_s": ..., "generate_wall_clock_s": ...
    }

Evaluating from files: :func:`load_predictions` reads JSONL (``prediction``, ``reference``, optional
``emotion`` / ``predicted_emotion``) or two plain-text files with one response per line.
"""

from __future__ import annotations

import json
import math
import operator
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path

import evaluate

from empathetic_models.text import word_tokenize

__all__ = [
    "METRICS_DIR",
    "METRIC_VERSION",
    "TEXT_METRICS",
    "available_metrics",
    "compute_text_metrics",
    "emotion_accuracy",
    "load_metric",
    "load_predictions",
    "perplexity",
    "results_summary",
    "write_results",
]

#: Folder holding one ``evaluate`` module per metric: ``METRICS_DIR / name / f"{name}.py"``.
METRICS_DIR: Path = Path(__file__).resolve().parent / "metrics"
#: Version of the metric definitions above; bump it whenever a definition changes.
METRIC_VERSION = "1"
#: Keys :func:`compute_text_metrics` returns, in table order.
TEXT_METRICS = ("bleu_1", "bleu_2", "bleu_3", "bleu_4", "dist_1", "dist_2", "sent_std", "top5_share", "avg_length")

_PROVENANCE = ("command", "commit", "hardware", "train_wall_clock_s", "generate_wall_clock_s")
# Table order and display names for write_results; other metrics follow in sorted order.
_DISPLAY = {
    "ppl": "PPL",
    "bleu_1": "BLEU-1",
    "bleu_2": "BLEU-2",
    "bleu_3": "BLEU-3",
    "bleu_4": "BLEU-4",
    "dist_1": "Dist-1",
    "dist_2": "Dist-2",
    "sent_std": "Sent-Std",
    "top5_share": "Top-5 share (%)",
    "avg_length": "Avg. length (tokens)",
    "embedding_similarity": "Embedding cosine to reference (%, encoder named in the results)",
    "emotion_accuracy": "Emotion accuracy (%)",
}


def available_metrics() -> list[str]:
    """Names of the local metric modules (folders of :data:`METRICS_DIR` holding ``<name>/<name>.py``)."""
    return sorted(d.name for d in METRICS_DIR.iterdir() if (d / f"{d.name}.py").is_file())


def load_metric(name: str, **kwargs) -> evaluate.EvaluationModule:
    """Load the local ``evaluate`` module ``name`` from :data:`METRICS_DIR` (never the Hub).

    ``kwargs`` go to :func:`evaluate.load`; ``keep_in_memory`` defaults to ``True`` (no Arrow cache files).
    """
    names = available_metrics()
    if name not in names:
        raise ValueError(f"Unknown metric {name!r}. Available metrics: {', '.join(names)} (in {METRICS_DIR}).")
    kwargs.setdefault("keep_in_memory", True)
    return evaluate.load(str(METRICS_DIR / name), **kwargs)


@lru_cache(maxsize=None)
def _metric(name: str) -> evaluate.EvaluationModule:
    # One instance per metric for the helpers below: loading copies and imports the script (~10 ms).
    return load_metric(name)


def _check_texts(predictions: Sequence[str], references: Sequence[str]) -> None:
    if isinstance(predictions, str) or isinstance(references, str):
        raise TypeError("predictions and references must be lists of strings, not a single string.")
    if len(predictions) != len(references):
        raise ValueError(
            f"predictions and references differ in length: {len(predictions)} vs {len(references)}."
        )
    if len(predictions) == 0:
        raise ValueError("predictions and references are empty: nothing to evaluate.")
    for side, texts in (("predictions", predictions), ("references", references)):
        bad = next((i for i, t in enumerate(texts) if not isinstance(t, str)), None)
        if bad is not None:
            raise TypeError(f"{side}[{bad}] is {type(texts[bad]).__name__}, expected str.")


def compute_text_metrics(predictions: Sequence[str], references: Sequence[str]) -> dict[str, float]:
    """BLEU-1..4, Dist-1/2, Sent-Std, top-5 share and average length of ``predictions`` against ``references``.

    Each distinct string is tokenized once; BLEU and Dist then get space-joined tokens (``tokenize=False``).
    Sent-Std and top-5 share use the sentence unit: the raw predictions are split into sentences first,
    then each sentence is tokenized (see the module doc).
    """
    _check_texts(predictions, references)
    cache: dict[str, str] = {}

    def tokens(text: str) -> str:
        if text not in cache:
            cache[text] = " ".join(word_tokenize(text))
        return cache[text]

    preds = [tokens(p) for p in predictions]
    refs = [tokens(r) for r in references]
    results = {}
    results.update(_metric("ed_bleu").compute(predictions=preds, references=refs, tokenize=False))
    results.update(_metric("ed_distinct").compute(predictions=preds, tokenize=False))
    sent = _metric("ed_sent_std").compute(predictions=list(predictions), tokenize=True, unit="sentence")
    results.update(sent_std=sent["sent_std"], top5_share=sent["top5_share"])
    return {key: float(results[key]) for key in TEXT_METRICS}


def perplexity(nlls: Sequence[float]) -> float:
    """exp(mean(nlls)), ``nlls`` = one mean target-token NLL (nats) per test example (see module doc)."""
    values = [float(x) for x in nlls]
    if not values:
        raise ValueError("perplexity needs at least one per-example NLL.")
    return float(_metric("ed_perplexity").compute(nlls=values)["ppl"])


def emotion_accuracy(predictions: Sequence[int], references: Sequence[int]) -> float:
    """Top-1 emotion accuracy in % over integer label ids in [0, 32)."""
    if len(predictions) != len(references):
        raise ValueError(
            f"predictions and references differ in length: {len(predictions)} vs {len(references)}."
        )
    if len(predictions) == 0:
        raise ValueError("predictions and references are empty: nothing to evaluate.")
    try:
        preds = [operator.index(x) for x in predictions]
        refs = [operator.index(x) for x in references]
    except TypeError:
        raise TypeError("emotion ids must be integers (map label names to ids first).") from None
    return float(_metric("ed_emotion_accuracy").compute(predictions=preds, references=refs)["emotion_accuracy"])


# --------------------------------------------------------------------------------------------- results


def _format_value(value) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int):
        return str(value)
    return "nan" if math.isnan(value) else f"{value:.2f}"


def _format_decoding(decoding) -> str:
    if isinstance(decoding, Mapping):
        return ", ".join(f"{k}={v}" for k, v in sorted(decoding.items()))
    return str(decoding)


def write_results(results: Mapping, out_dir: str | Path, name: str = "results") -> tuple[Path, Path]:
    """Write ``<name>.json`` and ``<name>.md`` for ``results`` (schema in the module doc) into ``out_dir``.

    The JSON is indented by 2 with sorted keys; ``metric_version`` is set to :data:`METRIC_VERSION` when
    absent. The Markdown has a header line (model, split, num_examples, decoding when present) and a
    metric | value table in the usual paper order. Returns ``(json_path, md_path)``.
    """
    if not isinstance(results, Mapping) or not isinstance(results.get("metrics"), Mapping):
        raise ValueError("results must be a mapping with a 'metrics' mapping (see empathetic_models.evaluation).")
    if not results["metrics"]:
        raise ValueError("results['metrics'] is empty: nothing to write.")
    payload = dict(results)
    payload.setdefault("metric_version", METRIC_VERSION)
    metrics = dict(sorted(payload["metrics"].items()))
    payload["metrics"] = metrics

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out_dir / f"{name}.json", out_dir / f"{name}.md"
    json_path.write_text(json.dumps(payload, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")

    model = payload.get("model_name_or_path") or payload.get("model_type") or "unknown model"
    header = [f"model: `{model}`"]
    if payload.get("model_type") and payload.get("model_name_or_path"):
        header[0] += f" ({payload['model_type']})"
    if "split" in payload:
        split = str(payload["split"])
        if payload.get("split_style"):
            split += f" ({payload['split_style']} split)"
        header.append(f"split: {split}")
    if "num_examples" in payload:
        header.append(f"num_examples: {payload['num_examples']}")
    if payload.get("decoding"):
        header.append(f"decoding: {_format_decoding(payload['decoding'])}")
    header.append(f"metric_version: {payload['metric_version']}")

    ordered = [k for k in _DISPLAY if k in metrics] + [k for k in metrics if k not in _DISPLAY]
    lines = [" · ".join(header), "", "| metric | value |", "|---|---|"]
    lines += [f"| {_DISPLAY.get(k, k)} | {_format_value(metrics[k])} |" for k in ordered]
    provenance = [k for k in _PROVENANCE if k in payload]
    if provenance:
        lines.append("")
        lines += [f"- {k}: `{payload[k]}`" for k in provenance]
    md_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return json_path, md_path



def results_summary(results: Mapping, json_path: str | Path, md_path: str | Path) -> str:
    """What ``empathetic-models evaluate`` prints for one results file: its Markdown, a line per
    ``metrics_by_definition`` entry (``name: metric value, ...``) and where the files went."""
    lines = [Path(md_path).read_text()]
    for definition, metrics in results.get("metrics_by_definition", {}).items():
        lines.append(f"{definition}: " + ", ".join(f"{k} {v:.4g}" for k, v in metrics.items()))
    lines.append(f"wrote {json_path} and {md_path}")
    return "\n".join(lines)

# ------------------------------------------------------------------------------------ predictions files


def _read_lines(path: Path) -> list[str]:
    """Lines of a plain-text file, one response each (a final newline does not add an empty response)."""
    text = path.read_text(encoding="utf-8")
    if not text.strip():
        raise ValueError(f"{path} is empty.")
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line.rstrip("\r") for line in lines]


def _read_jsonl(path: Path) -> dict[str, list]:
    rows = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").split("\n"), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            raise ValueError(f"{path}:{lineno}: not valid JSON ({err.msg}).") from None
        if not isinstance(row, dict):
            raise ValueError(f"{path}:{lineno}: expected a JSON object per line.")
        for field in ("prediction", "reference"):
            if not isinstance(row.get(field), str):
                raise ValueError(f"{path}:{lineno}: missing or non-string field {field!r}.")
        rows.append((lineno, row))
    if not rows:
        raise ValueError(f"{path} is empty.")
    out: dict[str, list] = {
        "predictions": [row["prediction"] for _, row in rows],
        "references": [row["reference"] for _, row in rows],
    }
    for field, key in (("emotion", "emotions"), ("predicted_emotion", "predicted_emotions")):
        present = [field in row for _, row in rows]
        if any(present):
            if not all(present):
                lineno = rows[present.index(False)][0]
                raise ValueError(f"{path}:{lineno}: field {field!r} is missing here but present on other lines.")
            out[key] = [row[field] for _, row in rows]
    return out


def load_predictions(path: str | Path, references_path: str | Path | None = None) -> dict[str, list]:
    """Read generated responses (and gold data) for evaluation.

    * ``path`` alone: JSONL, one object per line with string fields ``prediction`` and ``reference`` and
      optionally ``emotion`` / ``predicted_emotion`` (then on every line). Blank lines are skipped.
    * ``path`` and ``references_path``: two plain-text files, one response per line, line i of one paired
      with line i of the other (a blank line is an empty response).

    Returns ``{"predictions": [...], "references": [...]}`` plus ``emotions`` / ``predicted_emotions``
    when the JSONL has them. Raises ``ValueError`` on an empty file, a missing field or unequal lengths.
    """
    path = Path(path)
    for p in (path, references_path):
        if p is not None and not Path(p).is_file():
            raise FileNotFoundError(f"No such file: {p}")
    if references_path is None:
        first = next((line for line in path.read_text(encoding="utf-8").split("\n") if line.strip()), None)
        if first is None:
            raise ValueError(f"{path} is empty.")
        if not first.lstrip().startswith("{"):
            raise ValueError(
                f"{path} is not JSONL (objects with 'prediction' and 'reference'); for plain-text files "
                "pass references_path as well."
            )
        return _read_jsonl(path)
    predictions, references = _read_lines(path), _read_lines(Path(references_path))
    if len(predictions) != len(references):
        raise ValueError(
            f"{path} has {len(predictions)} lines but {references_path} has {len(references)}: "
            "expected one prediction per reference."
        )
    return {"predictions": predictions, "references": references}
