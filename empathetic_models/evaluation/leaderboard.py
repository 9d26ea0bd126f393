"""One table for the field: our measured runs and other systems' released outputs, scored the same way.

:func:`score_system_outputs` turns one system's generated responses into a results dict (the canonical
metrics, emotion accuracy where both label lists exist, each requested per-paper definition under
``metrics_by_definition``, optionally the embedding similarity). :func:`collect_rows` reads every results
JSON under ``hub_cards/results/`` (model folders and ``released/``); :func:`leaderboard_markdown` and
:func:`leaderboard_svg` render them (the plot: Dist-2 against BLEU-2, colour = emotion accuracy).
:func:`score_predictions_file` and :func:`score_released_outputs` are the jobs behind ``empathetic-models
evaluate --predictions`` and ``empathetic-models leaderboard --released``.
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path

from . import METRIC_VERSION, compute_text_metrics, emotion_accuracy
from .definitions import score

PAPER_TEST, FULL_TEST = 5255, 5259
COLUMNS = ("ppl", "bleu_1", "bleu_2", "bleu_4", "dist_1", "dist_2", "sent_std", "top5_share", "avg_length",
           "embedding_similarity", "emotion_accuracy")  # fmt: skip
HEADERS = ("PPL", "BLEU-1", "BLEU-2", "BLEU-4", "Dist-1", "Dist-2", "Sent-Std", "Top-5 %", "Avg. len", "Emb. sim", "Acc %")
START, END = "<!-- leaderboard:start -->", "<!-- leaderboard:end -->"
CANONICAL_TOKENS = "NLTK Treebank, MoEL-normalised"  # empathetic_models.text.word_tokenize
# how the released systems decoded (their papers and files)
RELEASED_DECODING = {"transformer": "greedy", "multi_trs": "greedy", "moel": "greedy", "moel_oracle": "greedy (gold emotion)",
                     "mime_greedy": "greedy", "mime_beam": "beam", "mime_topk": "top-k sampling"}  # fmt: skip


def split_of(num_examples: int) -> str:
    """The ED test split a count identifies: ``paper`` (5,255), ``full`` (5,259), else ``unknown``."""
    return {PAPER_TEST: "paper", FULL_TEST: "full"}.get(num_examples, "unknown")


def score_system_outputs(
    system: str,
    data: Mapping[str, list],
    source: str,
    definitions: Sequence[str] = (),
    similarity_encoder=None,
    decoding: str | None = None,
) -> dict:
    """Results dict (the schema of :func:`empathetic_models.evaluation.write_results`) for one system's outputs."""
    from ..data import validate_emotion

    metrics = compute_text_metrics(data["predictions"], data["references"])
    if data.get("emotions") and data.get("predicted_emotions"):
        metrics["emotion_accuracy"] = emotion_accuracy(
            [validate_emotion(e) for e in data["predicted_emotions"]], [validate_emotion(e) for e in data["emotions"]]
        )
    results = {
        "system": system,
        "model_name_or_path": source,
        "outputs_source": source,
        "num_examples": len(data["predictions"]),
        "split": "test",
        "split_style": split_of(len(data["predictions"])),
        "tokenization": CANONICAL_TOKENS,
        "metric_version": METRIC_VERSION,
        "metrics": metrics,
    }
    if decoding:
        results["decoding"] = decoding
    if definitions:
        results["metrics_by_definition"] = {name: score(data["predictions"], data["references"], name) for name in definitions}
    if similarity_encoder is not None:
        from .similarity import embedding_similarity

        metrics["embedding_similarity"], results["embedding_encoder"] = embedding_similarity(
            data["predictions"], data["references"], None if similarity_encoder == "default" else similarity_encoder
        )
    return results


def score_predictions_file(
    predictions: str | Path,
    output_dir: str | Path,
    fmt: str = "auto",
    references: str | Path | None = None,
    definitions: Sequence[str] = (),
    similarity_encoder: str | None = None,
    decoding: str | None = None,
    split: str = "test",
) -> Iterator[tuple[dict, Path, Path]]:
    """``empathetic-models evaluate --predictions``: score every system of a file of generated responses
    (:func:`~empathetic_models.evaluation.released.load_system_outputs`) and write its results with provenance into
    ``output_dir`` (``<split>_results.*``, or ``<system>_results.*`` for a file of several systems). Yields
    (results, JSON path, Markdown path) as each system is written. ``similarity_encoder``: ``None`` (no embedding
    similarity), ``"default"`` or an encoder."""
    from ..provenance import provenance
    from . import write_results
    from .released import load_system_outputs

    systems = load_system_outputs(predictions, fmt, references)
    for system, data in systems.items():
        source = f"{Path(predictions).name}" + (f" ({system})" if len(systems) > 1 else "")
        results = score_system_outputs(system, data, source, definitions, similarity_encoder, decoding)
        results.update(provenance("empathetic-models"))
        name = f"{system}_results" if len(systems) > 1 else f"{split}_results"
        json_path, md_path = write_results(results, output_dir, name=name)
        yield results, json_path, md_path


