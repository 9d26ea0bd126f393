"""Scoring other systems' outputs by named readers, and the leaderboard (table, plot, README block)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from empathetic_models.cli import main as cli
from empathetic_models.evaluation.leaderboard import collect_rows, leaderboard_svg, score_system_outputs, split_of, write_leaderboard
from empathetic_models.evaluation.released import load_system_outputs

RELEASED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "released_outputs"
needs_released = pytest.mark.skipif(not RELEASED.is_dir(), reason="shared released outputs absent")


def test_tsv_reader_parses_by_header_not_position(tmp_path):
    path = tmp_path / "system.tsv"
    path.write_text("reference\tprediction\temotion\tpredicted_emotion\nthat is great !\tgood for you .\tproud\tjoyful\n")
    (system,) = load_system_outputs(path).values()
    assert system == {"references": ["that is great !"], "predictions": ["good for you ."], "emotions": ["proud"], "predicted_emotions": ["joyful"]}
    path.write_text("prediction\tanswer\nhi\tho\n")
    with pytest.raises(ValueError, match="header must name columns"):
        load_system_outputs(path)
    path.write_text("prediction\treference\nonly one field\n")
    with pytest.raises(ValueError, match=":2: 1 tab-separated fields"):
        load_system_outputs(path)
    with pytest.raises(ValueError, match="needs a references file"):
        load_system_outputs(path, "text")


def test_scoring_a_system_records_origin_split_and_definitions():
    data = {"predictions": ["i am sorry .", "good luck !"], "references": ["oh no .", "good luck to you !"],
            "emotions": ["sad", "hopeful"], "predicted_emotions": ["sad", "proud"]}  # fmt: skip
    results = score_system_outputs("mine", data, "outputs.jsonl", ["multi_bleu", "gao2021"], decoding="greedy")
    assert results["metrics"]["emotion_accuracy"] == 50.0 and results["split_style"] == "unknown"
    assert results["metrics"]["avg_length"] == pytest.approx(3.5)
    assert set(results["metrics_by_definition"]) == {"multi_bleu", "gao2021"}
    assert results["metrics_by_definition"]["gao2021"]["dist_1"] == pytest.approx(results["metrics"]["dist_1"] / 100)
    assert (split_of(5255), split_of(5259)) == ("paper", "full")


def test_leaderboard_collects_ours_and_released_into_table_plot_and_readme(tmp_path):
    results = tmp_path / "results"
    (results / "kemp").mkdir(parents=True)
    (results / "kemp" / "run.json").write_text(json.dumps({"model_type": "kemp", "split_style": "paper", "num_examples": 5255,
        "decoding": {"strategy": "greedy", "max_new_tokens": 30}, "metrics": {"ppl": 40.0, "bleu_2": 8.0, "dist_2": 2.0, "emotion_accuracy": 37.0}}))  # fmt: skip
    (results / "speed").mkdir()
    (results / "speed" / "kemp_cpu.json").write_text(json.dumps({"training": {"examples_per_s": 3}}))  # not a results file
    data = {"predictions": ["i am sorry .", "that is great ."], "references": ["oh no .", "that is so great !"]}
    from empathetic_models.evaluation import write_results

    write_results(score_system_outputs("moel", data, "released outputs: x.txt"), results / "released", name="moel")
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- leaderboard:start -->\nold\n<!-- leaderboard:end -->\nrest\n")

    rows = write_leaderboard(results, results / "leaderboard", readme, {"command": "empathetic-models leaderboard", "commit": "abc"})
    record = json.loads((results / "leaderboard" / "leaderboard.json").read_text())
    assert record["command"] == "empathetic-models leaderboard" and record["commit"] == "abc" and record["rows"] == rows
    assert {r["name"] for r in rows} == {"kemp (ours)", "moel"}
    kemp = next(r for r in rows if r["name"] == "kemp (ours)")
    assert kemp["ours"] and kemp["origin"] == "our run (kemp/run.json)" and kemp["decoding"] == "greedy, max_new_tokens=30"
    table = (results / "leaderboard" / "leaderboard.md").read_text()
    assert "| kemp (ours) | our run (kemp/run.json) | paper, 5255 | greedy, max_new_tokens=30 | NLTK Treebank, MoEL-normalised | 40.00 |" in table
    assert "| moel | released outputs: x.txt | unknown, 2 |" in table
    svg = (results / "leaderboard" / "leaderboard.svg").read_text()
    assert svg.startswith("<svg") and svg.count("<rect x=") == 1 and svg.count("<circle") == 1  # ours square, released circle
    text = readme.read_text()
    assert "old" not in text and "results/leaderboard/leaderboard.svg" in text and text.endswith("rest\n")
    assert collect_rows(results) == rows  # the leaderboard folder itself is not read back


def test_svg_colours_points_by_emotion_accuracy():
    rows = [{"name": n, "ours": False, "metrics": {"bleu_2": 1.0 + i, "dist_2": 2.0, "emotion_accuracy": a}}
            for i, (n, a) in enumerate((("low", 30.0), ("high", 40.0), ("none", None)))]  # fmt: skip
    svg = leaderboard_svg(rows)
    assert 'fill="rgb(220,40,60)"' in svg and 'fill="rgb(0,200,60)"' in svg and 'fill="#999999"' in svg


@needs_released
def test_cli_scores_every_system_of_a_released_file(tmp_path, capsys):
    code = cli(["evaluate", "--predictions", str(RELEASED / "mime_output.txt"), "--format", "mime", "--definition", "multi_bleu",
                "--output-dir", str(tmp_path)])  # fmt: skip
    assert code == 0
    greedy = json.loads((tmp_path / "mime_greedy_results.json").read_text())
    assert greedy["split_style"] == "paper" and greedy["num_examples"] == 5255
    assert round(greedy["metrics_by_definition"]["multi_bleu"]["bleu_4"], 2) == 2.76
    assert greedy["metrics"]["emotion_accuracy"] == pytest.approx(34.88, abs=0.005)
    assert {p.name for p in tmp_path.glob("*_results.json")} == {"mime_greedy_results.json", "mime_beam_results.json", "mime_topk_results.json"}
    assert cli(["evaluate", "--predictions", str(RELEASED / "mime_output.txt"), "--format", "moel", "--output-dir", str(tmp_path)]) == 2
    assert "is a mime file, not moel" in capsys.readouterr().err
