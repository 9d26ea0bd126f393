"""Parsers for the test-set generations that MoEL and MIME released with their code.

Two formats are understood (see ``../shared/data/released_outputs/SOURCE.md``); both hold the 5,255
test examples of the papers' split, text already lower-cased and word-tokenized:

* MoEL (``generation_result.txt``): blank-line separated records of ``Emotion:``, ``Context: [...]``,
  ``trs:``, ``trs+multitask:``, ``MOE:``, ``MOE+oracle:`` and ``ref:`` lines, in no fixed order.
* MIME (``output.txt``): a comment line and a metrics header (``EVAL Loss PPL ...``), then records of
  ``emotion:<gold>\\tvader-score: x\\tpredicted_emotion: y``, ``Context:[...]``, ``Topk:``, ``Beam:``,
  ``Greedy:``, ``Ref:`` closed by a dashed line.

:func:`load_released_outputs` returns a dict of equally long lists: ``emotions``, ``contexts`` (lists of
utterances), ``references`` and one list per system (:data:`SYSTEMS`), plus ``predicted_emotions`` and
``vader_scores`` for MIME. :func:`reported_metrics` reads the metric line MIME's file carries.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

# format -> {key in the file: key in the returned dict}
_MOEL_KEYS = {
    "trs": "transformer",  # Transformer baseline
    "trs+multitask": "multi_trs",  # Multi-TRS (Rashkin et al., 2019)
    "MOE": "moel",  # MoEL
    "MOE+oracle": "moel_oracle",  # MoEL given the gold emotion
    "ref": "references",
}
_MIME_KEYS = {"Topk": "mime_topk", "Beam": "mime_beam", "Greedy": "mime_greedy", "Ref": "references"}

#: System output lists each format yields, by the name used in the returned dict.
SYSTEMS: dict[str, tuple[str, ...]] = {
    "moel": ("transformer", "multi_trs", "moel", "moel_oracle"),
    "mime": ("mime_topk", "mime_beam", "mime_greedy"),
}

_SEPARATOR = re.compile(r"^-{10,}\s*$")


def detect_format(path: str | Path) -> str:
    """``"moel"`` or ``"mime"``, from the first non-blank line of ``path``."""
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                if line.startswith("Emotion:"):
                    return "moel"
                if line.startswith(("###", "EVAL", "emotion:")):
                    return "mime"
                break
        else:
            raise ValueError(f"{path} is empty.")
    raise ValueError(f"{path}: not a MoEL or MIME released-output file (first line {line.strip()[:60]!r}).")


def load_released_outputs(path: str | Path) -> dict[str, list]:
    """Parse a MoEL or MIME released-output file into a dict of equally long lists (see module doc)."""
    path = Path(path)
    kind = detect_format(path)
    lines = path.read_text(encoding="utf-8").split("\n")
    records = _moel_records(lines) if kind == "moel" else _mime_records(lines)
    if not records:
        raise ValueError(f"{path}: no records found.")
    out: dict[str, list] = {key: [] for key in records[0][1]}
    for lineno, record in records:
        if record.keys() != out.keys():
            missing = sorted(out.keys() - record.keys()) or sorted(record.keys() - out.keys())
            raise ValueError(f"{path}:{lineno}: record lacks or adds fields {missing}.")
        for key, value in record.items():
            out[key].append(value)
    return out


def reported_metrics(path: str | Path) -> dict[str, float]:
    """The metrics line a MIME file starts with (``{"Loss": 3.6253, "PPL": 37.5363, ...}``); ``{}`` for MoEL."""
    if detect_format(path) != "mime":
        return {}
    with open(path, encoding="utf-8") as f:
        head = [next(f, "") for _ in range(3)]
    for i, line in enumerate(head[:-1]):
        if line.startswith("EVAL\t"):
            names, values = line.rstrip("\n").split("\t")[1:], head[i + 1].rstrip("\n").split("\t")[1:]
            return {name: float(value) for name, value in zip(names, values)}
    return {}


def _context(value: str, where: str) -> list[str]:
    try:
        context = ast.literal_eval(value.strip())
    except (ValueError, SyntaxError) as err:
        raise ValueError(f"{where}: cannot parse the context list: {err}") from None
    if not isinstance(context, list):
        raise ValueError(f"{where}: context is not a list.")
    return [str(u) for u in context]


def _moel_records(lines: list[str]) -> list[tuple[int, dict]]:
    records, current, start = [], {}, 0
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            if current:
                records.append((start, current))
            current = {}
            continue
        if not current:
            start = lineno
        key, sep, value = line.partition(":")
        where = f"line {lineno}"
        if not sep:
            raise ValueError(f"{where}: expected '<key>: <text>', got {line[:60]!r}.")
        if key == "Emotion":
            current["emotions"] = value.strip()
        elif key == "Context":
            current["contexts"] = _context(value, where)
        elif key in _MOEL_KEYS:
            current[_MOEL_KEYS[key]] = value.strip()
        else:
            raise ValueError(f"{where}: unknown key {key!r} in a MoEL record.")
    if current:
        records.append((start, current))
    return records


def _mime_records(lines: list[str]) -> list[tuple[int, dict]]:
    records, current, start = [], None, 0
    for lineno, line in enumerate(lines, start=1):
        where = f"line {lineno}"
        if line.startswith("emotion:"):
            if current:
                raise ValueError(f"{where}: new record before the dashed separator of the previous one.")
            start = lineno
            fields = dict(part.partition(":")[::2] for part in line.split("\t"))
            try:
                current = {
                    "emotions": fields["emotion"].strip(),
                    "predicted_emotions": fields["predicted_emotion"].strip(),
                    "vader_scores": float(fields["vader-score"]),
                }
            except (KeyError, ValueError) as err:
                raise ValueError(f"{where}: malformed MIME record header ({err}).") from None
        elif _SEPARATOR.match(line):
            if current:
                records.append((start, current))
            current = None
        elif current is not None and line.strip():
            key, sep, value = line.partition(":")
            if key == "Context":
                current["contexts"] = _context(value, where)
            elif sep and key in _MIME_KEYS:
                current[_MIME_KEYS[key]] = value.strip()
            else:
                raise ValueError(f"{where}: unknown line in a MIME record: {line[:60]!r}.")
    if current:
        records.append((start, current))
    return records


#: ``--format`` names of :func:`load_system_outputs`.
FORMATS = ("auto", "moel", "mime", "jsonl", "tsv", "text")
_TSV_FIELDS = ("prediction", "reference", "emotion", "predicted_emotion")


def _read_tsv(path: Path) -> dict[str, list]:
    lines = [line.rstrip("\r") for line in path.read_text(encoding="utf-8").split("\n") if line.strip()]
    if not lines:
        raise ValueError(f"{path} is empty.")
    header = lines[0].split("\t")
    if not {"prediction", "reference"} <= set(header) or not set(header) <= set(_TSV_FIELDS):
        raise ValueError(f"{path}: the header must name columns among {_TSV_FIELDS}, with prediction and reference; got {header}")
    rows = []
    for lineno, line in enumerate(lines[1:], start=2):
        fields = line.split("\t")
        if len(fields) != len(header):
            raise ValueError(f"{path}:{lineno}: {len(fields)} tab-separated fields, the header has {len(header)}.")
        rows.append(dict(zip(header, fields)))
    keys = {"prediction": "predictions", "reference": "references", "emotion": "emotions", "predicted_emotion": "predicted_emotions"}
    return {keys[name]: [row[name] for row in rows] for name in header}


def load_system_outputs(path: str | Path, fmt: str = "auto", references: str | Path | None = None) -> dict[str, dict[str, list]]:
    """Generated responses per system: ``{system: {"predictions", "references"[, "emotions", "predicted_emotions"]}}``.

    Formats: ``moel`` / ``mime`` (the released files; four and three systems), ``jsonl`` (``prediction``,
    ``reference`` [, ``emotion``, ``predicted_emotion``] per line), ``tsv`` (a header naming those columns),
    ``text`` (one prediction per line, with a ``references`` file). ``auto`` recognises all but ``text`` and
    ``tsv`` by their first line. A one-system file is named after its stem.
    """
    from . import load_predictions

    path = Path(path)
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {FORMATS}")
    if not path.is_file():
        raise FileNotFoundError(f"No such file: {path}")
    if fmt == "auto":
        if references is not None:
            fmt = "text"
        elif path.suffix == ".tsv":
            fmt = "tsv"
        else:
            first = next((line for line in path.read_text(encoding="utf-8").split("\n") if line.strip()), "")
            fmt = "jsonl" if first.lstrip().startswith("{") else detect_format(path)
    if fmt in ("moel", "mime"):
        if detect_format(path) != fmt:
            raise ValueError(f"{path} is a {detect_format(path)} file, not {fmt}")
        data = load_released_outputs(path)
        shared = {k: data[k] for k in ("references", "emotions", "predicted_emotions") if k in data}
        return {system: {"predictions": data[system], **shared} for system in SYSTEMS[fmt]}
    if fmt == "tsv":
        return {path.stem: _read_tsv(path)}
    if fmt == "text" and references is None:
        raise ValueError("--format text needs a references file (one gold response per line)")
    return {path.stem: load_predictions(path, references if fmt == "text" else None)}
