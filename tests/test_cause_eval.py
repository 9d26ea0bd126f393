"""The ED cause evaluation set: a reproducible draw, the committed hand labels, and the detector's scores on them."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from empathetic_models.data import load_empathetic_dialogues
from empathetic_models.knowledge.cause_eval import (
    DEFAULT_SEED,
    cause_scores,
    draw_cause_eval_sample,
    evaluate_detector_on_ed_set,
    read_cause_labels,
)
from empathetic_models.knowledge.causes import CauseDetector, annotate_causes

REPO = Path(__file__).resolve().parents[1]
EVAL_DIR = REPO / "hub_cards" / "knowledge" / "ed_cause_eval"
LABELS = EVAL_DIR / "labels.jsonl"
ED_DIR = Path(os.environ.get("ED_DATA_DIR", REPO.parent / "shared/data/empathetic_dialogues"))
needs_ed = pytest.mark.skipif(not (ED_DIR / "test.csv.gz").is_file() and not (ED_DIR / "test.csv").is_file(), reason="shared ED absent")
DRAWN = ("conv_id", "turn", "emotion", "situation", "context", "roles")


def _write_labels(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def _toy_labels(tmp_path: Path) -> Path:
    return _write_labels(tmp_path / "labels.jsonl", [
        {"conv_id": "c1", "turn": 4, "emotion": "sad", "situation": "my dog died", "context": ["my dog died", "oh no", "it was sudden"],
         "roles": ["speaker", "listener", "speaker"], "cause_labels": [1, 0, 1]},
        {"conv_id": "c2", "turn": 2, "emotion": "proud", "situation": "i won", "context": ["i won", "nice"],
         "roles": ["speaker", "listener"], "cause_labels": [1, 0]},
    ])  # fmt: skip


def test_scores_by_hand():
    gold = [[1, 0, 1], [1, 0]]
    # predicted [1, 1, 0] and [1, 0]: TP 2, FP 1, FN 1, TN 1
    assert cause_scores(gold, [[1, 1, 0], [1, 0]]) == pytest.approx({
        "accuracy": 3 / 5, "f1": 2 / 3, "precision": 2 / 3, "recall": 2 / 3, "positive_rate_gold": 3 / 5,
        "positive_rate_predicted": 3 / 5, "dialogue_exact_match": 1 / 2, "utterances": 5, "dialogues": 2,
    })  # fmt: skip
    # predicted [1, 0, 0] and [0, 0]: TP 1, FP 0, FN 2, TN 2
    assert cause_scores(gold, [[1, 0, 0], [0, 0]]) == pytest.approx({
        "accuracy": 3 / 5, "f1": 2 * 1 / (3 + 1), "precision": 1.0, "recall": 1 / 3, "positive_rate_gold": 3 / 5,
        "positive_rate_predicted": 1 / 5, "dialogue_exact_match": 0.0, "utterances": 5, "dialogues": 2,
    })  # fmt: skip
    # no predicted positives: precision and F1 are 0, not an error
    assert cause_scores([[0, 1]], [[0, 0]]) == pytest.approx({
        "accuracy": 0.5, "f1": 0.0, "precision": 0.0, "recall": 0.0, "positive_rate_gold": 0.5, "positive_rate_predicted": 0.0,
        "dialogue_exact_match": 0.0, "utterances": 2, "dialogues": 1,
    })  # fmt: skip


def test_labels_file_is_checked(tmp_path):
    record = {"conv_id": "c", "turn": 2, "emotion": "sad", "situation": "s", "context": ["a"], "roles": ["speaker"], "cause_labels": [2]}
    with pytest.raises(ValueError, match="0/1 cause label"):
        read_cause_labels(_write_labels(tmp_path / "bad.jsonl", [record]))
    with pytest.raises(ValueError, match="unknown emotion"):
        read_cause_labels(_write_labels(tmp_path / "bad.jsonl", [{**record, "cause_labels": [1], "emotion": "meh"}]))
    with pytest.raises(ValueError, match="missing"):
        read_cause_labels(_write_labels(tmp_path / "bad.jsonl", [{k: v for k, v in record.items() if k != "roles"}]))


def test_draw_is_reproducible_one_example_per_conversation():
    test = load_empathetic_dialogues("sample", split_style="paper", splits="test")["test"]
    conversations = len(set(test["conv_id"]))
    first, again = draw_cause_eval_sample("sample", n=conversations, seed=3), draw_cause_eval_sample(test, n=conversations, seed=3)
    assert first == again and len({r["conv_id"] for r in first}) == conversations
    examples = {(c, t): i for i, (c, t) in enumerate(zip(test["conv_id"], test["turn"], strict=True))}
    assert [examples[r["conv_id"], r["turn"]] for r in first] == sorted(examples[r["conv_id"], r["turn"]] for r in first)
    for record in first:
        example = test[examples[record["conv_id"], record["turn"]]]
        assert record["context"] == example["context"] and record["roles"] == example["context_roles"]
        assert record["emotion"] == test.features["emotion"].names[example["emotion"]] and record["situation"] == example["situation"]
    small = draw_cause_eval_sample(test, n=3, seed=3)
    assert len(small) == 3 and small != draw_cause_eval_sample(test, n=3, seed=4)
    with pytest.raises(ValueError, match="between 1 and"):
        draw_cause_eval_sample(test, n=conversations + 1)


def test_same_flags_as_annotate_causes_with_a_real_detector(tiny_cause_encoder, tmp_path):
    detector = CauseDetector.from_pretrained(tiny_cause_encoder, max_length=64, device="cpu")
    test = load_empathetic_dialogues("sample", split_style="paper", splits="test")["test"]
    drawn = draw_cause_eval_sample(test, n=6, seed=0)
    gold = [[i % 2 for i in range(len(r["context"]))] for r in drawn]
    labels = _write_labels(tmp_path / "labels.jsonl", [{**r, "cause_labels": g} for r, g in zip(drawn, gold, strict=True)])
    index = {(c, t): i for i, (c, t) in enumerate(zip(test["conv_id"], test["turn"], strict=True))}
    annotated = annotate_causes(test.select([index[r["conv_id"], r["turn"]] for r in drawn]), detector, threshold=0.5, batch_size=4)
    for threshold in (0.5, 0.3):
        flags = [[int(p >= threshold) for p in probs] for probs in annotated["cause_probs"]]
        assert evaluate_detector_on_ed_set(detector, labels, threshold, batch_size=3) == pytest.approx(cause_scores(gold, flags))


def test_command_writes_results_with_provenance(tiny_cause_encoder, tmp_path, capsys):
    from empathetic_models.training.evaluate_cause_detector import build_parser, main

    assert "--detector" in build_parser().format_help()
    out = tmp_path / "results" / "results.json"
    results = main(["--detector", str(tiny_cause_encoder), "--labels", str(_toy_labels(tmp_path)), "--output", str(out),
                    "--threshold", "0.4", "--max-length", "64", "--device", "cpu"])  # fmt: skip
    written = json.loads(out.read_text())
    assert written == results and written["threshold"] == 0.4 and written["dialogues"] == 2 and written["utterances"] == 5
    assert {"command", "commit", "hardware", "accuracy", "f1", "precision", "recall", "detector_fingerprint"} <= set(written)
    assert written["gao_et_al_accuracy"] == 0.89 and json.loads(capsys.readouterr().out)["utterances"] == 5


def test_committed_labels_are_complete():
    records = read_cause_labels(LABELS)  # every context utterance has one 0/1 label and a role
    assert len(records) == 100 and len({r["conv_id"] for r in records}) == 100
    utterances = sum(len(r["cause_labels"]) for r in records)
    causes = sum(sum(r["cause_labels"]) for r in records)
    readme = (EVAL_DIR / "README.md").read_text()
    assert f"`{DEFAULT_SEED}`" in readme and f"{utterances} context utterances" in readme and f"{causes} labelled cause" in readme
    assert "CC BY-NC 4.0" in readme and (EVAL_DIR / "GUIDELINE.md").is_file()


@needs_ed
def test_committed_labels_are_the_seeded_draw():
    drawn = draw_cause_eval_sample(ED_DIR, n=100, seed=DEFAULT_SEED)
    committed = read_cause_labels(LABELS)
    assert [{k: r[k] for k in DRAWN} for r in committed] == drawn


def test_threshold_calibration_by_hand():
    from empathetic_models.knowledge.cause_eval import calibrate_threshold, threshold_curve

    labels, probabilities = [1, 1, 0, 0, 0], [0.9, 0.4, 0.35, 0.2, 0.6]
    at = {point["threshold"]: point for point in threshold_curve(labels, probabilities, [0.3, 0.5, 0.7])}
    assert at[0.5]["f1_pos"] == pytest.approx(50.0) and at[0.5]["positive_rate"] == 0.4  # predicted 1,0,0,0,1: TP 1 FP 1 FN 1
    assert at[0.3]["f1_pos"] == pytest.approx(200 * 2 / 6, abs=0.01) and at[0.7]["f1_neg"] == pytest.approx(200 * 3 / 7, abs=0.01)
    # 0.40 flags 0.9, 0.4 and 0.6: TP 2, FP 1, TN 2 -> F1 80 / 80, the best macro F1 (0.65-0.85 flag 0.9 alone: 66.7 / 85.7)
    threshold, curve = calibrate_threshold(labels, probabilities)
    assert threshold == 0.4 and max(point["macro_f1"] for point in curve) == pytest.approx(80.0)


@pytest.mark.skipif(not (REPO.parent / "shared/data/reccon").is_dir(), reason="shared RECCON absent")
def test_calibration_command_writes_the_threshold_the_detector_and_featurizer_use(tiny_cause_encoder, tmp_path, word_tokenizer):
    import shutil

    from empathetic_models.featurization import CauseLabelFeaturizer
    from empathetic_models.training.calibrate_cause_detector import main

    detector_dir = tmp_path / "detector"
    shutil.copytree(tiny_cause_encoder, detector_dir)
    out = tmp_path / "calibration.json"
    results = main(["--detector", str(detector_dir), "--reccon_dir", str(REPO.parent / "shared/data/reccon"), "--data_source", "sample",
                    "--labels", str(_toy_labels(tmp_path)), "--output", str(out), "--max_length", "32", "--device", "cpu",
                    "--write_calibration"])  # fmt: skip
    assert json.loads(out.read_text()) == results and {"command", "commit", "hardware"} <= set(results)
    threshold = results["threshold"]
    assert max(p["macro_f1"] for p in results["reccon_valid_curve"]) == next(p["macro_f1"] for p in results["reccon_valid_curve"] if p["threshold"] == threshold)
    assert set(results["reccon_test"]) == set(results["ed_cause_eval"]) == {str(t) for t in {0.5, threshold}}
    assert all(0.0 <= results["ed_causal_fraction"][str(t)] <= 1.0 for t in {0.5, threshold})
    detector = CauseDetector.from_pretrained(detector_dir, device="cpu")
    assert detector.threshold == threshold
    assert CauseLabelFeaturizer(word_tokenizer, detector).cause_threshold == threshold
    assert CauseLabelFeaturizer(word_tokenizer, detector, cause_threshold=0.3).cause_threshold == 0.3
