"""Model cards (hub_cards templates → ModelCard with model-index), pushing a checkpoint up to the network
boundary, and the ``empathetic-response`` pipeline on a tiny real checkpoint (everything local)."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import huggingface_hub.constants
import pytest
import torch
import yaml
from huggingface_hub import HfApi
from huggingface_hub.utils import filter_repo_objects
from transformers import pipeline

import empathetic_models.pipelines  # noqa: F401  (registers the "empathetic-response" task)
from conftest import make_tiny_model
from empathetic_models.cards import METRICS, NOT_MEASURED, build_card, write_card
from empathetic_models.data import DataError
from empathetic_models.featurization import featurizer_for
from empathetic_models.hub import IGNORE_PATTERNS, push_checkpoint
from empathetic_models.inference import generate_responses
from empathetic_models.hub_cards import RESULTS_DIR, TEMPLATES_DIR, template_path

MODEL_TYPE = "empathetic_transformer"
MEASURED = {"ppl": 41.5, "bleu_1": 17.25, "bleu_4": 2.5, "dist_1": 0.61, "dist_2": 2.75, "emotion_accuracy": 31.4}
RESULTS = {
    "model_type": MODEL_TYPE, "model_name_or_path": "checkpoints/ed", "dataset": "empathetic_dialogues",
    "split_style": "paper", "split": "test", "num_examples": 5255, "data_source": "ed",
    "decoding": {"strategy": "greedy", "max_new_tokens": 30, "num_beams": 1}, "metric_version": "1",
    "metrics": MEASURED, "command": "python -m empathetic_models.training.train empathetic_transformer --seed 7",
    "commit": "0123abcd", "hardware": "1x test CPU", "train_wall_clock_s": 7200, "generate_wall_clock_s": 95.5,
}  # fmt: skip


def front_matter(text: str) -> dict:
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n")[1])


def table_row(text: str, name: str) -> str:
    return next(line for line in text.splitlines() if line.startswith(f"| {name} |"))


@pytest.fixture
def checkpoint(tiny_checkpoint, tmp_path):
    folder = tmp_path / "ckpt"
    shutil.copytree(tiny_checkpoint, folder)
    return folder


# ------------------------------------------------------------------------------------------------ cards


def test_hub_cards_package_layout():
    assert TEMPLATES_DIR.is_dir() and TEMPLATES_DIR.parent == RESULTS_DIR.parent
    assert template_path(MODEL_TYPE) == TEMPLATES_DIR / f"{MODEL_TYPE}.md"
    assert template_path("kemp") == TEMPLATES_DIR / "kemp.md"
    with pytest.raises(FileNotFoundError, match=r"no model-card template for model_type 'mime'; available: \['case', 'case_blenderbot', 'emocause', 'empathetic_transformer', 'imagine', 'kemp', 'nec'\]"):
        template_path("mime")


def test_card_yaml_has_model_index_with_the_measured_values_and_the_table_shows_them(tmp_path):
    results_path = tmp_path / "test_results.json"
    results_path.write_text(json.dumps(RESULTS))
    card = build_card(results_path, MODEL_TYPE, model_id="me/multi-trs")
    text = str(card)
    meta = front_matter(text)
    assert meta["license"] == "cc-by-nc-4.0" and meta["language"] == "en" and meta["library_name"] == "transformers"
    assert {"empathetic-dialogue", MODEL_TYPE} <= set(meta["tags"]) and meta["datasets"] == ["empathetic_dialogues"]
    (index,) = meta["model-index"]
    (result,) = index["results"]
    assert index["name"] == "me/multi-trs" and result["task"]["type"] == "text-generation"
    assert result["dataset"] == {"name": "EmpatheticDialogues", "type": "empathetic_dialogues", "split": "test"}
    assert {m["type"]: m["value"] for m in result["metrics"]} == MEASURED
    assert {m["type"]: m["name"] for m in result["metrics"]} == {k: METRICS[k][0] for k in MEASURED}
    # the table: every defined metric, measured ones with their value, the others "not measured"
    for key, (name, definition) in METRICS.items():
        row = table_row(text.split("## Evaluation")[1], name)
        expected = f"{MEASURED[key]:.2f}" if key in MEASURED else NOT_MEASURED
        assert row == f"| {name} | {expected} | {definition} |"
    # provenance, decoding and data, as recorded in the results
    for fact in ("0123abcd", "1x test CPU", "7200 s (2.00 h)", "96 s", "--seed 7", "max_new_tokens=30", "papers' split"):
        assert fact in text, fact
    # the papers' rows beside ours (KEMP Table 2 Transformer, NEC Multi-TRS)
    assert "| Transformer | KEMP (Li et al., AAAI 2022) Table 2 | 37.73 |" in text
    assert "| 37.50 | 18.78 | 8.55 | 4.70 | 2.95 | 0.35 | 1.27 | 100.11 |" in text
    assert "CC BY-NC 4.0" in text and "trust_remote_code=True" in text


def test_card_without_results_says_not_measured_and_invents_nothing():
    text = str(build_card(None, MODEL_TYPE))
    assert "model-index" not in front_matter(text)
    evaluation = text.split("## Evaluation")[1].split("### Published")[0]
    assert all(table_row(evaluation, name).split(" | ")[1] == NOT_MEASURED for name, _ in METRICS.values())
    assert "commit**: not recorded" in text and "no `config.json` was given" in text


def test_unmeasured_metrics_may_be_null_and_unknown_ones_are_kept_by_name():
    results = {**RESULTS, "metrics": {"ppl": 40.0, "sent_std": None, "bertscore_f1_minilm": 0.81}}
    text = str(build_card(results))  # model_type from the results
    metrics = {m["type"]: m["value"] for m in front_matter(text)["model-index"][0]["results"][0]["metrics"]}
    assert metrics == {"ppl": 40.0, "bertscore_f1_minilm": 0.81}
    assert table_row(text, "Sent-Std").startswith(f"| Sent-Std | {NOT_MEASURED} |")
    assert table_row(text, "bertscore_f1_minilm").startswith("| bertscore_f1_minilm | 0.81 |")


def test_card_errors_are_clear(tmp_path):
    with pytest.raises(FileNotFoundError, match="no model-card template for model_type 'mime'.*empathetic_transformer"):
        build_card({**RESULTS, "model_type": "mime"})
    for model_type in ("nec", "case_blenderbot"):
        with pytest.raises(ValueError, match=f"{model_type} card describes the checkpoint's backbone"):
            build_card({**RESULTS, "model_type": model_type})
    with pytest.raises(ValueError, match="model_type disagrees"):
        build_card(RESULTS, "kemp")
    with pytest.raises(ValueError, match="cannot tell the model_type"):
        build_card({"metrics": {"ppl": 1.0}})
    with pytest.raises(ValueError, match="metric 'ppl'.*nan"):
        build_card({**RESULTS, "metrics": {"ppl": float("nan")}})
    with pytest.raises(ValueError, match="metric 'dist_1'.*'high'"):
        build_card({**RESULTS, "metrics": {"dist_1": "high"}})
    with pytest.raises(FileNotFoundError, match="results file not found"):
        build_card(tmp_path / "none.json", MODEL_TYPE)
    with pytest.raises(FileNotFoundError, match="template not found"):
        build_card(RESULTS, template=tmp_path / "none.md")


def test_card_from_an_explicit_template(tmp_path):
    template = tmp_path / "mine.md"
    rows = "{% for r in results_rows %}{{ r.name }}={{ r.value }};{% endfor %}"
    template.write_text("---\n{{ card_data }}\n---\n\n# {{ model_name }}\n" + rows + "\n")
    text = str(build_card(RESULTS, template=template, model_id="me/x"))
    assert "# me/x" in text and "PPL=41.50;" in text and f"BLEU-2={NOT_MEASURED};" in text
    assert front_matter(text)["model-index"][0]["name"] == "me/x"


def test_write_card_uses_the_checkpoint_config_and_writes_only_readme(checkpoint):
    (checkpoint / "results").mkdir()
    (checkpoint / "results" / "test_results.json").write_text(json.dumps(RESULTS))
    before = {p.relative_to(checkpoint): p.read_bytes() for p in checkpoint.rglob("*") if p.is_file()}
    path = write_card(checkpoint)  # default results: results/test_results.json
    after = {p.relative_to(checkpoint): p.read_bytes() for p in checkpoint.rglob("*") if p.is_file()}
    assert path == checkpoint / "README.md" and set(after) - set(before) == {Path("README.md")}
    assert all(after[name] == content for name, content in before.items())
    text = path.read_text()
    config = json.loads((checkpoint / "config.json").read_text())
    assert f"d_model {config['d_model']}," in text and f"{config['vocab_size']} words" in text
    assert "from the checkpoint's `config.json`" in text and "Shipped `generation_config.json`" in text
    assert {m["type"] for m in front_matter(text)["model-index"][0]["results"][0]["metrics"]} == set(MEASURED)
    # without results the card is still valid and says so
    (checkpoint / "results" / "test_results.json").unlink()
    assert "model-index" not in front_matter(write_card(checkpoint).read_text())


# ------------------------------------------------------------------------------------------------ push


class RecordingHfApi(HfApi):
    """Stands in for the network only: records the calls and the files ``upload_folder`` would send."""

    def __init__(self):
        super().__init__(endpoint="https://hub.invalid", token="hf_test")
        self.calls = []

    def create_repo(self, repo_id, **kwargs):
        self.calls.append(("create_repo", repo_id, kwargs))

    def upload_folder(self, *, folder_path, repo_id, commit_message=None, ignore_patterns=None, **kwargs):
        files = sorted(p.relative_to(folder_path).as_posix() for p in Path(folder_path).rglob("*") if p.is_file())
        uploaded = sorted(filter_repo_objects(files, ignore_patterns=ignore_patterns))
        self.calls.append(("upload_folder", repo_id, {"commit_message": commit_message, "files": uploaded, **kwargs}))
        return f"https://hub.invalid/{repo_id}/commit/abc"


def test_push_creates_the_repo_and_uploads_exactly_the_checkpoint(checkpoint):
    write_card(checkpoint)
    published = sorted(p.name for p in checkpoint.iterdir())
    (checkpoint / "checkpoint-500").mkdir()
    (checkpoint / "checkpoint-500" / "model.safetensors").write_bytes(b"old")
    (checkpoint / "training_args.bin").write_bytes(b"0")
    api = RecordingHfApi()
    url = push_checkpoint(checkpoint, "me/multi-trs", private=True, commit_message="first", api=api)
    assert url == "https://hub.invalid/me/multi-trs/commit/abc"
    (create, repo, kwargs), (upload, upload_repo, upload_kwargs) = api.calls
    assert (create, repo, upload, upload_repo) == ("create_repo", "me/multi-trs", "upload_folder", "me/multi-trs")
    assert kwargs["private"] is True and kwargs["exist_ok"] is True and upload_kwargs["commit_message"] == "first"
    assert upload_kwargs["files"] == published
    assert {
        "README.md", "config.json", "generation_config.json", "model.safetensors", "tokenizer.json",
        "tokenizer_config.json", "configuration_empathetic_transformer.py", "modeling_empathetic_transformer.py",
        "layers.py", "emotions.py",
    } <= set(published)  # fmt: skip
    assert "checkpoint-*" in IGNORE_PATTERNS


@pytest.mark.parametrize(
    ("remove", "message"),
    [
        ("README.md", r"README.md \(run `empathetic-models card` first\)"),
        ("model.safetensors", "model.safetensors"),
        ("tokenizer.json", "tokenizer.json"),
        ("config.json", "config.json"),
        ("modeling_empathetic_transformer.py", r"modeling_empathetic_transformer.py \(model code for trust_remote_code\)"),
        ("emotions.py", "emotions.py"),  # imported by the configuration module, found recursively
    ],
)
def test_push_refuses_an_incomplete_checkpoint_before_any_network_call(checkpoint, remove, message):
    write_card(checkpoint)
    (checkpoint / remove).unlink()
    api = RecordingHfApi()
    with pytest.raises(FileNotFoundError, match=f"is not ready to push; missing: .*{message}"):
        push_checkpoint(checkpoint, "me/x", api=api)
    assert api.calls == []


def test_push_refuses_a_readme_that_is_not_a_card_and_a_missing_folder(checkpoint, tmp_path):
    (checkpoint / "README.md").write_text("# my model\n")
    with pytest.raises(FileNotFoundError, match="model-card metadata in README.md"):
        push_checkpoint(checkpoint, "me/x", api=RecordingHfApi())
    with pytest.raises(FileNotFoundError, match="checkpoint folder not found"):
        push_checkpoint(tmp_path / "nothing", "me/x", api=RecordingHfApi())


def test_push_to_an_unreachable_hub_fails_clearly_and_fast(checkpoint, monkeypatch):
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)  # reach the socket, not the offline guard
    write_card(checkpoint)
    start = time.perf_counter()
    with pytest.raises(RuntimeError, match="could not reach the Hub at http://127.0.0.1:9: .*[Cc]onnection refused") as info:
        push_checkpoint(checkpoint, "me/x", api=HfApi(endpoint="http://127.0.0.1:9", token="hf_test"))
    assert type(info.value.__cause__).__name__ == "ConnectError"
    assert time.perf_counter() - start < 10


# ------------------------------------------------------------------------------------------------ pipeline

DIALOGUES = [
    ["i am so sad today ."],
    ["my dog died last week .", "oh no , what happened ?", "he was old and sick , i miss him so much ."],
    ["i got the job !"],
    ["i was scared when i heard a noise downstairs at night", "did you check ?", "yes , it was my cat ."],
    ["my friend forgot my birthday"],
]


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """A d_model-16 model is all thread overhead: on a busy machine two intra-op threads make it ~25x slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def chat(tiny_checkpoint):
    return pipeline("empathetic-response", model=str(tiny_checkpoint), device="cpu")


