"""EmpatheticDialogues (Rashkin et al., 2019): loading, response examples and input validation.

The loader reads the official raw CSV layout (``conv_id,utterance_idx,context,prompt,speaker_idx,
utterance,selfeval,tags``, one line per utterance) the way ParlAI and MoEL read it: ``line.split(",")``
without CSV quoting (the texts hold unbalanced ``"``), with ``_comma_`` standing for ``,``. The
``context`` column is the emotion label and ``prompt`` the situation. Odd ``utterance_idx`` values are
the speaker's turns, even ones the listener's; every listener turn becomes one response example.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import tarfile
import tempfile
import urllib.parse
import urllib.request
from collections.abc import Iterable, Iterator
from importlib import resources
from importlib.resources.abc import Traversable
from numbers import Integral
from pathlib import Path
from typing import Literal

import datasets

from .modeling.emotions import EMOTION_LABELS as EMOTIONS
from .modeling.emotions import emotion_id2label

# EMOTIONS: the 32 emotion labels in MoEL's ``emo_map`` order (MoEL, MIME, EmpDG, KEMP, CEM, CASE), defined
# once in ``empathetic_models.modeling.emotions`` (the model configs need them and ``modeling`` does not import this package).

SplitStyle = Literal["full", "paper"]

EMOTION2ID: dict[str, int] = {name: i for i, name in enumerate(EMOTIONS)}

SPLITS: tuple[str, ...] = ("train", "valid", "test")

PAPER_DROPPED_CONVERSATIONS: dict[str, tuple[str, ...]] = {
    "train": ("hit:12424_conv:24848", "hit:12424_conv:24849"),
    "valid": ("hit:12361_conv:24722", "hit:12392_conv:24785"),
    "test": ("hit:12416_conv:24832", "hit:12423_conv:24847"),
}
"""The last two conversations of each official file, which MoEL-style preprocessing (and so the published
MoEL / MIME / EmpDG / KEMP / CEM / CASE numbers) loses: 40,250 / 5,734 / 5,255 examples instead of
40,254 / 5,738 / 5,259. Checked on test against MoEL's and MIME's released generations (5,255 records
ending with ``hit:12413_conv:24826``); for train and valid, the counts match. MoEL also merges a few
consecutive conversations that share a situation into one dialogue. That quirk is not reproduced here: it
changes the context of 6 test examples and the label of 2, but not which targets are scored."""

ED_URL = "https://dl.fbaipublicfiles.com/parlai/empatheticdialogues/empatheticdialogues.tar.gz"

HEADER: tuple[str, ...] = (
    "conv_id", "utterance_idx", "context", "prompt", "speaker_idx", "utterance", "selfeval", "tags",
)  # fmt: skip

CITATION = """@inproceedings{rashkin2019towards,
  title     = {Towards Empathetic Open-domain Conversation Models: a New Benchmark and Dataset},
  author    = {Hannah Rashkin and Eric Michael Smith and Margaret Li and Y-Lan Boureau},
  booktitle = {ACL},
  year      = {2019}
}"""

FEATURES = datasets.Features(
    {
        "conv_id": datasets.Value("string"),
        "turn": datasets.Value("int32"),
        "context": datasets.List(datasets.Value("string")),
        "context_roles": datasets.List(datasets.Value("string")),
        "target": datasets.Value("string"),
        "emotion": datasets.ClassLabel(names=list(EMOTIONS)),
        "situation": datasets.Value("string"),
    }
)
"""Columns of a response example; ``turn`` is the target's ``utterance_idx``."""

SPEAKER, LISTENER = "speaker", "listener"

# Official valid/test lines may carry a 9th field of ``|``-separated inline candidates (ParlAI reads it).
_FIELD_COUNTS = (len(HEADER), len(HEADER) + 1)
_TARBALL_DIR = "empatheticdialogues"


class DataError(ValueError):
    """Malformed EmpatheticDialogues files or invalid user-supplied dialogue input."""


def id2label() -> dict[int, str]:
    """``{0: "surprised", ...}``, the form configs store as ``id2label``."""
    return emotion_id2label()


def label2id() -> dict[str, int]:
    """``{"surprised": 0, ...}``, the inverse of :func:`id2label`."""
    return dict(EMOTION2ID)