def score_released_outputs(paths: Iterable[str | Path], results_dir: str | Path, definitions: Sequence[str] = (),
                           embedding_similarity: bool = False) -> list[Path]:  # fmt: skip
    """``empathetic-models leaderboard --released``: score each released generation file's systems with the canonical
    metrics (and ``definitions``; the default encoder's similarity with ``embedding_similarity``), decoding as
    :data:`RELEASED_DECODING` records, into ``RESULTS_DIR/released/<system>.json`` / ``.md``; the JSON paths written."""
    from ..provenance import provenance
    from . import write_results
    from .released import load_system_outputs

    written = []
    for path in paths:
        for system, data in load_system_outputs(path).items():
            results = score_system_outputs(system, data, f"released outputs: {Path(path).name}", definitions,
                                           "default" if embedding_similarity else None, RELEASED_DECODING.get(system))  # fmt: skip
            results.update(provenance("empathetic-models"))
            written.append(write_results(results, Path(results_dir) / "released", name=system)[0])
    return written


def collect_rows(results_dir: str | Path) -> list[dict]:
    """One row per results JSON under ``results_dir`` (recursively) that holds test metrics."""
    rows = []
    for path in sorted(Path(results_dir).rglob("*.json")):
        if "leaderboard" in path.parts:
            continue
        try:
            result = json.loads(path.read_text())
        except json.JSONDecodeError:
            continue
        if not isinstance(result, dict) or not isinstance(result.get("metrics"), dict) or "bleu_2" not in result["metrics"]:
            continue  # speed / knowledge reports
        ours = "system" not in result
        rows.append({
            "name": result.get("system") or f"{result.get('model_type', path.stem)} (ours)",
            "origin": f"our run ({path.relative_to(results_dir).as_posix()})" if ours else result.get("outputs_source", path.name),
            "split": f"{result.get('split_style', 'unknown')}, {result.get('num_examples', '?')}",
            "decoding": _decoding(result.get("decoding")),
            "tokenization": result.get("tokenization", CANONICAL_TOKENS),
            "metrics": result["metrics"],
            "ours": ours,
        })  # fmt: skip
    return rows


def _decoding(decoding) -> str:
    if isinstance(decoding, Mapping):
        strategy = decoding.get("strategy", "")
        extra = [f"{k}={v}" for k, v in sorted(decoding.items()) if k != "strategy" and v is not None]
        return ", ".join([strategy, *extra]).strip(", ")
    return str(decoding or "—")


def _cell(value) -> str:
    return "—" if value is None else f"{value:.2f}"


def leaderboard_markdown(rows: Iterable[dict], image: str | None = None) -> str:
    rows = sorted(rows, key=lambda r: (-r["metrics"].get("bleu_2", 0)))
    lines = [
        f"All rows scored with the canonical metric definitions (METRIC_VERSION {METRIC_VERSION}; `empathetic_models.evaluation`): "
        "NLTK corpus BLEU without smoothing, corpus Dist-n ×100, Sent-Std (NEC eq. 16), top-5 sentence share, "
        "average length in tokens; emotion accuracy where the outputs carry predicted labels; embedding similarity "
        "(all-MiniLM-L6-v2 cosine ×100, a model-based metric) where computed. PPL only from our runs (it needs the model).",
        "",
        "| system | origin | split, n | decoding | tokens | " + " | ".join(HEADERS) + " |",
        "|---|---|---|---|---|" + "---|" * len(HEADERS),
    ]
    for row in rows:
        cells = [_cell(row["metrics"].get(column)) for column in COLUMNS]
        lines.append(f"| {row['name']} | {row['origin']} | {row['split']} | {row['decoding']} | {row['tokenization']} | " + " | ".join(cells) + " |")
    if image:
        lines += ["", f"![Dist-2 against BLEU-2]({image})"]
    return "\n".join(lines) + "\n"


