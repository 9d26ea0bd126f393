"""Learning curves of a training run: validation PPL (and the other logged validation terms) per evaluation.

:func:`learning_curve` reads a Trainer ``log_history`` (``trainer_state.json``); :func:`learning_curve_svg` draws
one or more curves; :func:`attach_learning_curve` adds the curve and the selection metric to a results dict, so a
published result carries the evidence of how its checkpoint was chosen.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

CURVE_KEYS = ("eval_ppl", "eval_generation_loss", "eval_emotion_loss", "eval_loss")


def learning_curve(log_history: Sequence[Mapping]) -> list[dict]:
    """``[{step, eval_ppl, ...}]`` in step order: one entry per evaluation that logged ``eval_ppl``."""
    curve = [{"step": int(h["step"]), **{k: h[k] for k in CURVE_KEYS if k in h}} for h in log_history if "eval_ppl" in h]
    return sorted(curve, key=lambda point: point["step"])


def read_trainer_state(run_dir: str | Path) -> dict:
    """The newest ``trainer_state.json`` of a run folder (the folder itself, else its last checkpoint)."""
    run_dir = Path(run_dir)
    candidates = [run_dir / "trainer_state.json"] + sorted(run_dir.glob("checkpoint-*/trainer_state.json"),
                                                           key=lambda p: int(p.parent.name.split("-")[-1]), reverse=True)  # fmt: skip
    for path in candidates:
        if path.is_file():
            return json.loads(path.read_text())
    raise FileNotFoundError(f"{run_dir}: no trainer_state.json (not a training output folder?)")


def attach_learning_curve(results: dict, state: Mapping, selection_metric: str | None) -> dict:
    """``results`` with ``selection_metric``, ``learning_curve`` and the selected checkpoint's step and metric."""
    results["selection_metric"] = selection_metric
    results["learning_curve"] = learning_curve(state.get("log_history", []))
    results["best_eval_step"] = state.get("best_global_step")
    results["best_eval_metric"] = state.get("best_metric")
    return results


