"""The speed benchmark (training/benchmark.py): report contents, and the one-at-a-time reference decoder."""

from __future__ import annotations

import json

import pytest

from conftest import make_tiny_model
from empathetic_models.featurization import featurizer_for
from empathetic_models.inference import generate_responses
from training.benchmark import decode_one_at_a_time, main

DIALOGUES = [["I passed my driving test!"], ["My cat is sick.", "Oh no, what happened?", "He stopped eating."], ["I am bored."]]


def test_one_at_a_time_reference_matches_batched_greedy(word_tokenizer):
    model = make_tiny_model(word_tokenizer)
    featurizer = featurizer_for("empathetic_transformer", word_tokenizer, max_source_length=64)
    batched, _ = generate_responses(model, featurizer, DIALOGUES, batch_size=3, progress=False, max_new_tokens=8)
    assert decode_one_at_a_time(model, featurizer, DIALOGUES, max_new_tokens=8) == batched


def test_benchmark_writes_training_generation_and_reference_figures(tmp_path):
    report = main([
        "--model", "empathetic_transformer", "--data_source", "sample", "--split_style", "full", "--train_steps", "3",
        "--train_warmup_steps", "1", "--max_examples", "12", "--reference_examples", "4", "--num_beams", "1,3",
        "--max_new_tokens", "6", "--output_dir", str(tmp_path), "--name", "bench",
    ])  # fmt: skip
    written = json.loads((tmp_path / "bench.json").read_text())
    assert written == report and written["commit"] and written["device"].startswith(("CPU", "NVIDIA"))
    training, generation = written["training"], written["generation"]
    assert training["examples_per_s"] > 0 and training["epoch_wall_clock_s"] > 0 and training["train_examples"] == 411
    assert generation["contexts"] == 12 and {"batched_beam1", "batched_beam3"} <= generation.keys()
    reference = generation["one_at_a_time_greedy"]
    assert reference["dialogues"] == 4 and reference["identical_to_batched"] == 4 and generation["batched_speedup_greedy"] > 0
    assert "speed-up" in (tmp_path / "bench.md").read_text()


def test_benchmark_times_autocast_variants_from_the_same_weights(tmp_path):
    report = main([
        "--model", "empathetic_transformer", "--data_source", "sample", "--split_style", "full", "--train_steps", "2",
        "--train_warmup_steps", "1", "--max_examples", "8", "--reference_examples", "0", "--num_beams", "1",
        "--max_new_tokens", "5", "--train_variants", "fp32,bf16,fp32+grouped", "--generation_variants", "fp32,bf16",
        "--output_dir", str(tmp_path), "--name", "variants",
    ])  # fmt: skip
    variants = report["training_variants"]
    assert list(variants) == ["fp32", "bf16", "fp32+grouped"] and report["training"]["variant"] == "fp32"
    # same initial weights and batches: bf16 autocast ends near the fp32 loss
    assert variants["bf16"]["examples_per_s"] > 0 and abs(variants["bf16"]["final_loss"] - variants["fp32"]["final_loss"]) < 0.1
    bf16 = report["generation"]["batched_beam1_bf16"]
    assert 0 <= bf16["identical_to_fp32"] <= 8 and bf16["responses_per_s"] > 0
    assert "bf16 autocast" in (tmp_path / "variants.md").read_text()
    with pytest.raises(ValueError, match="unknown training variant"):
        main(["--model", "empathetic_transformer", "--train_variants", "fp32+jit", "--train_steps", "1", "--train_warmup_steps", "0",
              "--max_examples", "2", "--reference_examples", "0", "--num_beams", "1", "--output_dir", str(tmp_path)])  # fmt: skip
