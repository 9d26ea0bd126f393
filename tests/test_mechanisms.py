"""Communication mechanisms: EPITOME reader (quoted multi-line fields, seeded split), scores by hand, the
classifier training script, and ED labelling."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from empathetic_models.data import load_empathetic_dialogues
from empathetic_models.knowledge.mechanisms import MechanismClassifier, annotate_mechanisms, load_epitome, mechanism_scores

EPITOME = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "epitome"


def _write_epitome(folder: Path, rows: list[tuple[str, str, int]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for stem in ("emotional-reactions", "interpretations", "explorations"):
        with open(folder / f"{stem}-reddit.csv", "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["sp_id", "rp_id", "seeker_post", "response_post", "level", "rationales"])
            writer.writerows((f"s{i}", f"r{i}", post, response, level, "") for i, (post, response, level) in enumerate(rows))
    return folder


def test_reader_keeps_multi_line_fields_and_splits_75_5_20(tmp_path):
    rows = [(f"I feel alone,\nagain {i}", f"I'm here for you {i}", i % 3) for i in range(40)]
    data = load_epitome(_write_epitome(tmp_path / "epitome", rows), "er")
    assert {name: len(split) for name, split in data.items()} == {"train": 30, "valid": 2, "test": 8}
    assert all("\n" in post for post in data["train"]["seeker_post"])  # a quoted field spanning two lines
    again = load_epitome(tmp_path / "epitome", "ex")  # the same pairs in every mechanism's file → the same split
    assert again["test"]["seeker_post"] == data["test"]["seeker_post"]
    assert load_epitome(tmp_path / "epitome", "er", seed=1)["test"]["seeker_post"] != data["test"]["seeker_post"]
    with pytest.raises(ValueError, match="unknown mechanism"):
        load_epitome(tmp_path / "epitome", "xx")
    with pytest.raises(FileNotFoundError, match="EPITOME file not found"):
        load_epitome(tmp_path / "missing", "ip")


@pytest.mark.skipif(not EPITOME.is_dir(), reason="shared EPITOME absent")
def test_reader_on_the_real_files():
    data = load_epitome(EPITOME, "ip")
    assert sum(len(s) for s in data.values()) == 3084 and len(data["test"]) == 617
    levels = [level for split in data.values() for level in split["label"]]
    assert (levels.count(0), levels.count(1), levels.count(2)) == (1626, 114, 1344)  # SOURCE.md's counts


def test_scores_by_hand():
    # labels 0 1 2 2, predictions 0 2 2 0: accuracy 50 %; F1 per level: 0 → 2·1/(2+1), 1 → 0, 2 → 2·1/(2+2);
    # binary labels 0 1 1 1 vs predictions 0 1 1 0
    scores = mechanism_scores([0, 1, 2, 2], [0, 2, 2, 0])
    assert scores["accuracy"] == 50.0 and scores["macro_f1"] == pytest.approx(100 * (2 / 3 + 0 + 1 / 2) / 3)
    assert scores["binary_accuracy"] == 75.0 and scores["binary_f1"] == pytest.approx(80.0)  # tp 2, 2 predicted, 3 actual


def test_trained_classifier_labels_ed_with_cached_binary_mechanisms(tmp_path, tiny_cause_encoder):
    from empathetic_models.training.train_mechanism_classifier import main

    rows = [("my dog died yesterday", "i am so sorry , that is awful", 2), ("i failed my exam", "what happened ?", 0)] * 12
    out = tmp_path / "er"
    results = main(["--mechanism", "er", "--encoder", str(tiny_cause_encoder), "--epitome_dir", str(_write_epitome(tmp_path / "e", rows)),
                    "--output_dir", str(out), "--max_steps", "2", "--per_device_train_batch_size", "4", "--report_to", "none",
                    "--use_cpu", "true", "--save_strategy", "no", "--max_length", "48"])  # fmt: skip
    assert set(results["metrics"]) == {"accuracy", "macro_f1", "binary_accuracy", "binary_f1"} and results["split"]["test"] == 5
    assert json.loads((out / "results" / "mechanism_results.json").read_text())["mechanism"] == "er"

    classifier = MechanismClassifier.from_pretrained(out, "er", device="cpu")
    assert classifier.max_length == 48  # served with the input length it was trained on
    data = load_empathetic_dialogues("sample")["valid"].select(range(5))
    labelled = annotate_mechanisms(data, {"er": classifier}, cache_dir=tmp_path / "cache")
    assert all(flag == int(level > 0) for flag, level in zip(labelled["cm_er"], labelled["cm_er_level"], strict=True))
    assert "er: " in labelled.info.description and len(list((tmp_path / "cache").glob("mechanisms-*.arrow"))) == 1
    with pytest.raises(ValueError, match="unknown mechanisms"):
        annotate_mechanisms(data, {"xx": classifier})


def test_cli_annotate_mechanisms_reports_shares(tmp_path, tiny_cause_encoder, capsys):
    from empathetic_models.cli import main as cli
    from empathetic_models.training.train_mechanism_classifier import main

    rows = [("my dog died", "so sorry", 2), ("i passed", "how ?", 0)] * 10
    main(["--mechanism", "ip", "--encoder", str(tiny_cause_encoder), "--epitome_dir", str(_write_epitome(tmp_path / "e", rows)),
          "--output_dir", str(tmp_path / "ip"), "--max_steps", "1", "--report_to", "none", "--use_cpu", "true", "--save_strategy", "no"])  # fmt: skip
    assert cli(["annotate-mechanisms", "--ip-classifier", str(tmp_path / "ip"), "--output-dir", str(tmp_path / "out"),
                "--knowledge-cache-dir", str(tmp_path / "c")]) == 0
    stats = json.loads((tmp_path / "out" / "mechanism_stats.json").read_text())
    assert stats["splits"]["train"]["examples"] == 411 and 0 <= stats["splits"]["test"]["share_ip"] <= 100
    assert cli(["annotate-mechanisms", "--output-dir", str(tmp_path / "out")]) == 2
    assert "at least one classifier" in capsys.readouterr().err
