"""Tests of the EmpatheticDialogues data layer (empathetic_models.data)."""

from __future__ import annotations

import functools
import gzip
import http.server
import os
import tarfile
import threading
from pathlib import Path

import datasets
import pytest

from empathetic_models.data import (
    ED_URL,
    EMOTION2ID,
    EMOTIONS,
    FEATURES,
    PAPER_DROPPED_CONVERSATIONS,
    DataError,
    describe_split,
    id2label,
    label2id,
    load_empathetic_dialogues,
    validate_dialogue,
    validate_emotion,
)
from empathetic_models.text import word_tokenize

ED_DIR = Path(
    os.environ.get("ED_DATA_DIR", Path(__file__).resolve().parents[1].parent / "shared/data/empathetic_dialogues")
)
MOEL_OUTPUTS = ED_DIR.parent / "released_outputs" / "moel_generation_result.txt"
HEADER = "conv_id,utterance_idx,context,prompt,speaker_idx,utterance,selfeval,tags"


def row(conv: str, idx: int | str, emotion: str, prompt: str, utterance: str) -> str:
    return f"{conv},{idx},{emotion},{prompt},,{utterance},,"


# Two conversations in the raw layout: `_comma_`, a stray `"`, edge white space, 5 and 2 utterances.
TINY = [
    row("hit:1_conv:2", 1, "proud", "My son won_comma_ finally ", ' He won the "big race today! '),
    row("hit:1_conv:2", 2, "proud", "My son won_comma_ finally ", "Wow_comma_ congrats!"),
    row("hit:1_conv:2", 3, "proud", "My son won_comma_ finally ", "Thanks"),
    row("hit:1_conv:2", 4, "proud", "My son won_comma_ finally ", "How old is he?"),
    row("hit:1_conv:2", 5, "proud", "My son won_comma_ finally ", "Ten."),
    row("hit:2_conv:4", 1, "faithful", "I stayed.", "I stayed with her."),
    row("hit:2_conv:4", 2, "faithful", "I stayed.", "Good for you."),
]