def leaderboard_svg(rows: Sequence[dict], width: int = 640, height: int = 420) -> str:
    """Scatter of Dist-2 (x) against BLEU-2 (y); colour from red (low) to green (high) emotion accuracy, grey
    where unknown; our runs drawn as squares, released outputs as circles."""
    points = [r for r in rows if r["metrics"].get("dist_2") is not None and r["metrics"].get("bleu_2") is not None]
    left, right, top, bottom = 60, 20, 20, 50
    xs = [p["metrics"]["dist_2"] for p in points] or [0.0]
    ys = [p["metrics"]["bleu_2"] for p in points] or [0.0]
    x_max, y_max = max(xs) * 1.15 or 1.0, max(ys) * 1.15 or 1.0
    accuracies = [p["metrics"]["emotion_accuracy"] for p in points if p["metrics"].get("emotion_accuracy") is not None]
    low, high = (min(accuracies), max(accuracies)) if accuracies else (0.0, 1.0)

    def x(v):
        return left + v / x_max * (width - left - right)

    def y(v):
        return height - bottom - v / y_max * (height - top - bottom)

    def colour(accuracy):
        if accuracy is None:
            return "#999999"
        t = (accuracy - low) / (high - low) if high > low else 1.0
        return f"rgb({int(220 * (1 - t))},{int(160 * t + 40)},60)"

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="11">',
             f'<rect width="{width}" height="{height}" fill="white"/>',
             f'<line x1="{left}" y1="{height - bottom}" x2="{width - right}" y2="{height - bottom}" stroke="black"/>',
             f'<line x1="{left}" y1="{top}" x2="{left}" y2="{height - bottom}" stroke="black"/>',
             f'<text x="{(width + left) / 2}" y="{height - 12}" text-anchor="middle">Dist-2 (x100, canonical)</text>',
             f'<text x="15" y="{(height - bottom + top) / 2}" text-anchor="middle" transform="rotate(-90 15 {(height - bottom + top) / 2})">'
             "BLEU-2 (canonical)</text>"]  # fmt: skip
    for i in range(5):
        xv, yv = x_max * i / 4, y_max * i / 4
        parts.append(f'<text x="{x(xv):.1f}" y="{height - bottom + 15}" text-anchor="middle">{xv:.1f}</text>')
        parts.append(f'<text x="{left - 6}" y="{y(yv) + 4:.1f}" text-anchor="end">{yv:.1f}</text>')
    for p in points:
        px, py = x(p["metrics"]["dist_2"]), y(p["metrics"]["bleu_2"])
        fill = colour(p["metrics"].get("emotion_accuracy"))
        shape = (f'<rect x="{px - 5:.1f}" y="{py - 5:.1f}" width="10" height="10" fill="{fill}" stroke="black"/>' if p["ours"]
                 else f'<circle cx="{px:.1f}" cy="{py:.1f}" r="5" fill="{fill}" stroke="black"/>')  # fmt: skip
        parts += [shape, f'<text x="{px + 8:.1f}" y="{py + 4:.1f}">{html.escape(p["name"])}</text>']
    legend = f"square: our run; circle: released outputs; colour: emotion accuracy {low:.1f}% (red) to {high:.1f}% (green), grey: none"
    parts += [f'<text x="{left + 5}" y="{top + 5}">{html.escape(legend)}</text>', "</svg>"]
    return "\n".join(parts) + "\n"


def write_leaderboard(results_dir: str | Path, output_dir: str | Path, readme: str | Path | None = None,
                      provenance: Mapping | None = None) -> list[dict]:  # fmt: skip
    """Write ``leaderboard.md`` / ``.json`` / ``.svg`` into ``output_dir``; refresh ``readme``'s leaderboard block.
    ``leaderboard.json`` holds ``provenance`` (command, commit, hardware of the run that wrote it), the
    ``results_dir`` read and the ``rows``."""
    rows = collect_rows(results_dir)
    if not rows:
        raise ValueError(f"no results with test metrics under {results_dir}")
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / "leaderboard.svg").write_text(leaderboard_svg(rows))
    record = {**(provenance or {}), "results_dir": Path(results_dir).as_posix(), "rows": rows}
    (output_dir / "leaderboard.json").write_text(json.dumps(record, indent=2) + "\n")
    (output_dir / "leaderboard.md").write_text("# Leaderboard: EmpatheticDialogues test\n\n" + leaderboard_markdown(rows, "leaderboard.svg"))
    if readme is not None:
        readme = Path(readme)
        text = readme.read_text()
        if START not in text or END not in text:
            raise ValueError(f"{readme} has no {START} … {END} block")
        image = Path(os.path.relpath(output_dir / "leaderboard.svg", readme.resolve().parent)).as_posix()
        head, rest = text.split(START, 1)
        readme.write_text(head + START + "\n" + leaderboard_markdown(rows, image) + END + rest.split(END, 1)[1])
    return rows


__all__ = ["RELEASED_DECODING", "collect_rows", "leaderboard_markdown", "leaderboard_svg", "score_predictions_file", "score_released_outputs",
           "score_system_outputs", "split_of", "write_leaderboard"]