def validate_emotion(label: str | int) -> int:
    """Return the class id of an emotion given by name (case-insensitive) or id; raise :class:`DataError`."""
    if isinstance(label, Integral) and not isinstance(label, bool):
        if 0 <= int(label) < len(EMOTIONS):
            return int(label)
        raise DataError(f"Emotion id {label} is out of range 0..{len(EMOTIONS) - 1}.")
    if isinstance(label, str) and label.strip().lower() in EMOTION2ID:
        return EMOTION2ID[label.strip().lower()]
    raise DataError(f"Unknown emotion {label!r}; valid emotions: {', '.join(EMOTIONS)}.")


def validate_dialogue(context: str | list[str] | tuple[str, ...]) -> list[str]:
    """Check a user-supplied dialogue (one utterance or a list of them, oldest first) and strip it.

    Raises :class:`DataError` for an empty dialogue, non-string items and empty utterances (numbered from 1, as
    dialogues and file lines are).
    """
    if isinstance(context, str):
        context = [context]
    if not isinstance(context, (list, tuple)):
        raise DataError(f"A dialogue must be a string or a list of strings, got {type(context).__name__}.")
    if not context:
        raise DataError("The dialogue is empty: give at least one utterance.")
    cleaned = []
    for i, utterance in enumerate(context):
        if not isinstance(utterance, str):
            raise DataError(f"Utterance {i + 1} of {len(context)} in the dialogue is a {type(utterance).__name__}, not a string.")
        if not utterance.strip():
            raise DataError(f"Utterance {i + 1} of {len(context)} in the dialogue is empty or only white space.")
        cleaned.append(utterance.strip())
    return cleaned


def read_dialogues_jsonl(path: str | os.PathLike) -> tuple[list[dict], list[list[str]]]:
    """Read a JSONL file of dialogues: (records, validated dialogues), one of each per non-empty line.

    Each line is a list of utterances (the last is the speaker's), one utterance, or an object with ``dialogue``
    (or ``context``); a list or string becomes ``{"dialogue": ...}`` in the records. Raises :class:`DataError`
    naming the file and line (or dialogue number) for invalid JSON, another shape, an invalid dialogue or no lines.
    """
    records = []
    with open(path) as f:
        for line_number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise DataError(f"{path}:{line_number}: not valid JSON ({error.msg})") from None
            if isinstance(record, (str, list)):
                record = {"dialogue": record}
            if not isinstance(record, dict) or not any(k in record for k in ("dialogue", "context")):
                raise DataError(f"{path}:{line_number}: expected a list of utterances or an object with 'dialogue'")
            records.append(record)
    if not records:
        raise DataError(f"{path}: no dialogues")
    dialogues = []
    for number, record in enumerate(records, 1):
        try:
            dialogues.append(validate_dialogue(record.get("dialogue", record.get("context"))))
        except DataError as error:
            raise DataError(f"{path}: dialogue {number}: {error}") from None
    return records, dialogues


def save_annotated(dataset: datasets.DatasetDict, stats: dict, output_dir: str | os.PathLike, stats_name: str) -> None:
    """Write an annotated ED to ``OUTPUT_DIR/dataset`` (``save_to_disk``) and ``stats`` to ``OUTPUT_DIR/<stats_name>``
    (indented JSON), as every ``empathetic-models annotate-*`` / ``knowledge annotate`` job does."""
    output = Path(output_dir)
    dataset.save_to_disk(str(output / "dataset"))
    (output / stats_name).write_text(json.dumps(stats, indent=2) + "\n")


def describe_split(dataset: datasets.Dataset | datasets.DatasetDict) -> str:
    """The ``split_style`` (``"full"`` or ``"paper"``) a dataset from :func:`load_empathetic_dialogues` has."""
    parts = dataset.values() if isinstance(dataset, datasets.DatasetDict) else [dataset]
    styles = {part.info.config_name for part in parts}
    if len(styles) != 1 or not styles <= {"full", "paper"}:
        found = sorted(map(str, styles))
        raise DataError(f"Not a dataset made by load_empathetic_dialogues (split styles found: {found}).")
    return styles.pop()