def learning_curve_svg(curves: Mapping[str, Sequence[Mapping]], metric: str = "eval_ppl", width: int = 640, height: int = 360,
                       marks: Mapping[str, int] | None = None) -> str:  # fmt: skip
    """Line plot of ``metric`` against step for each named curve (log-scaled y for PPL); ``marks`` circles each
    curve's selected step."""
    points = {name: [(p["step"], p[metric]) for p in curve if p.get(metric) is not None] for name, curve in curves.items()}
    values = [v for pts in points.values() for _, v in pts]
    steps = [s for pts in points.values() for s, _ in pts]
    if not values:
        raise ValueError(f"no {metric} values to draw")
    log = metric.endswith("ppl") and min(values) > 0
    scale = math.log if log else (lambda v: v)
    y_lo, y_hi = scale(min(values)), scale(max(values))
    y_lo, y_hi = (y_lo - 0.05 * (y_hi - y_lo or 1), y_hi + 0.05 * (y_hi - y_lo or 1))
    x_hi = max(steps) or 1
    left, right, top, bottom = 60, 20, 30, 45
    colours = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")

    def x(step):
        return left + step / x_hi * (width - left - right)

    def y(value):
        return height - bottom - (scale(value) - y_lo) / (y_hi - y_lo) * (height - top - bottom)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="11">',
             f'<rect width="{width}" height="{height}" fill="white"/>',
             f'<line x1="{left}" y1="{height - bottom}" x2="{width - right}" y2="{height - bottom}" stroke="black"/>',
             f'<line x1="{left}" y1="{top}" x2="{left}" y2="{height - bottom}" stroke="black"/>',
             f'<text x="{(width + left) / 2}" y="{height - 10}" text-anchor="middle">training step</text>',
             f'<text x="14" y="{(height - bottom + top) / 2}" text-anchor="middle" transform="rotate(-90 14 {(height - bottom + top) / 2})">'
             f'{html.escape(metric)}{" (log scale)" if log else ""}</text>']  # fmt: skip
    for i in range(5):
        step = x_hi * i / 4
        parts.append(f'<text x="{x(step):.1f}" y="{height - bottom + 15}" text-anchor="middle">{step:.0f}</text>')
        value = math.exp(y_lo + (y_hi - y_lo) * i / 4) if log else y_lo + (y_hi - y_lo) * i / 4
        parts.append(f'<text x="{left - 6}" y="{y(value) + 4:.1f}" text-anchor="end">{value:.1f}</text>')
    for k, (name, pts) in enumerate(points.items()):
        colour = colours[k % len(colours)]
        path = " ".join(f"{x(s):.1f},{y(v):.1f}" for s, v in pts)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        parts += [f'<circle cx="{x(s):.1f}" cy="{y(v):.1f}" r="2.5" fill="{colour}"/>' for s, v in pts]
        chosen = (marks or {}).get(name)
        for s, v in pts:
            if s == chosen:
                parts.append(f'<circle cx="{x(s):.1f}" cy="{y(v):.1f}" r="6" fill="none" stroke="{colour}" stroke-width="1.5"/>')
        last = pts[-1] if pts else (0, 0)
        label = f"{name} (selected: step {chosen})" if chosen else name
        parts.append(f'<text x="{left + 8}" y="{top - 14 + 13 * k}" fill="{colour}">{html.escape(label)}; last {last[1]:.2f}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _curve_source(path: Path) -> dict:
    """Learning curve and provenance of a training output folder or of a published results JSON."""
    if path.is_dir():
        state = read_trainer_state(path)
        info_path = path / "run_info.json"
        info = json.loads(info_path.read_text()) if info_path.is_file() else {}
        record = {"learning_curve": learning_curve(state.get("log_history", [])), "best_eval_step": state.get("best_global_step"),
                  "best_eval_metric": state.get("best_metric"), "selection_metric": info.get("selection_metric")}  # fmt: skip
    elif path.is_file():
        info = json.loads(path.read_text())
        if "learning_curve" not in info:
            raise ValueError(f"{path}: a results JSON without 'learning_curve' (publish the run with `empathetic-models publish`)")
        record = {k: info.get(k) for k in ("learning_curve", "best_eval_step", "best_eval_metric", "selection_metric")}
    else:
        raise FileNotFoundError(f"{path}: neither a training output folder nor a results JSON")
    record.update({k: info.get(k) for k in ("command", "commit", "hardware", "embedding_init", "model_type", "data_source", "split_style")
                   if info.get(k)})  # fmt: skip
    return record


def compare_learning_curves(sources: Mapping[str, str | Path], metric: str = "eval_ppl") -> dict:
    """Side-by-side learning curves of labelled runs (training output folders or published results JSON), for
    ablations at the same budget: each variant's curve, lowest ``metric`` and its step, and ``by_step``, the
    ``metric`` of every variant at each step all of them evaluated (the same budget for each)."""
    variants = {}
    for label, source in sources.items():
        record = {"source": str(source), **_curve_source(Path(source))}
        scored = [p for p in record["learning_curve"] if p.get(metric) is not None]
        if not scored:
            raise ValueError(f"{source}: no {metric} in its learning curve")
        best = min(scored, key=lambda p: p[metric])
        record.update({f"lowest_{metric}": best[metric], f"lowest_{metric}_step": best["step"]})
        variants[label] = record
    shared = set.intersection(*({p["step"] for p in v["learning_curve"] if p.get(metric) is not None} for v in variants.values()))
    by_step = [{"step": step, **{label: next(p[metric] for p in v["learning_curve"] if p["step"] == step)
                                 for label, v in variants.items()}} for step in sorted(shared)]  # fmt: skip
    best_at_budget = {label: min(row[label] for row in by_step) for label in variants} if by_step else {}
    return {"metric": metric, "split": "valid", "budget_steps": max(shared) if shared else None, "variants": variants, "by_step": by_step,
            f"lowest_{metric}_within_budget": best_at_budget,
            "best_within_budget": min(best_at_budget, key=best_at_budget.get) if best_at_budget else None}  # fmt: skip


def comparison_markdown(comparison: Mapping, title: str) -> str:
    """A table of ``metric`` per shared step (one column per variant) and each variant's provenance."""
    metric, labels = comparison["metric"], list(comparison["variants"])
    lines = [f"# {title}", "", f"{metric} per evaluation, at the steps every variant evaluated "
             f"(budget {comparison['budget_steps']} steps); lowest within the budget in bold.", "",
             "| step | " + " | ".join(labels) + " |", "|---|" + "---|" * len(labels)]  # fmt: skip
    lowest = comparison[f"lowest_{metric}_within_budget"]
    for row in comparison["by_step"]:
        cells = [f"**{row[k]:.2f}**" if row[k] == lowest[k] else f"{row[k]:.2f}" for k in labels]
        lines.append(f"| {row['step']} | " + " | ".join(cells) + " |")
    lines += ["", f"Best within the budget: **{comparison['best_within_budget']}**.", "", "| variant | embedding init | "
              f"lowest {metric} (any step) | commit | command |", "|---|---|---|---|---|"]  # fmt: skip
    for label, v in comparison["variants"].items():
        lines.append(f"| {label} | {v.get('embedding_init', '')} | {v[f'lowest_{metric}']:.2f} @ {v[f'lowest_{metric}_step']} | "
                     f"{(v.get('commit') or '')[:7]} | `{v.get('command', '')}` |")  # fmt: skip
    return "\n".join(lines) + "\n"


def write_curve_comparison(sources: Mapping[str, str | Path], output: str | Path, metric: str = "eval_ppl", title: str | None = None,
                           note: str | None = None) -> list[Path]:  # fmt: skip
    """``empathetic-models curves``: :func:`compare_learning_curves` of the labelled runs with provenance (and ``note``)
    into ``OUTPUT.json``, its :func:`comparison_markdown` (titled ``title``, default the output's name) into
    ``OUTPUT.md`` and the curves (:func:`learning_curve_svg`) into ``OUTPUT.svg``; the three paths."""
    from ..provenance import provenance

    comparison = {**provenance("empathetic-models"), **compare_learning_curves(sources, metric=metric)}  # how it was made
    if note:
        comparison["note"] = note
    out = Path(output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(comparison, indent=2) + "\n")
    out.with_suffix(".md").write_text(comparison_markdown(comparison, title or out.name))
    curves = {label: v["learning_curve"] for label, v in comparison["variants"].items()}
    out.with_suffix(".svg").write_text(learning_curve_svg(curves, metric=metric))
    return [out.with_suffix(suffix) for suffix in (".json", ".md", ".svg")]
