"""The speed benchmark (training/benchmark.py): report contents, and the one-at-a-time reference decoder."""

from __future__ import annotations

import json

import pytest

from conftest import make_tiny_model
from empathetic_models.featurization import featurizer_for
from empathetic_models.inference import generate_responses
from empathetic_models.training.benchmark import decode_one_at_a_time, main

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


def test_benchmark_interleaves_thread_counts_and_counts_flop_per_step(tmp_path):
    report = main([
        "--model", "empathetic_transformer", "--data_source", "sample", "--split_style", "full", "--train_steps", "2",
        "--train_warmup_steps", "1", "--train_batch_size", "4", "--threads", "1,2", "--rounds", "2", "--max_train_examples", "40",
        "--train_variants", "fp32,bf16", "--generation", "false", "--output_dir", str(tmp_path), "--name", "threads",
    ])  # fmt: skip
    variants = report["training_variants"]
    assert list(variants) == ["fp32@1t", "bf16@1t", "fp32@2t", "bf16@2t"] and "generation" not in report
    assert [v["threads"] for v in variants.values()] == [1, 1, 2, 2] and report["training"]["train_examples"] == 40
    fp32 = variants["fp32@1t"]
    assert len(fp32["rounds_s_per_step"]) == 2 and sorted(fp32["rounds_s_per_step"])[1] == fp32["s_per_step"]
    assert variants["bf16@2t"]["flop_per_step"] == fp32["flop_per_step"]  # same batches, same count
    # the output projection alone, forward + backward, is 3 matmuls of 2·tokens·hidden·vocabulary at the response tokens
    vocabulary, hidden = report["output_layer"]
    tokens_per_step = fp32["target_tokens_per_s"] * fp32["s_per_step"]
    assert 6 * tokens_per_step * hidden * vocabulary * 0.98 < fp32["flop_per_step"] < 40 * 6 * tokens_per_step * hidden * vocabulary
    assert fp32["matmul_gflops"] > 0 and 0 < fp32["fraction_of_matmul_peak"] < 2
    assert "GFLOP/step" in (tmp_path / "threads.md").read_text()
    with pytest.raises(ValueError, match="raise --max_train_examples"):
        main(["--model", "empathetic_transformer", "--data_source", "sample", "--train_steps", "5", "--train_warmup_steps", "0",
              "--train_batch_size", "4", "--max_train_examples", "8", "--generation", "false", "--output_dir", str(tmp_path)])  # fmt: skip
