"""Model cards, the README results table, pushing to the Hub (up to the network boundary), the pipeline task."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from huggingface_hub import HfApi
from transformers import pipeline

import empathetic_models  # noqa: F401  (registers models and the pipeline task)
from empathetic_models.cards import NOT_MEASURED, build_card, results_table, update_readme, write_card
from empathetic_models.data import DataError
from empathetic_models.hub import missing_files, push_checkpoint
from hub_cards import template_path

REPO = Path(__file__).resolve().parents[1]
RESULTS = {
    "model_type": "empathetic_transformer", "dataset": "empathetic_dialogues", "split_style": "paper", "split": "test",
    "num_examples": 5255, "data_source": "ed", "decoding": {"strategy": "greedy", "max_new_tokens": 30},
    "metrics": {"ppl": 37.1234, "bleu_1": 18.5, "dist_1": 0.45, "dist_2": 2.01, "emotion_accuracy": 34.2},
    "command": "python -m training.train empathetic_transformer", "commit": "abc123", "hardware": "test rig",
}  # fmt: skip


def _front_matter(text: str) -> dict:
    return yaml.safe_load(text.split("---")[1])


@pytest.fixture
def checkpoint(tiny_checkpoint, tmp_path):
    folder = tmp_path / "ckpt"
    shutil.copytree(tiny_checkpoint, folder)
    return folder


def test_card_carries_model_index_and_a_table_of_the_measured_values(checkpoint):
    (checkpoint / "results").mkdir()
    (checkpoint / "results" / "test_results.json").write_text(json.dumps(RESULTS))
    text = write_card(checkpoint).read_text()  # default: results/test_results.json
    meta = _front_matter(text)
    assert meta["license"] == "cc-by-nc-4.0"
    metrics = {m["type"]: m["value"] for m in meta["model-index"][0]["results"][0]["metrics"]}
    assert metrics == {"ppl": 37.1234, "bleu_1": 18.5, "dist_1": 0.45, "dist_2": 2.01, "emotion_accuracy": 34.2}
    assert "| PPL | 37.12 |" in text and f"| BLEU-4 | {NOT_MEASURED} |" in text
    assert "papers' split" in text and "abc123" in text and "37.73" in text  # published KEMP row beside ours


def test_card_without_results_says_not_measured_and_has_no_model_index(checkpoint):
    text = write_card(checkpoint).read_text()
    assert "model-index" not in _front_matter(text)
    assert text.count(NOT_MEASURED) >= 10


def test_card_needs_a_checkpoint_and_a_template():
    with pytest.raises(FileNotFoundError, match="no config.json"):
        write_card(REPO / "tests")
    with pytest.raises(FileNotFoundError, match="no model-card template for model_type 'nope'.*empathetic_transformer"):
        template_path("nope")
    with pytest.raises(FileNotFoundError, match="results file not found"):
        build_card(REPO / "missing.json", config={"model_type": "empathetic_transformer"})


def test_readme_results_table_is_generated_from_hub_cards_results(tmp_path):
    results = tmp_path / "results"
    (results / "empathetic_transformer").mkdir(parents=True)
    (results / "empathetic_transformer" / "full_ed.json").write_text(json.dumps(RESULTS))
    table = results_table(results)
    assert "| 37.12 |" in table and "test rig" in table and "NEC Tables 1 and 3" in table
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- results:start -->\nold\n<!-- results:end -->\nend\n")
    assert update_readme(readme, results) is True and "old" not in readme.read_text()
    assert update_readme(readme, results) is False  # idempotent


def test_the_repository_readme_table_is_up_to_date():
    text = (REPO / "README.md").read_text()
    assert results_table() in text, "run `empathetic-models card --update-readme README.md`"


class RecordingHfApi(HfApi):
    """The network boundary: records what would be sent instead of sending it."""

    def __init__(self):
        super().__init__(endpoint="https://hub.invalid", token="hf_test")
        self.calls = []

    def create_repo(self, repo_id, **kwargs):
        self.calls.append(("create_repo", repo_id, kwargs))

    def upload_folder(self, *, folder_path, repo_id, ignore_patterns, **kwargs):
        from huggingface_hub.utils import filter_repo_objects

        files = sorted(str(p.relative_to(folder_path)) for p in Path(folder_path).rglob("*") if p.is_file())
        uploaded = list(filter_repo_objects(files, ignore_patterns=ignore_patterns))
        self.calls.append(("upload_folder", repo_id, uploaded))
        return f"https://hub.invalid/{repo_id}/commit/1"


def test_push_uploads_the_checkpoint_without_training_leftovers(checkpoint):
    write_card(checkpoint)
    (checkpoint / "checkpoint-10").mkdir()
    (checkpoint / "checkpoint-10" / "optimizer.pt").write_bytes(b"0")
    (checkpoint / "training_args.bin").write_bytes(b"0")
    api = RecordingHfApi()
    url = push_checkpoint(checkpoint, "me/empathetic", private=True, api=api)
    assert url.endswith("/commit/1")
    (_, repo, kwargs), (_, _, uploaded) = api.calls
    assert repo == "me/empathetic" and kwargs["private"] is True
    assert {"config.json", "model.safetensors", "README.md", "modeling_empathetic_transformer.py", "tokenizer.json"} <= set(uploaded)
    assert not any(f.startswith("checkpoint-") or f == "training_args.bin" for f in uploaded)


def test_push_refuses_an_incomplete_checkpoint(checkpoint):
    assert missing_files(checkpoint) == ["README.md (run `empathetic-models card` first)"]
    (checkpoint / "layers.py").unlink()
    with pytest.raises(FileNotFoundError, match="README.md.*layers.py"):
        push_checkpoint(checkpoint, "me/x", api=RecordingHfApi())


def test_push_reports_an_unreachable_hub(checkpoint):
    write_card(checkpoint)
    with pytest.raises(RuntimeError, match="could not reach the Hub at http://127.0.0.1:9"):
        push_checkpoint(checkpoint, "me/x", api=HfApi(endpoint="http://127.0.0.1:9", token="hf_test"))


def test_pipeline_answers_one_dialogue_or_many(tiny_checkpoint):
    chat = pipeline("empathetic-response", model=str(tiny_checkpoint), device="cpu")
    labels = set(chat.model.config.id2label.values())
    one = chat("I failed my exam.")
    assert isinstance(one["response"], str) and one["emotion"] in labels and 0 < one["emotion_score"] <= 1
    assert chat(["My dog died.", "Oh no!", "I miss him."])["emotion"] in labels
    dialogues = [["I got the job!"], ["I am so lonely today.", "Why?", "Everyone left."], ["My cat is sick."]]
    batched, single = chat(dialogues, batch_size=3), chat(dialogues, batch_size=1)
    assert [r["response"] for r in batched] == [r["response"] for r in single]
    assert [r["emotion"] for r in batched] == [r["emotion"] for r in single]
    assert chat("I failed my exam.", max_new_tokens=2)["response"].count(" ") <= 1


def test_pipeline_rejects_bad_dialogues(tiny_checkpoint):
    chat = pipeline("empathetic-response", model=str(tiny_checkpoint), device="cpu")
    with pytest.raises(DataError, match="empty"):
        chat([[]])
    with pytest.raises(DataError):
        chat([["fine", 3]])
    with pytest.raises(ValueError, match="unknown arguments"):
        chat("hi", temperature_typo=1.0)