def write_split(folder: Path, split: str, lines: list[str], *, gz: bool = False, header: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    text = "".join(line + "\n" for line in ([HEADER] if header else []) + lines)
    path = folder / (f"{split}.csv.gz" if gz else f"{split}.csv")
    path.write_bytes(gzip.compress(text.encode()) if gz else text.encode())
    return path


def load_train(folder: Path, **kwargs) -> datasets.Dataset:
    return load_empathetic_dialogues(folder, splits=("train",), **kwargs)["train"]


def test_emotion_tables() -> None:
    assert len(EMOTIONS) == len(set(EMOTIONS)) == 32
    assert (EMOTIONS[0], EMOTIONS[5], EMOTIONS[19], EMOTIONS[31]) == ("surprised", "sad", "furious", "faithful")
    assert id2label() == dict(enumerate(EMOTIONS))
    assert label2id() == EMOTION2ID == {name: i for i, name in id2label().items()}
    assert FEATURES["emotion"].names == list(EMOTIONS)


@pytest.mark.parametrize("gz", [False, True])
def test_response_examples_from_raw_csv(tmp_path: Path, gz: bool) -> None:
    write_split(tmp_path, "train", TINY, gz=gz)
    ds = load_train(tmp_path)
    assert ds.features == FEATURES
    assert ds["conv_id"] == ["hit:1_conv:2", "hit:1_conv:2", "hit:2_conv:4"]
    assert ds["turn"] == [2, 4, 2]
    assert ds[0]["context"] == ['He won the "big race today!']
    assert ds[1]["context"] == ['He won the "big race today!', "Wow, congrats!", "Thanks"]
    assert ds[1]["context_roles"] == ["speaker", "listener", "speaker"]
    assert ds["target"] == ["Wow, congrats!", "How old is he?", "Good for you."]
    assert ds["situation"][:2] == ["My son won, finally"] * 2
    assert ds["emotion"] == [EMOTION2ID["proud"]] * 2 + [EMOTION2ID["faithful"]]
    assert ds.features["emotion"].int2str(ds[2]["emotion"]) == "faithful"
    assert describe_split(ds) == "full"
    assert "split_style=full" in ds.info.description and str(tmp_path) in ds.info.description


def test_plain_csv_is_preferred_and_ninth_field_tolerated(tmp_path: Path) -> None:
    # Official valid/test lines may carry a 9th field of inline candidates (ParlAI reads it); it is ignored.
    write_split(tmp_path, "train", [TINY[-2], TINY[-1] + "cand a|cand b"])
    write_split(tmp_path, "train", ["garbled"], gz=True)
    assert load_train(tmp_path)["target"] == ["Good for you."]


def test_paper_style_drops_the_listed_conversations(tmp_path: Path) -> None:
    dropped = PAPER_DROPPED_CONVERSATIONS["train"][1]
    write_split(tmp_path, "train", TINY + [row(dropped, i, "sad", "s", f"u{i}") for i in (1, 2)])
    assert load_train(tmp_path)["conv_id"][-1] == dropped
    paper = load_train(tmp_path, split_style="paper")
    assert paper["conv_id"] == ["hit:1_conv:2", "hit:1_conv:2", "hit:2_conv:4"]
    assert describe_split(paper) == "paper" and paper.info.config_name == "paper"


def make_tarball(tmp_path: Path, splits=("train", "valid", "test")) -> Path:
    folder = tmp_path / "raw" / "empatheticdialogues"
    for split in splits:
        write_split(folder, split, TINY)
    tarball = tmp_path / "empatheticdialogues.tar.gz"
    with tarfile.open(tarball, "w:gz") as tar:
        tar.add(folder, arcname="empatheticdialogues")
    return tarball


def test_tarball_source(tmp_path: Path) -> None:
    ds = load_empathetic_dialogues(make_tarball(tmp_path))
    assert list(ds) == ["train", "valid", "test"]
    expected = load_train(tmp_path / "raw" / "empatheticdialogues").to_dict()
    assert all(ds[split].to_dict() == expected for split in ds)


def test_url_source_downloads_once_into_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_tarball(tmp_path)
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.setenv(name, "*")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/empatheticdialogues.tar.gz"
    try:
        ds = load_empathetic_dialogues(url, splits="test", cache_dir=tmp_path / "cache")
    finally:
        server.shutdown()
        thread.join()
    assert ds["test"]["target"] == ["Wow, congrats!", "How old is he?", "Good for you."]
    assert len(list((tmp_path / "cache").glob("*/empatheticdialogues.tar.gz"))) == 1
    # The server is gone: a second load must come from the cache.
    assert load_empathetic_dialogues(url, splits="test", cache_dir=tmp_path / "cache")["test"].num_rows == 3
    assert ED_URL.endswith("/empatheticdialogues.tar.gz")


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ([TINY[0], TINY[1] + ",,"], r"train\.csv line 3 has 10 comma-separated fields"),
        ([TINY[0], "hit:1_conv:2,2,proud"], r"train\.csv line 3 has 3 comma-separated fields"),
        ([TINY[0], row("hit:1_conv:2", 2, "happy", "p", "u")], r"line 3: unknown emotion label 'happy'"),
        ([row("hit:1_conv:2", "one", "proud", "p", "u")], r"line 2: utterance_idx 'one' is not an integer"),
        ([row("hit:1_conv:2", 2, "proud", "p", "u")], r"line 2: conversation hit:1_conv:2 has utterance_idx 2 where 1"),
        ([TINY[0], TINY[2]], r"line 3: conversation hit:1_conv:2 has utterance_idx 3 where 2"),
        ([TINY[0], TINY[5], TINY[1]], r"line 4: conversation hit:1_conv:2 continues after other"),
        ([TINY[0], row("hit:1_conv:2", 2, "sad", "My son won_comma_ finally ", "u")], r"line 3: emotion or situation"),
        ([], r"has a header but no utterances"),
    ],
)
def test_malformed_files_raise(tmp_path: Path, lines: list[str], message: str) -> None:
    write_split(tmp_path, "train", lines)
    with pytest.raises(DataError, match=message):
        load_train(tmp_path)


def test_missing_header_or_empty_file_raise(tmp_path: Path) -> None:
    write_split(tmp_path, "train", TINY, header=False)
    with pytest.raises(DataError, match=r"train\.csv line 1 is not the ED header"):
        load_train(tmp_path)
    (tmp_path / "train.csv").write_bytes(b"")
    with pytest.raises(DataError, match=r"train\.csv is empty"):
        load_train(tmp_path)


