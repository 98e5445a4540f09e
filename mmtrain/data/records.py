"""Reading an ``mmdata export --format mmtrain`` folder: ``train.jsonl`` / ``test.jsonl``, media beside.

Every line is checked before training starts (schema, placeholder counts, media files), so a bad
record fails in seconds with its file:line and id instead of hours into a run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from mmtrain.errors import DataError
from mmtrain.tokens import AUDIO, AUDIO_END, AUDIO_PAD, IMAGE, IMAGE_END, IMAGE_PAD

SCHEMA_NAME = "training-record.json"
_RESERVED = (IMAGE_END, IMAGE_PAD, AUDIO_END, AUDIO_PAD)  # only the data path may write these
_SHOWN = 5  # problems quoted in one error; the rest are counted
_TOOL_ROLES = ("function_call", "observation")  # mmdata stores them; the chat template has no place for them


@dataclass
class Record:
    """One conversation; ``images`` / ``audios`` are absolute paths in placeholder order."""

    id: str
    kind: str
    language: str
    messages: list[dict]
    images: list[str] = field(default_factory=list)
    audios: list[str] = field(default_factory=list)
    source: str | None = None
    file: str = ""
    line: int = 0


def schema_path(folder: str | Path) -> Path:
    """The training-record schema: the export's own copy when it has one, else this repository's."""
    from mmdata.records import specs_dir  # the source tree's specs/, else the installed copy

    folder = Path(folder)
    for path in (folder / "specs" / "schemas" / SCHEMA_NAME, folder / SCHEMA_NAME, specs_dir() / "schemas" / SCHEMA_NAME):
        if path.is_file():
            return path
    raise DataError(f"no {SCHEMA_NAME} found in {folder} or beside mmtrain; reinstall or re-export the data")


def read_manifest(folder: str | Path) -> dict:
    """The export's manifest (dataset, version, splits: the lineage a run records).

    ``mmdata export`` writes it as ``mmdata.json``; ``manifest.json`` is read first if present.
    """
    folder = Path(folder)
    for name in ("manifest.json", "mmdata.json"):
        path = folder / name
        if path.is_file():
            try:
                return json.loads(path.read_text(encoding="utf-8"))
            except json.JSONDecodeError as exc:
                raise DataError(f"{path}: not valid JSON ({exc}); re-export the data") from exc
    raise DataError(f"{folder}: no manifest.json or mmdata.json; is this an `mmdata export --format mmtrain` folder?")


def _problems(row: dict, folder: Path) -> list[str]:
    """What makes a schema-valid row unusable: placeholder/media mismatches, missing files, reserved tokens."""
    found = []
    text = "".join(m["content"] for m in row["messages"])
    for tag, key in ((IMAGE, "images"), (AUDIO, "audios")):
        if text.count(tag) != len(row[key]):
            found.append(f"{text.count(tag)} {tag} placeholder(s) but {len(row[key])} {key}")
    found += [f"text contains the reserved token {tok}" for tok in _RESERVED if tok in text]
    found += [f"missing media file {p}" for p in row["images"] + row["audios"] if not (folder / p).is_file()]
    return found


def _tool_turn(row) -> tuple[int, str] | None:
    messages = row.get("messages") if isinstance(row, dict) else None
    for i, message in enumerate(messages if isinstance(messages, list) else []):
        if isinstance(message, dict) and message.get("role") in _TOOL_ROLES:
            return i, message["role"]
    return None


def read_records(folder: str | Path, split: str = "train") -> list[Record]:
    """All records of ``<folder>/<split>.jsonl``, validated; one ``DataError`` lists every bad line."""
    import jsonschema

    folder = Path(folder).resolve()
    path = folder / f"{split}.jsonl"
    if not path.is_file():
        raise DataError(f"{path} not found; export the data with `mmdata export --format mmtrain`")
    validator = jsonschema.Draft202012Validator(json.loads(schema_path(folder).read_text(encoding="utf-8")))
    records, problems = [], []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            where = f"{path}:{n}"
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                problems.append(f"{where}: not valid JSON ({exc.msg})")
                continue
            rid = row.get("id", "?") if isinstance(row, dict) else "?"
            tool = _tool_turn(row)
            if tool is not None:
                problems.append(
                    f"{where}: record {rid}: messages/{tool[0]}/role: {tool[1]} is a tool turn, which mmtrain "
                    "does not train; re-export with `mmdata export --format mmtrain` (it leaves such records out)"
                )
                continue
            errors = sorted(validator.iter_errors(row), key=lambda e: list(e.absolute_path))
            if errors:
                at = "/".join(str(p) for p in errors[0].absolute_path) or "record"
                problems.append(f"{where}: record {rid}: {at}: {errors[0].message}")
                continue
            bad = _problems(row, folder)
            if bad:
                problems.append(f"{where}: record {rid}: " + ", ".join(bad))
                continue
            records.append(
                Record(
                    id=row["id"],
                    kind=row["kind"],
                    language=row["language"],
                    messages=row["messages"],
                    images=[str(folder / p) for p in row["images"]],
                    audios=[str(folder / p) for p in row["audios"]],
                    source=row.get("source"),
                    file=str(path),
                    line=n,
                )
            )
    if problems:
        more = f"; ... and {len(problems) - _SHOWN} more" if len(problems) > _SHOWN else ""
        raise DataError(f"{len(problems)} unusable record(s) in {path}: " + "; ".join(problems[:_SHOWN]) + more)
    return records