def load_empathetic_dialogues(
    source: str | os.PathLike = "sample",
    *,
    split_style: SplitStyle = "full",
    splits: str | Iterable[str] = SPLITS,
    cache_dir: str | os.PathLike | None = None,
) -> datasets.DatasetDict:
    """Load ED as response examples, one per listener turn.

    ``source`` is ``"sample"`` (the small subset shipped in the package), a folder holding
    ``{train,valid,test}.csv`` or ``.csv.gz``, the official tarball ``empatheticdialogues.tar.gz``, or an
    http(s) URL of that tarball (e.g. :data:`ED_URL`), downloaded once into ``cache_dir`` (default
    ``~/.cache/empathetic_models``). ``split_style="paper"`` drops :data:`PAPER_DROPPED_CONVERSATIONS`
    to match the published MoEL-lineage numbers. The style and source are kept in each split's
    ``info`` (``config_name`` and ``description``); read the style back with :func:`describe_split`.
    """
    if split_style not in ("full", "paper"):
        raise DataError(f"split_style must be 'full' or 'paper', got {split_style!r}.")
    splits = (splits,) if isinstance(splits, str) else tuple(splits)
    unknown = [s for s in splits if s not in SPLITS]
    if unknown or not splits:
        raise DataError(f"splits must be a non-empty subset of {SPLITS}, got {splits}.")
    source_name = os.fspath(source)
    if source_name == "sample":
        texts = _read_folder(resources.files("empathetic_models") / "resources" / "ed_sample", splits)
    elif urllib.parse.urlparse(source_name).scheme in ("http", "https"):
        texts = _read_tarball(_download(source_name, cache_dir), splits)
    elif Path(source_name).is_dir():
        texts = _read_folder(Path(source_name), splits)
    elif not Path(source_name).exists():
        raise DataError(f"ED source {source_name!r} does not exist (expected a folder, a tarball, a URL or 'sample').")
    elif tarfile.is_tarfile(source_name):
        texts = _read_tarball(Path(source_name), splits)
    else:
        raise DataError(f"ED source {source_name!r} is a file but not a tarball like empatheticdialogues.tar.gz.")
    result = {}
    for split, (name, lines) in texts.items():
        dropped = set(PAPER_DROPPED_CONVERSATIONS[split]) if split_style == "paper" else set()
        columns = _response_columns(_conversations(lines, name), dropped)
        info = datasets.DatasetInfo(
            description=(
                f"EmpatheticDialogues {split} response examples; split_style={split_style}; source={source_name}"
            ),
            citation=CITATION,
            homepage="https://github.com/facebookresearch/EmpatheticDialogues",
            license="CC BY-NC 4.0",
            config_name=split_style,
            features=FEATURES,
        )
        result[split] = datasets.Dataset.from_dict(columns, info=info, split=split)
    return datasets.DatasetDict(result)


def _read_folder(folder: Traversable, splits: tuple[str, ...]) -> dict[str, tuple[str, Iterator[str]]]:
    if not folder.is_dir():
        raise DataError(f"ED folder {folder} does not exist.")
    texts = {}
    for split in splits:
        plain, packed = folder / f"{split}.csv", folder / f"{split}.csv.gz"
        if plain.is_file():
            texts[split] = (str(plain), _lines(plain.read_bytes(), str(plain)))
        elif packed.is_file():
            try:
                data = gzip.decompress(packed.read_bytes())
            except (OSError, EOFError) as err:
                raise DataError(f"{packed} is not a valid gzip file: {err}.") from None
            texts[split] = (str(packed), _lines(data, str(packed)))
        else:
            raise DataError(f"ED split {split!r} is missing: looked for {plain} and {packed}.")
    return texts


def _read_tarball(path: Path, splits: tuple[str, ...]) -> dict[str, tuple[str, Iterator[str]]]:
    texts = {}
    try:
        with tarfile.open(path, "r:*") as tar:
            for split in splits:
                member = f"{_TARBALL_DIR}/{split}.csv"
                try:
                    handle = tar.extractfile(member)
                except KeyError:
                    handle = None
                if handle is None:
                    raise DataError(f"ED split {split!r} is missing: no file {member} in {path}.")
                name = f"{path}:{member}"
                texts[split] = (name, _lines(handle.read(), name))
    except (tarfile.TarError, OSError, EOFError) as err:
        raise DataError(f"{path} is not a readable tarball: {err}.") from None
    return texts


