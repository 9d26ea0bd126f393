"""The ``empathetic-models`` command line on a tiny checkpoint: help, generate, evaluate, bad input."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings

import pytest

from empathetic_models.cli import RENAMED_FLAGS, build_parser, main

# every subcommand but benchmark, whose flags (--help included) belong to empathetic_models.training.benchmark
SUBCOMMANDS = ("train", "evaluate", "generate", "chat", "annotate-concepts", "annotate-causes", "annotate-mechanisms", "knowledge",
               "knowledge annotate", "knowledge compare", "leaderboard", "card", "publish", "curves", "push")  # fmt: skip


def test_console_script_help_lists_every_subcommand():
    done = subprocess.run([sys.executable, "-m", "empathetic_models.cli", "--help"], capture_output=True, text=True)
    assert done.returncode == 0
    for name in (*SUBCOMMANDS, "benchmark"):
        assert name.split()[0] in done.stdout


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_every_subcommand_has_help(name, capsys):
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args([*name.split(), "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert f"usage: empathetic-models {name}" in out
    renamed = [old for old in RENAMED_FLAGS if old != "--batch-size" or name in ("evaluate", "generate", "chat")]  # annotate-* keep theirs
    for old in renamed:  # the old spellings work but are not shown
        assert not any(word.rstrip(",") == old for word in out.split()), old


# (subcommand and its required flags, old flag, value, new flag, Namespace attribute)
OLD_SPELLINGS = [
    (["evaluate", "--model", "m"], "--data", "ed", "--data-source", "data_source"),
    (["evaluate", "--model", "m"], "--batch-size", "8", "--generation-batch-size", "generation_batch_size"),
    (["generate", "--model", "m", "--input", "i", "--output", "o"], "--batch-size", "8", "--generation-batch-size", "generation_batch_size"),
    (["chat", "--model", "m"], "--batch-size", "8", "--generation-batch-size", "generation_batch_size"),
    (["annotate-concepts", "--conceptnet", "c", "--vad-lexicon", "v", "--output-dir", "o"], "--data", "ed", "--data-source", "data_source"),
    (["annotate-concepts", "--conceptnet", "c", "--output-dir", "o"], "--vad", "v", "--vad-lexicon", "vad_lexicon"),
    (["annotate-concepts", "--conceptnet", "c", "--vad-lexicon", "v", "--output-dir", "o"], "--num-proc", "3", "--preprocessing-num-workers",
     "preprocessing_num_workers"),
    (["annotate-concepts", "--conceptnet", "c", "--vad-lexicon", "v", "--output-dir", "o"], "--cache-dir", "k", "--knowledge-cache-dir",
     "knowledge_cache_dir"),
    (["annotate-causes", "--output-dir", "o"], "--detector", "d", "--cause-detector", "cause_detector"),
    (["annotate-causes", "--cause-detector", "d", "--output-dir", "o"], "--data", "ed", "--data-source", "data_source"),
    (["annotate-causes", "--cause-detector", "d", "--output-dir", "o"], "--cache-dir", "k", "--knowledge-cache-dir", "knowledge_cache_dir"),
    (["annotate-mechanisms", "--output-dir", "o"], "--er", "e", "--er-classifier", "er_classifier"),
    (["annotate-mechanisms", "--output-dir", "o"], "--ip", "i", "--ip-classifier", "ip_classifier"),
    (["annotate-mechanisms", "--output-dir", "o"], "--ex", "x", "--ex-classifier", "ex_classifier"),
    (["annotate-mechanisms", "--output-dir", "o"], "--data", "ed", "--data-source", "data_source"),
    (["annotate-mechanisms", "--output-dir", "o"], "--cache-dir", "k", "--knowledge-cache-dir", "knowledge_cache_dir"),
    (["knowledge", "annotate", "--output-dir", "o"], "--data", "ed", "--data-source", "data_source"),
    (["knowledge", "annotate", "--output-dir", "o"], "--encoder", "e", "--commonsense-encoder", "commonsense_encoder"),
    (["knowledge", "annotate", "--output-dir", "o"], "--cache-dir", "k", "--knowledge-cache-dir", "knowledge_cache_dir"),
    (["knowledge", "compare", "--queries", "q", "--output", "o"], "--encoder", "e", "--commonsense-encoder", "commonsense_encoder"),
    (["knowledge", "compare", "--queries", "q", "--output", "o"], "--cache-dir", "k", "--knowledge-cache-dir", "knowledge_cache_dir"),
    (["leaderboard"], "--readme", "R.md", "--update-readme", "update_readme"),
]


@pytest.mark.parametrize(("argv", "old", "value", "new", "dest"), OLD_SPELLINGS, ids=[f"{a[0]}{o}" for a, o, *_ in OLD_SPELLINGS])
def test_an_old_flag_spelling_still_works_and_names_the_new_one(argv, old, value, new, dest):
    with pytest.warns(FutureWarning, match=f"{old} is deprecated .*use {new}$"):
        args = build_parser().parse_args([*argv, old, value])
    assert str(getattr(args, dest)) == value
    assert RENAMED_FLAGS[old] == new
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the new spelling: same value, no warning
        assert str(getattr(build_parser().parse_args([*argv, new, value]), dest)) == value


def test_every_renamed_flag_has_an_alias_test():
    assert {old for _, old, *_ in OLD_SPELLINGS} == set(RENAMED_FLAGS)


def test_generate_writes_one_response_per_dialogue(tiny_checkpoint, tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_text('["I failed my exam today."]\n{"dialogue": ["My dog died.", "Oh no!", "I miss him."], "id": 7}\n')
    out = tmp_path / "out.jsonl"
    assert main(["generate", "--model", str(tiny_checkpoint), "--input", str(source), "--output", str(out), "--generation-batch-size", "2"]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 2 and rows[1]["id"] == 7
    assert all(isinstance(r["response"], str) and r["predicted_emotion"] for r in rows)


@pytest.mark.parametrize(
    ("content", "message"),
    [("[]\n", "dialogue 1"), ('{"dialogue": ["ok", 3]}\n', "dialogue 1"), ("not json\n", "not valid JSON"), ("", "no dialogues")],
)
def test_generate_rejects_bad_dialogues_with_a_clear_error(tiny_checkpoint, tmp_path, capsys, content, message):
    source = tmp_path / "in.jsonl"
    source.write_text(content)
    code = main(["generate", "--model", str(tiny_checkpoint), "--input", str(source), "--output", str(tmp_path / "o.jsonl")])
    assert code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o.jsonl").exists()


def test_evaluate_a_checkpoint_on_the_sample_writes_json_and_markdown(tiny_checkpoint, tmp_path):
    out = tmp_path / "eval"
    assert main(["evaluate", "--model", str(tiny_checkpoint), "--max-examples", "10", "--output-dir", str(out)]) == 0
    results = json.loads((out / "test_results.json").read_text())
    assert results["num_examples"] == 10 and results["decoding"]["strategy"] == "greedy"
    assert results["metrics"]["ppl"] > 1 and 0 <= results["metrics"]["emotion_accuracy"] <= 100
    assert "ppl" in (out / "test_results.md").read_text().lower()
    assert len((out / "test_generations.jsonl").read_text().splitlines()) == 10


def test_evaluate_a_predictions_file(tmp_path):
    predictions = tmp_path / "p.jsonl"
    predictions.write_text(
        '{"prediction": "i am sorry to hear that .", "reference": "i am so sorry to hear that .", "emotion": "sad", "predicted_emotion": "sad"}\n'
        '{"prediction": "that is great !", "reference": "wow , that is great !", "emotion": "proud", "predicted_emotion": "joyful"}\n'
    )
    assert main(["evaluate", "--predictions", str(predictions), "--output-dir", str(tmp_path)]) == 0
    metrics = json.loads((tmp_path / "test_results.json").read_text())["metrics"]
    assert metrics["emotion_accuracy"] == pytest.approx(50.0)
    # generated tokens: "i am sorry to hear that ." + "that is great !" = 11, "that" twice -> 10 distinct
    assert metrics["dist_1"] == pytest.approx(100 * 10 / 11)


def test_evaluate_rejects_an_unknown_emotion_label(tmp_path, capsys):
    predictions = tmp_path / "p.jsonl"
    predictions.write_text('{"prediction": "ok", "reference": "ok", "emotion": "sad", "predicted_emotion": "hungry"}\n')
    assert main(["evaluate", "--predictions", str(predictions), "--output-dir", str(tmp_path)]) == 2
    assert "hungry" in capsys.readouterr().err


def test_chat_answers_each_line_and_shows_the_emotion(tiny_checkpoint, monkeypatch, capsys):
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO("I lost my job.\n/reset\nMy cat is sick.\n/quit\nnever read\n"))
    assert main(["chat", "--model", str(tiny_checkpoint), "--max-new-tokens", "5"]) == 0
    replies = [line for line in capsys.readouterr().out.splitlines() if line.startswith("bot [")]
    assert len(replies) == 2


def test_chat_goes_on_after_an_empty_reply(tmp_path, word_tokenizer, monkeypatch, capsys):
    import io

    import torch

    from conftest import make_tiny_model

    model = make_tiny_model(word_tokenizer, output_bias=True, tie_word_embeddings=False)
    with torch.no_grad():  # the model ends every response at once
        model.get_output_embeddings().bias[model.config.eos_token_id] = 1e4
    model.save_pretrained(tmp_path / "mute")
    word_tokenizer.save_pretrained(tmp_path / "mute")
    monkeypatch.setattr(sys, "stdin", io.StringIO("I lost my job.\nAnd my flat.\n/quit\n"))
    assert main(["chat", "--model", str(tmp_path / "mute"), "--max-new-tokens", "5"]) == 0
    captured = capsys.readouterr()
    replies = [line for line in captured.out.splitlines() if line.startswith("bot [")]
    assert len(replies) == 2 and all("no reply" in line for line in replies)
    assert "empty" not in captured.err  # the history never holds an empty utterance


def test_a_history_longer_than_the_model_reads_is_announced(tiny_checkpoint, caplog):
    import logging

    from empathetic_models.inference import generate_responses, load_checkpoint

    model, _, featurizer = load_checkpoint(tiny_checkpoint, "cpu")
    long = ["I lost my job today ."] * 10_000
    with caplog.at_level(logging.WARNING, logger="empathetic_models.inference"):
        responses, _ = generate_responses(model, featurizer, [["Hi there ."], long], progress=False, max_new_tokens=3)
    assert len(responses) == 2
    assert "1 dialogue history(ies) longer than" in caplog.text and "dialogue 2 (60000 tokens)" in caplog.text
