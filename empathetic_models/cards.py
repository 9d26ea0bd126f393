"""Model cards (``huggingface_hub.ModelCard`` from ``hub_cards/templates``) and the README results table,
filled only from measured results JSON (schema in :mod:`empathetic_models.evaluation`)."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from pathlib import Path

from huggingface_hub import EvalResult, ModelCard, ModelCardData

from .hub_cards import PUBLISHED, RESULTS_DIR, template_path

from . import ARCHITECTURES, MODEL_TYPES

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
NOT_RECORDED = "not recorded"
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


def _check_metrics(metrics: Mapping) -> dict[str, float]:
    """Measured metric values as floats (``None`` = not measured); clear errors for anything else."""
    checked = {}
    for key, value in metrics.items():
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"metric {key!r} in the results is {value!r}: expected a finite number (or leave it out)")
        checked[key] = float(value)
    return checked


def _seconds(value) -> str:
    return f"{value:.0f} s ({value / 3600:.2f} h)" if isinstance(value, (int, float)) else str(value)


def _decoding_text(evaluated: Mapping | None, generation_config: Mapping | None) -> str:
    def describe(settings: Mapping) -> str:
        return ", ".join(f"{k}={v}" for k, v in settings.items() if v is not None) or "defaults"

    lines = []
    if evaluated:
        lines.append(f"- **Evaluated with**: {describe(evaluated)}.")
    if generation_config:
        keys = ("max_new_tokens", "max_length", "num_beams", "do_sample", "top_k", "top_p", "temperature")
        shipped = {k: generation_config[k] for k in keys if k in generation_config}
        lines.append(
            f"- **Shipped `generation_config.json`** (what `generate` and the pipeline use by default): {describe(shipped)}."
        )
    return "\n".join(lines) or f"Decoding settings {NOT_RECORDED}."


def _split_description(results: Mapping) -> str:
    split_style, source = results.get("split_style"), results.get("data_source")
    style = {
        "paper": "the papers' split (the last two conversations of each official file dropped, as MoEL-style "
        "preprocessing does: 40,250 / 5,734 / 5,255 train / valid / test examples on full ED)",
        "full": "the full official split (40,254 / 5,738 / 5,259 train / valid / test examples on full ED)",
    }.get(split_style, f"split style {NOT_RECORDED}")
    if source == "sample":
        data = "the 280-conversation sample embedded in empathetic-models (a smoke-test subset, not full ED)"
    else:
        data = f"data source `{source}`" if source else f"data source {NOT_RECORDED}"
    return f"{data}; {style}"


# results keys some architectures record, shown in the card's provenance when present
OPTIONAL_PROVENANCE = {"knowledge_source": "knowledge source", "embedding_init": "word-embedding initialisation",
                       "empty_responses": "empty test responses"}


def build_card(
    results: dict | str | Path | None = None,
    model_type: str | None = None,
    template: str | Path | None = None,
    model_id: str | None = None,
    *,
    config: Mapping | None = None,
    generation_config: Mapping | None = None,
) -> ModelCard:
    """The model card of a checkpoint, filled only from ``results`` (a results dict or JSON path; ``None`` =
    nothing measured, every metric says "not measured").

    ``model_type`` defaults to ``config["model_type"]`` (``config`` = the checkpoint's ``config.json``, which the
    architecture section describes; without it the config class's defaults are described, and said to be), then
    ``results["model_type"]``. ``template`` overrides
    ``hub_cards/templates/<model_type>.md``. Each measured metric becomes an ``EvalResult``, so the card's YAML
    carries a ``model-index``.
    """
    results = load_results(results) if results is not None else {}
    declared = {
        "argument": model_type,
        "config": (config or {}).get("model_type"),
        "results": results.get("model_type"),
    }
    known = {name: value for name, value in declared.items() if value}
    if not known:
        raise ValueError("cannot tell the model_type: pass model_type, a config, or results that name one")
    if len(set(known.values())) > 1:
        raise ValueError(f"model_type disagrees between {', '.join(f'{k} ({v!r})' for k, v in known.items())}")
    model_type = next(iter(known.values()))
    template = Path(template) if template is not None else template_path(model_type)
    if not template.is_file():
        raise FileNotFoundError(f"model-card template not found: {template}")
    if config is not None:
        config_source = "from the checkpoint's `config.json`"
    elif model_type in ARCHITECTURES:
        config = ARCHITECTURES[model_type][0]().to_dict()
        config_source = f"the defaults of `{ARCHITECTURES[model_type][0].__name__}`; no `config.json` was given"
    elif model_type in MODEL_TYPES:  # NEC, CASE-BlenderBot: no defaults without their backbone
        raise ValueError(f"a {model_type} card describes the checkpoint's backbone: give its config (the checkpoint folder's config.json)")
    else:
        config, config_source = {}, f"config {NOT_RECORDED}"
    config = dict(config)

    metrics = _check_metrics(results.get("metrics") or {})
    model_id = model_id or f"empathetic-models/{model_type}"
    split = results.get("split", "test")
    extra = [k for k in metrics if k not in METRICS]  # named by key, never dropped silently
    definitions = {**METRICS, **{k: (k, "not a metric defined by empathetic-models; see the results JSON") for k in extra}}
    eval_results = [
        EvalResult(
            task_type="text-generation", task_name="Empathetic response generation",
            dataset_type="empathetic_dialogues", dataset_name="EmpatheticDialogues", dataset_split=split,
            metric_type=key, metric_name=definitions[key][0], metric_value=round(metrics[key], 4),
        )  # fmt: skip
        for key in definitions
        if key in metrics
    ]
    card_data = ModelCardData(
        language="en",
        license="cc-by-nc-4.0",  # the weights inherit EmpatheticDialogues' CC BY-NC 4.0
        library_name="transformers",
        tags=["empathetic-dialogue", "empathetic-models", model_type],
        datasets=["empathetic_dialogues"],
        model_name=model_id,
        eval_results=eval_results or None,  # the Hub rejects a model-index without metrics
    )
    if metrics:
        summary = (
            f"Measured on {results.get('num_examples', NOT_RECORDED)} `{split}` examples "
            f"(split style `{results.get('split_style', NOT_RECORDED)}`), metric version "
            f"{results.get('metric_version', NOT_RECORDED)}."
        )
    else:
        summary = "No evaluation results were supplied for this checkpoint: every metric below is not measured."
    provenance = [
        ("command", f"`{results['command']}`" if results.get("command") else NOT_RECORDED),
        ("commit", results.get("commit") or NOT_RECORDED),
        ("hardware", results.get("hardware") or NOT_RECORDED),
        ("training wall-clock", _seconds(results["train_wall_clock_s"]) if "train_wall_clock_s" in results else NOT_RECORDED),
        ("generation wall-clock", _seconds(results["generate_wall_clock_s"]) if "generate_wall_clock_s" in results else NOT_RECORDED),
        ("evaluated checkpoint", results.get("model_name_or_path") or NOT_RECORDED),
    ]
    provenance += [(label, results[key]) for key, label in OPTIONAL_PROVENANCE.items() if results.get(key)]
    card = ModelCard.from_template(
        card_data,
        template_path=str(template),
        model_name=model_id,
        model_id=model_id,
        config=config,
        config_source=config_source,
        num_labels=len(config.get("id2label") or {}) or 32,
        split_description=_split_description(results),
        evaluation_summary=summary,
        results_rows=[
            {"name": name, "value": _format(metrics.get(key)), "definition": definition}
            for key, (name, definition) in definitions.items()
        ],
        published_table=markdown_table(published) if (published := published_rows(model_type)) else "No published rows recorded.",
        decoding=_decoding_text(results.get("decoding"), generation_config),
        provenance=provenance,
    )
    if results.get("data_source") == "sample":  # the smoke-test job: say so before anything else
        heading, _, rest = card.text.lstrip("\n").partition("\n")
        empty, total = results.get("empty_responses"), results.get("num_examples")
        measured = (f"{empty} of its {total} test responses are empty" if isinstance(empty, int) and empty and total else
                    "its responses are degenerate (empty or one word repeated)")  # fmt: skip
        card.text = (f"{heading}\n\n> **A smoke-test checkpoint**: trained on the embedded ED sample "
                     f"({results.get('train_examples', 411)} training examples) to exercise the workflow, it is not a usable model: "
                     f"{measured}. The limitations below describe models trained on the full EmpatheticDialogues.\n" + rest)  # fmt: skip
    return card


def write_card(checkpoint_dir: str | Path, results: dict | str | Path | None = None, model_id: str | None = None) -> Path:
    """Write ``README.md`` (and nothing else) into a checkpoint folder; returns its path.

    ``results`` defaults to ``<checkpoint_dir>/results/test_results.json`` when that exists, else the card says
    "not measured" for every metric. ``model_type`` and the architecture come from ``config.json``, the shipped
    decoding from ``generation_config.json``.
    """
    checkpoint_dir = Path(checkpoint_dir)
    config_path = checkpoint_dir / "config.json"
    if not config_path.is_file():
        raise FileNotFoundError(f"{checkpoint_dir} is not a checkpoint folder: no config.json")
    default = checkpoint_dir / "results" / "test_results.json"
    if results is None and default.is_file():
        results = default
    generation_path = checkpoint_dir / "generation_config.json"
    generation_config = json.loads(generation_path.read_text()) if generation_path.is_file() else None
    config = json.loads(config_path.read_text())
    # no Hub id given: the usage snippets load this folder (``empathetic-models card --model-id`` names the Hub repo)
    card = build_card(results, config=config, model_id=model_id or str(checkpoint_dir), generation_config=generation_config)
    path = checkpoint_dir / "README.md"
    card.save(path)
    return path


def results_table(results_dir: Path = RESULTS_DIR) -> str:
    """README table: every measured ``<model_type>/*.json`` (one run's results, with ``metrics``) beside the papers'
    rows for that model."""
    sections = []
    for model_dir in sorted(p for p in results_dir.iterdir() if p.is_dir() and p.name in MODEL_TYPES):  # not speed/
        rows = []
        for path in sorted(model_dir.glob("*.json")):
            r = json.loads(path.read_text())
            if "metrics" not in r:  # a summary over several runs, not one run's results
                continue
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
    if new == text:
        return False
    readme.write_text(new)
    return True


def publish_run(run_dir: str | Path, name: str, results_dir: str | Path = RESULTS_DIR, note: str | None = None,
                command: str | None = None) -> list[Path]:  # fmt: skip
    """Publish a finished training run under ``results_dir/<model_type>/``: ``<name>.json`` / ``.md`` (its test
    results with ``selection_metric`` and ``learning_curve`` from the run's ``trainer_state.json``),
    ``<name>.svg`` (validation PPL per evaluation, the selected step circled) and ``<name>.card.md`` (the model card
    those results fill). ``note`` and ``command`` (the exact training command) are recorded when given."""
    from .evaluation import write_results
    from .evaluation.curves import attach_learning_curve, learning_curve_svg, read_trainer_state

    run_dir = Path(run_dir)
    results_path = run_dir / "results" / "test_results.json"
    if not results_path.is_file():
        raise FileNotFoundError(f"{results_path} not found: the run has not finished its test evaluation")
    results = json.loads(results_path.read_text())
    state = read_trainer_state(run_dir)
    run_info_path = run_dir / "run_info.json"
    selection = json.loads(run_info_path.read_text()).get("selection_metric") if run_info_path.is_file() else None
    args_path = run_dir / "training_args.bin"
    if selection is None and args_path.is_file():
        import torch

        selection = getattr(torch.load(args_path, weights_only=False), "metric_for_best_model", None)
    attach_learning_curve(results, state, selection)
    if note:
        results["note"] = note
    if command:
        results["command"] = command
    config = json.loads((run_dir / "config.json").read_text())
    out = Path(results_dir) / config["model_type"]
    json_path, md_path = write_results(results, out, name=name)
    svg_path = out / f"{name}.svg"
    marks = {name: results["best_eval_step"]} if results.get("best_eval_step") else None
    svg_path.write_text(learning_curve_svg({name: results["learning_curve"]}, marks=marks))
    generation_path = run_dir / "generation_config.json"
    generation_config = json.loads(generation_path.read_text()) if generation_path.is_file() else None
    card_path = out / f"{name}.card.md"
    build_card(json_path, config=config, generation_config=generation_config).save(card_path)
    return [json_path, md_path, svg_path, card_path]