def _download(url: str, cache_dir: str | os.PathLike | None) -> Path:
    root = Path(cache_dir) if cache_dir is not None else Path.home() / ".cache" / "empathetic_models"
    name = Path(urllib.parse.urlparse(url).path).name or "ed.tar.gz"
    target = root / hashlib.sha256(url.encode()).hexdigest()[:16] / name
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as tmp:
            try:
                with urllib.request.urlopen(url) as response:
                    shutil.copyfileobj(response, tmp)
            except BaseException:
                tmp.close()
                os.unlink(tmp.name)
                raise
        os.replace(tmp.name, target)
    return target


def _lines(data: bytes, name: str) -> Iterator[str]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise DataError(f"{name} is not UTF-8 text: {err}.") from None
    return iter(io.StringIO(text, newline=None))


def _conversations(lines: Iterator[str], name: str) -> Iterator[tuple[str, str, str, list[str]]]:
    """Yield ``(conv_id, emotion, situation, utterances)`` per conversation, checking the file as it goes."""
    header = next(lines, "").rstrip("\n")
    if not header:
        raise DataError(f"{name} is empty: expected the header line {','.join(HEADER)!r}.")
    if tuple(header.split(",")[: len(HEADER)]) != HEADER:
        raise DataError(f"{name} line 1 is not the ED header {','.join(HEADER)!r}: {header[:200]!r}.")
    current: tuple[str, str, str, list[str]] | None = None
    seen: set[str] = set()
    for number, line in enumerate(lines, start=2):
        fields = line.rstrip("\n").split(",")
        if len(fields) not in _FIELD_COUNTS:
            raise DataError(
                f"{name} line {number} has {len(fields)} comma-separated fields, expected {len(HEADER)} "
                f"(or {len(HEADER) + 1} with inline candidates); garbled line? {line[:200]!r}."
            )
        conv_id, idx, emotion, prompt, utterance = fields[0], fields[1], fields[2], fields[3], fields[5]
        if not (idx.isascii() and idx.isdigit()):
            raise DataError(f"{name} line {number}: utterance_idx {idx!r} is not an integer.")
        if emotion not in EMOTION2ID:
            raise DataError(
                f"{name} line {number}: unknown emotion label {emotion!r}; expected one of {', '.join(EMOTIONS)}."
            )
        situation = prompt.replace("_comma_", ",").strip()
        if current is None or conv_id != current[0]:
            if conv_id in seen:
                raise DataError(f"{name} line {number}: conversation {conv_id} continues after other conversations.")
            if current is not None:
                yield current
            seen.add(conv_id)
            current = (conv_id, emotion, situation, [])
        elif emotion != current[1] or situation != current[2]:
            raise DataError(f"{name} line {number}: emotion or situation differs within conversation {conv_id}.")
        expected = len(current[3]) + 1
        if int(idx) != expected:
            raise DataError(
                f"{name} line {number}: conversation {conv_id} has utterance_idx {idx} where {expected} was expected "
                "(indices must run 1, 2, 3, ... without gaps)."
            )
        current[3].append(utterance.replace("_comma_", ",").strip())
    if current is None:
        raise DataError(f"{name} has a header but no utterances.")
    yield current


def _response_columns(conversations: Iterable[tuple[str, str, str, list[str]]], dropped: set[str]) -> dict[str, list]:
    columns: dict[str, list] = {name: [] for name in FEATURES}
    for conv_id, emotion, situation, utterances in conversations:
        if conv_id in dropped:
            continue
        roles = [SPEAKER if i % 2 == 0 else LISTENER for i in range(len(utterances))]
        for target in range(1, len(utterances), 2):
            columns["conv_id"].append(conv_id)
            columns["turn"].append(target + 1)
            columns["context"].append(utterances[:target])
            columns["context_roles"].append(roles[:target])
            columns["target"].append(utterances[target])
            columns["emotion"].append(EMOTION2ID[emotion])
            columns["situation"].append(situation)
    return columns
