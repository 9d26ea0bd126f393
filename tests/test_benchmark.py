"""The speed benchmark (training/benchmark.py): report contents, and the one-at-a-time reference decoder."""

from __future__ import annotations

import json

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