def test_pipeline_answers_one_dialogue(chat):
    labels = set(chat.model.config.id2label.values())
    for dialogue in ("I am so sad today.", ["I am so sad today."], DIALOGUES[1], tuple(DIALOGUES[1])):
        result = chat(dialogue)
        assert set(result) == {"response", "emotion", "emotion_score"}
        assert isinstance(result["response"], str) and result["emotion"] in labels
        assert 0 < result["emotion_score"] <= 1
    assert chat("I am so sad today.") == chat(["I am so sad today."])


def test_pipeline_answers_a_list_of_dialogues_like_generate_responses(chat):
    results = chat(DIALOGUES)
    assert isinstance(results, list) and len(results) == len(DIALOGUES)
    featurizer = featurizer_for(chat.model.config.model_type, chat.tokenizer, max_source_length=256)
    responses, emotions = generate_responses(chat.model, featurizer, DIALOGUES, batch_size=2, progress=False)
    assert [r["response"] for r in results] == responses
    assert [r["emotion"] for r in results] == emotions


def test_pipeline_batched_equals_unbatched(chat):
    single = chat(DIALOGUES, batch_size=1)
    batched = chat(DIALOGUES, batch_size=4)  # pads input_ids, attention_mask and dialogue_state_ids with 0
    assert [r["response"] for r in batched] == [r["response"] for r in single]
    assert [r["emotion"] for r in batched] == [r["emotion"] for r in single]
    assert [r["emotion_score"] for r in batched] == pytest.approx([r["emotion_score"] for r in single], abs=1e-5)
    assert [r["response"] for r in chat(DIALOGUES, batch_size=3, num_beams=2)] == [
        r["response"] for r in chat(DIALOGUES, batch_size=1, num_beams=2)
    ]


