"""``mmdata``: our own records, as JSONL (what ``export --format jsonl`` writes) or Parquet."""

from __future__ import annotations

from pathlib import Path

from mmdata.errors import InputError
from mmdata.formats.base import FormatError, strict_json
from mmdata.formats.containers import first_row, input_files, json_file, rows_of
from mmdata.formats.format import ImportFormat, LayoutOf, Reading, converted
from mmdata.records import JSON_FIELDS, RECORD_KINDS


def native(obj: dict) -> dict:
    """A record in our own shape, from JSONL (objects) or Parquet (JSON-text columns)."""
    if not isinstance(obj, dict):
        raise FormatError("$", f"expected a JSON object, got {type(obj).__name__}")
    record = {k: v for k, v in obj.items() if k not in ("id", "key", "extra") and v is not None}
    for field in JSON_FIELDS & record.keys():
        if isinstance(record[field], str):
            # strict: Python's json would take NaN here, and the store would keep text no JSON reader accepts
            record[field] = strict_json(record[field], field)
    extra = obj.get("extra")
    if isinstance(extra, str):
        extra = strict_json(extra, "extra")
    if extra is not None and not isinstance(extra, dict):
        raise FormatError("extra", f"extra should be an object of fields, not {type(extra).__name__}")
    record.update(extra or {})
    # Hugging Face exports of media records carry the file in an ``image`` / ``audio`` column.
    for column in ("image", "audio"):
        if "media_id" not in record and isinstance(record.get(column), dict):
            record["media_id"] = record.pop(column)
    return record


def manifest_kind(manifest: Path) -> str:
    """The record kind an export's ``mmdata.json`` names; InputError when the file is not such a manifest."""
    info = json_file(manifest, "it is the manifest `mmdata export` writes; remove it or export again")
    kind = info.get("record_kind", "conversation") if isinstance(info, dict) else None
    if kind not in RECORD_KINDS:
        raise InputError(f"{manifest}: record_kind should be one of {', '.join(RECORD_KINDS)}, not {kind!r}")
    return kind


def native_kind(obj: dict) -> str:
    """Which record kind an object of ours is, from its fields."""
    if not isinstance(obj, dict):
        return "conversation"  # its rows are rejected one by one, each with the reason
    keys = set(obj)
    if "chat" in keys:
        return "conversation"
    if {"start", "end"} <= keys:
        return "transcript"
    if keys & {"width", "height", "description", "attributes", "image"}:
        return "image"
    return "audio"


def record_kind(path: Path, layout_of: LayoutOf) -> str:
    """The kind of records ``path`` holds: what its export manifest names, else what its first row looks like."""
    manifest = (path if path.is_dir() else path.parent) / "mmdata.json"
    first = first_row(path)  # read even with a manifest: an unreadable input fails here, before any work
    if manifest.exists():
        return manifest_kind(manifest)
    layout = layout_of(first) if first is not None else None
    if layout is not None and layout.name != "mmdata":
        return "conversation"
    return native_kind(first or {})


def _matches(obj: object) -> bool:
    return isinstance(obj, dict) and bool({"chat", "media_id", "image", "audio"} & obj.keys())


def _open(path: Path, layout_of: LayoutOf) -> Reading:
    return Reading(record_kind(path, layout_of), converted(rows_of(path), native), input_files(path))


FORMAT = ImportFormat(
    name="mmdata",
    reads="our own records as JSONL (as `export --format jsonl` writes) or Parquet",
    open=_open,
    matches=_matches,
    convert=native,
)
