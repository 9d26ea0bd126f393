"""The README results table: generated from hub_cards/results beside the papers' rows, and kept current."""

from __future__ import annotations

import json
from pathlib import Path

from empathetic_models.cards import results_table, update_readme

REPO = Path(__file__).resolve().parents[1]
RESULTS = {
    "model_type": "empathetic_transformer", "dataset": "empathetic_dialogues", "split_style": "paper", "split": "test",
    "num_examples": 5255, "data_source": "ed", "decoding": {"strategy": "greedy", "max_new_tokens": 30},
    "metrics": {"ppl": 37.1234, "bleu_1": 18.5, "dist_1": 0.45, "dist_2": 2.01, "emotion_accuracy": 34.2},
    "command": "python -m empathetic_models.training.train empathetic_transformer", "commit": "abc123", "hardware": "test rig",
}  # fmt: skip


def test_readme_results_table_is_generated_from_hub_cards_results(tmp_path):
    results = tmp_path / "results"
    (results / "empathetic_transformer").mkdir(parents=True)
    (results / "empathetic_transformer" / "full_ed.json").write_text(json.dumps(RESULTS))
    (results / "empathetic_transformer" / "seeds_summary.json").write_text(json.dumps({"what": "mean of runs"}))
    table = results_table(results)
    assert "seeds_summary" not in table  # a summary over runs has no metrics of its own
    assert "| 37.12 |" in table and "test rig" in table and "NEC Tables 1 and 3" in table
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- results:start -->\nold\n<!-- results:end -->\nend\n")
    assert update_readme(readme, results) is True and "old" not in readme.read_text()
    assert update_readme(readme, results) is False  # idempotent


def test_the_repository_readme_table_is_up_to_date():
    text = (REPO / "README.md").read_text()
    assert results_table() in text, "run `empathetic-models card --update-readme README.md`"