def test_pipeline_rejects_bad_dialogues(chat):
    with pytest.raises(DataError, match="empty"):
        chat([])
    with pytest.raises(DataError, match="Utterance 1 of 2 in the dialogue is a int"):
        chat([1, 2])
    with pytest.raises(DataError, match="dialogue 2: .*empty"):
        chat([["fine"], []])
    with pytest.raises(DataError, match="dialogue 1: Utterance 2 of 2"):
        chat([["fine", 3]])
    with pytest.raises(DataError, match="empty or only white space"):
        chat("   ")


def test_pipeline_generation_parameters(chat, tiny_checkpoint):
    assert len(chat(DIALOGUES[1], max_new_tokens=1)["response"].split()) <= 1
    sampled = chat(DIALOGUES[1], do_sample=True, top_k=3, max_new_tokens=3)
    assert len(sampled["response"].split()) <= 3
    short = pipeline("empathetic-response", model=str(tiny_checkpoint), device="cpu", max_new_tokens=2)
    assert len(short(DIALOGUES[1])["response"].split()) <= 2
    with pytest.raises(ValueError, match="unknown arguments \\['max_tokens'\\]"):
        chat("hi", max_tokens=3)
    with pytest.raises(ValueError, match="one response per dialogue"):
        chat("hi", num_return_sequences=2)


