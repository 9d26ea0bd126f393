"""Model cards (``huggingface_hub.ModelCard`` from ``hub_cards/templates``) and the README results table,
filled only from measured results JSON (schema in :mod:`empathetic_models.evaluation`)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from huggingface_hub import EvalResult, ModelCard, ModelCardData

from hub_cards import PUBLISHED, RESULTS_DIR, template_path

# metric key → (column name, definition), in the papers' column order
METRICS = {
    "ppl": ("PPL", "exp(mean over examples of the mean target-token NLL), word level, no smoothing"),
    "bleu_1": ("BLEU-1", "NLTK corpus BLEU, cumulative weights, no smoothing, ×100"),
    "bleu_2": ("BLEU-2", "as BLEU-1, up to bigrams"),
    "bleu_3": ("BLEU-3", "as BLEU-1, up to trigrams"),
    "bleu_4": ("BLEU-4", "as BLEU-1, up to 4-grams"),
    "dist_1": ("Dist-1", "distinct / all unigrams over all responses, ×100"),
    "dist_2": ("Dist-2", "distinct / all bigrams over all responses, ×100"),
    "sent_std": ("Sent-Std", "std of the counts of distinct generated sentences (NEC eq. 16)"),
    "top5_share": ("Top-5 %", "share of generated sentences that are one of the 5 most frequent"),
    "emotion_accuracy": ("Acc %", "top-1 emotion accuracy over the 32 ED labels"),
}
NOT_MEASURED = "not measured"
README_START, README_END = "<!-- results:start -->", "<!-- results:end -->"


def load_results(results: dict | str | Path) -> dict:
    if isinstance(results, dict):
        return results
    path = Path(results)
    if not path.is_file():
        raise FileNotFoundError(f"results file not found: {path}")
    return json.loads(path.read_text())


def _format(value) -> str:
    return NOT_MEASURED if value is None else f"{value:.2f}"


def markdown_table(rows: list[tuple[str, str, dict]]) -> str:
    """Rows of (model, source, metrics) → a Markdown table over the metrics any row has."""
    keys = [k for k in METRICS if any(k in metrics for _, _, metrics in rows)]
    lines = ["| model | source | " + " | ".join(METRICS[k][0] for k in keys) + " |", "|---|---|" + "---|" * len(keys)]
    for model, source, metrics in rows:
        lines.append(f"| {model} | {source} | " + " | ".join(_format(metrics.get(k)) if k in metrics else "–" for k in keys) + " |")
    return "\n".join(lines)


def published_rows(model_type: str) -> list[tuple[str, str, dict]]:
    published = json.loads(PUBLISHED.read_text()).get(model_type, [])
    return [(row["model"], row["source"], row["metrics"]) for row in published]


def build_card(results: dict | str | Path | None, config: dict, model_id: str | None = None) -> ModelCard:
    """The card of a checkpoint whose ``config.json`` is ``config``, with ``results`` (or none measured)."""
    model_type = config["model_type"]
    results = load_results(results) if results is not None else {}
    metrics = results.get("metrics", {})
    model_id = model_id or f"empathetic-models/{model_type}"
    split = results.get("split", "test")
    eval_results = [
        EvalResult(
            task_type="text-generation", task_name="Empathetic response generation",
            dataset_type="empathetic_dialogues", dataset_name="EmpatheticDialogues", dataset_split=split,
            metric_type=key, metric_name=METRICS[key][0], metric_value=round(float(metrics[key]), 4),
        )  # fmt: skip
        for key in METRICS
        if key in metrics
    ]
    card_data = ModelCardData(
        language="en",
        license="cc-by-nc-4.0",
        library_name="transformers",
        tags=["empathetic-dialogue", "empathetic-models", model_type],
        datasets=["empathetic_dialogues"],
        model_name=model_id,
        eval_results=eval_results or None,
    )
    split_style, source = results.get("split_style"), results.get("data_source")
    style = {
        "paper": "the papers' split (the last two conversations of each split dropped: 40,250 / 5,734 / 5,255 examples on full ED)",
        "full": "the full official split (40,254 / 5,738 / 5,259 examples on full ED)",
    }.get(split_style, "split not recorded")
    data = "the 280-conversation sample embedded in empathetic-models" if source == "sample" else f"data source `{source or 'not recorded'}`"
    split_description = f"{data}, {style}"
    if metrics:
        decoding = ", ".join(f"{k}={v}" for k, v in results.get("decoding", {}).items() if v is not None)
        summary = f"On {results.get('num_examples', '?')} {split} examples ({split_style} split), decoding: {decoding}."
    else:
        summary = "No evaluation results were supplied for this checkpoint: every metric below is not measured."
    provenance = {k: results[k] for k in ("command", "commit", "hardware", "train_wall_clock_s", "generate_wall_clock_s") if k in results}
    return ModelCard.from_template(
        card_data,
        template_path=str(template_path(model_type)),
        model_name=model_id,
        model_id=model_id,
        config=config,
        split_description=split_description,
        evaluation_summary=summary,
        results_rows=[{"name": name, "value": _format(metrics.get(key)), "definition": d} for key, (name, d) in METRICS.items()],
        published_table=markdown_table(published_rows(model_type)),
        provenance=provenance or {"results": NOT_MEASURED},
    )


def write_card(checkpoint_dir: str | Path, results: dict | str | Path | None = None, model_id: str | None = None) -> Path:
    """Write ``README.md`` into a checkpoint folder (default results: ``results/test_results.json`` there)."""
    checkpoint_dir = Path(checkpoint_dir)
    config_path = checkpoint_dir / "config.json"
    if not config_path.is_file():
        raise FileNotFoundError(f"{checkpoint_dir} is not a checkpoint folder: no config.json")
    default = checkpoint_dir / "results" / "test_results.json"
    if results is None and default.is_file():
        results = default
    card = build_card(results, json.loads(config_path.read_text()), model_id)
    path = checkpoint_dir / "README.md"
    card.save(path)
    return path


def results_table(results_dir: Path = RESULTS_DIR) -> str:
    """README table: every measured ``<model_type>/*.json`` beside the papers' rows for that model."""
    sections = []
    for model_dir in sorted(p for p in results_dir.iterdir() if p.is_dir()):
        rows = []
        for path in sorted(model_dir.glob("*.json")):
            r = json.loads(path.read_text())
            source = f"ours, `{path.relative_to(results_dir.parent)}` ({r.get('split_style')} split, {r.get('hardware', '?')})"
            rows.append((r.get("model_type", model_dir.name), source, r["metrics"]))
        sections.append(f"**{model_dir.name}**\n\n" + markdown_table(rows + published_rows(model_dir.name)))
    return "\n\n".join(sections) or "No measured results yet."


def update_readme(readme: str | Path, results_dir: Path = RESULTS_DIR) -> bool:
    """Replace the block between the results markers of ``readme``; returns whether it changed."""
    readme = Path(readme)
    text = readme.read_text()
    if README_START not in text or README_END not in text:
        raise ValueError(f"{readme} has no {README_START} … {README_END} block")
    block = f"{README_START}\n{results_table(results_dir)}\n{README_END}"
    new = re.sub(re.escape(README_START) + r".*?" + re.escape(README_END), lambda _: block, text, flags=re.S)
    readme.write_text(new) if new != text else None
    return new != text
