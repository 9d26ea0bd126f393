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