def test_pipeline_without_an_emotion_head_returns_no_emotion(word_tokenizer, tmp_path):
    make_tiny_model(word_tokenizer, use_emotion_classifier=False).save_pretrained(tmp_path)
    word_tokenizer.save_pretrained(tmp_path)
    result = pipeline("empathetic-response", model=str(tmp_path), device="cpu")(DIALOGUES[0])
    assert result["emotion"] is None and result["emotion_score"] is None and isinstance(result["response"], str)


def _fake_run(folder: Path, ppls: dict[int, float], embedding_init: str) -> Path:
    """A training output folder as the Trainer leaves it: trainer_state.json and run_info.json."""
    folder.mkdir(parents=True)
    history = [{"step": s, "loss": 5.0} for s in ppls] + [{"step": s, "eval_ppl": v} for s, v in ppls.items()]
    best = min(ppls, key=ppls.get)
    (folder / "trainer_state.json").write_text(json.dumps({"log_history": history, "best_global_step": best, "best_metric": ppls[best]}))
    (folder / "run_info.json").write_text(json.dumps({"command": f"train --embeddings {embedding_init}", "commit": "abc1234",
                                                      "embedding_init": embedding_init, "selection_metric": "eval_ppl",
                                                      "data_source": "ed", "split_style": "paper"}))  # fmt: skip
    return folder


