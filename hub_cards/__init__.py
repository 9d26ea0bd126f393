"""Model-card templates (``templates/<model_type>.md``) and the measured results they are filled from
(``results/<model_type>/*.json``, each naming the command, commit, hardware and data that produced it);
installed as ``empathetic_models.hub_cards``.

``published.json`` holds the papers' reported rows that cards and the README print beside ours; it is
kept outside ``results/``, which holds only our measurements.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).parent
TEMPLATES_DIR = ROOT / "templates"
RESULTS_DIR = ROOT / "results"
PUBLISHED = ROOT / "published.json"  # rows the papers report (not measured here)


def template_path(model_type: str) -> Path:
    """The card template of ``model_type``; a clear error lists the available ones."""
    path = TEMPLATES_DIR / f"{model_type}.md"
    if not path.is_file():
        known = sorted(p.stem for p in TEMPLATES_DIR.glob("*.md"))
        raise FileNotFoundError(f"no model-card template for model_type {model_type!r}; available: {known}")
    return path