def test_missing_sources_raise(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        load_empathetic_dialogues(tmp_path / "nowhere")
    write_split(tmp_path, "train", TINY)
    with pytest.raises(DataError, match=r"split 'valid' is missing: looked for .*valid\.csv and .*valid\.csv\.gz"):
        load_empathetic_dialogues(tmp_path)
    with pytest.raises(DataError, match="is a file but not a tarball"):
        load_empathetic_dialogues(tmp_path / "train.csv")
    with pytest.raises(DataError, match=r"no file empatheticdialogues/test\.csv in"):
        load_empathetic_dialogues(make_tarball(tmp_path, splits=("train", "valid")))
    with pytest.raises(DataError, match="split_style"):
        load_train(tmp_path, split_style="moel")
    with pytest.raises(DataError, match="splits must be"):
        load_empathetic_dialogues(tmp_path, splits=("dev",))


def test_embedded_sample() -> None:
    full, paper = load_empathetic_dialogues(), load_empathetic_dialogues("sample", split_style="paper")
    conversations = {split: len(set(ds["conv_id"])) for split, ds in full.items()}
    assert conversations == {"train": 200, "valid": 40, "test": 40}
    assert sum(conversations.values()) <= 300
    assert {split: ds.num_rows for split, ds in full.items()} == {"train": 411, "valid": 84, "test": 84}
    assert {split: ds.num_rows for split, ds in paper.items()} == {"train": 407, "valid": 80, "test": 80}
    assert set(full["train"]["emotion"]) == set(range(32))
    assert full["train"].features["emotion"].names == list(EMOTIONS)
    assert (describe_split(full), describe_split(paper)) == ("full", "paper")
    with pytest.raises(DataError, match="Not a dataset made by"):
        describe_split(datasets.Dataset.from_dict({"a": [1]}))


@pytest.fixture(scope="module")
def full_ed() -> dict[str, datasets.DatasetDict]:
    if not ED_DIR.is_dir():
        pytest.skip(f"full EmpatheticDialogues not found at {ED_DIR} (set ED_DATA_DIR)")
    return {style: load_empathetic_dialogues(ED_DIR, split_style=style) for style in ("full", "paper")}


def test_full_ed_counts(full_ed: dict[str, datasets.DatasetDict]) -> None:
    counts = {style: {split: ds.num_rows for split, ds in dd.items()} for style, dd in full_ed.items()}
    assert counts == {
        "full": {"train": 40254, "valid": 5738, "test": 5259},
        "paper": {"train": 40250, "valid": 5734, "test": 5255},
    }
    conversations = {split: len(set(ds["conv_id"])) for split, ds in full_ed["paper"].items()}
    # 19,533 / 2,770 / 2,547 conversations, less 2 dropped each, less 2 / 1 / 0 without a listener turn.
    assert conversations == {"train": 19529, "valid": 2767, "test": 2545}
    assert set(full_ed["full"]["test"]["emotion"]) == set(range(32))


def test_paper_test_split_matches_moel_release(full_ed: dict[str, datasets.DatasetDict]) -> None:
    if not MOEL_OUTPUTS.is_file():
        pytest.skip(f"{MOEL_OUTPUTS} not found")
    records = MOEL_OUTPUTS.read_text(encoding="utf-8").strip().split("\n\n")
    test = full_ed["paper"]["test"]
    assert len(records) == test.num_rows
    emotions = [record.split("\n", 1)[0].removeprefix("Emotion: ") for record in records]
    # MoEL merges hit:1916_conv:3833 (hopeful) into the next conversation, which has the same situation,
    # and labels both with that one's emotion (disappointed): the only 2 labels that differ.
    differ = {test[i]["conv_id"] for i, e in enumerate(test["emotion"]) if EMOTIONS[e] != emotions[i]}
    assert differ == {"hit:1916_conv:3833"}
    assert records[-1].endswith("ref: " + " ".join(word_tokenize(test[-1]["target"])))


def test_validate_dialogue() -> None:
    assert validate_dialogue("  I lost my job. ") == ["I lost my job."]
    assert validate_dialogue(["Hi ", "\tHello"]) == ["Hi", "Hello"]
    with pytest.raises(DataError, match="empty"):
        validate_dialogue([])
    with pytest.raises(DataError, match="Utterance 2 of 2 .* int"):  # numbered from 1, as dialogues and lines are
        validate_dialogue(["Hi", 3])
    with pytest.raises(DataError, match="Utterance 2 of 2 .* white space"):
        validate_dialogue(["Hi", "  "])
    with pytest.raises(DataError, match="Utterance 1 of 1 .* white space"):
        validate_dialogue("")
    with pytest.raises(DataError, match="string or a list"):
        validate_dialogue(None)


def test_validate_emotion() -> None:
    assert validate_emotion(" Sad") == 5
    assert validate_emotion(31) == 31
    with pytest.raises(DataError, match="Unknown emotion 'happy'; valid emotions: surprised, excited"):
        validate_emotion("happy")
    with pytest.raises(DataError, match="out of range"):
        validate_emotion(32)
    with pytest.raises(DataError, match="Unknown emotion True"):
        validate_emotion(True)