def test_curves_compares_runs_at_the_steps_all_evaluated(tmp_path):
    from empathetic_models.cli import main

    glove = _fake_run(tmp_path / "glove", {2000: 80.0, 4000: 55.0, 6000: 51.0, 8000: 48.0, 10000: 44.0}, "glove")
    random = _fake_run(tmp_path / "random", {2000: 90.0, 4000: 60.0, 6000: 50.0, 8000: 49.5}, "random")
    out = tmp_path / "ablation" / "embeddings"
    assert main(["curves", f"glove={glove}", f"random={random}", "--output", str(out), "--note", "8k budget"]) == 0
    comparison = json.loads(out.with_suffix(".json").read_text())
    assert comparison["budget_steps"] == 8000  # glove's 10,000 is outside the shared budget
    assert [row["step"] for row in comparison["by_step"]] == [2000, 4000, 6000, 8000]
    assert comparison["lowest_eval_ppl_within_budget"] == {"glove": 48.0, "random": 49.5}
    assert comparison["best_within_budget"] == "glove"
    assert comparison["variants"]["glove"]["lowest_eval_ppl"] == 44.0 and comparison["variants"]["glove"]["lowest_eval_ppl_step"] == 10000
    assert comparison["variants"]["random"]["commit"] == "abc1234" and comparison["note"] == "8k budget"
    assert comparison["split"] == "valid" and comparison["variants"]["random"]["split_style"] == "paper"
    table = out.with_suffix(".md").read_text()
    assert "| 6000 | 51.00 | **50.00** |" not in table and "| 8000 | **48.00** | **49.50** |" in table
    assert out.with_suffix(".svg").read_text().count("<polyline") == 2
    assert main(["curves", str(glove), "--output", str(out)]) == 2  # no LABEL= : a clear error, not a traceback


def test_a_local_card_loads_its_own_folder_and_a_sample_run_says_it_is_a_smoke_test(tiny_checkpoint, tmp_path):
    folder = tmp_path / "sample_run"
    shutil.copytree(tiny_checkpoint, folder)
    results = {"model_type": "empathetic_transformer", "data_source": "sample", "train_examples": 411, "metrics": {"ppl": 300.0}}
    text = write_card(folder, results).read_text()
    assert f'from_pretrained("{folder}")' in text and "empathetic-models/empathetic_transformer" not in text
    assert "A smoke-test checkpoint" in text and "411 training examples" in text
    full = write_card(folder, {**results, "data_source": "/data/empatheticdialogues"}, model_id="me/multi-trs").read_text()
    assert 'from_pretrained("me/multi-trs")' in full and "smoke-test" not in full
