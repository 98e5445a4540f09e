"""Readers for every input format, and detection of which one a file is.

``open_source(path)`` returns a Source: the format, the record kind, and an iterator of
Items (records with media references, or the reason a line could not be read).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Callable, Iterator

from mmdata.errors import InputError
from mmdata.formats.base import FormatError, Item, decode_line, parse_json, read_json_items
from mmdata.formats.chatformats import layout_from_dataset_info, llava, sharegpt
from mmdata.formats.folder import folder_items, folder_kind
from mmdata.formats.native import hf_disk_rows, is_hf_disk, manifest_kind, native, native_kind, parquet_rows
from mmdata.formats.reference import audio_instruction, relationship

CONVERTERS: dict[str, Callable[[dict], dict]] = {
    "audio-instruction": audio_instruction,
    "relationship": relationship,
    "llava": llava,
    "sharegpt": sharegpt,
    "mmdata": native,
}
FORMATS = ("audio-instruction", "relationship", "llava", "sharegpt", "mmdata", "hf", "folder")


def shape_of(obj: object) -> str | None:
    """Which row layout an object has, from its keys (None when it matches none)."""
    if not isinstance(obj, dict):
        return None
    keys = set(obj)
    if "chat" in keys and isinstance(obj.get("filename"), str) and "kind" not in keys:
        return "audio-instruction"
    if isinstance(obj.get("filename"), list) and "instruction" in keys:
        return "relationship"
    if "conversations" in keys and ("image" in keys or "id" in keys) and not keys & {"images", "audios", "videos", "tools", "system"}:
        return "llava"
    if "messages" in keys or "conversations" in keys:
        return "sharegpt"
    if "chat" in keys or "media_id" in keys or "image" in keys or "audio" in keys:
        return "mmdata"
    return None


@dataclass
class Source:
    path: Path
    format: str
    record_kind: str
    media_root: Path
    items: Iterator[Item] = field(repr=False)
    files: list[Path] = field(default_factory=list)  # what the input hash covers


def _first_row(rows: Iterator[tuple[int, object]]) -> object:
    for _, obj in rows:
        if not isinstance(obj, FormatError):
            return obj
    return None


def _row_source(path: Path) -> Callable[[], Iterator[tuple[int, object]]]:
    if is_hf_disk(path):
        return lambda: hf_disk_rows(path)
    if path.suffix == ".parquet" or (path.is_dir() and any(path.glob("**/*.parquet"))):
        return lambda: parquet_rows(path)
    return lambda: read_json_items(path)


def dataset_info_entry(path: Path) -> dict | None:
    """The entry of a LLaMA-Factory ``dataset_info.json`` beside ``path`` whose ``file_name`` is ``path``, if any."""
    info_path = path.parent / "dataset_info.json"
    if not path.is_file() or not info_path.is_file():
        return None
    text = decode_line(info_path.read_bytes())
    info = text if isinstance(text, FormatError) else parse_json(text)
    if isinstance(info, FormatError):
        raise InputError(f"{info_path}: {info}")
    if not isinstance(info, dict):
        raise InputError(f"{info_path}: expected an object of dataset entries, got {type(info).__name__}")
    for entry in info.values():
        if isinstance(entry, dict) and isinstance(entry.get("file_name"), str):
            if (info_path.parent / entry["file_name"]).resolve() == path.resolve():
                return entry
    return None


def detect(path: Path) -> str:
    """The format of ``path``: a folder of media, a HF dataset, a file a ``dataset_info.json`` names, or a file's row layout."""
    entry = dataset_info_entry(path)
    if entry is not None:
        layout_from_dataset_info(entry, path.parent / "dataset_info.json")  # refuses what we do not read
        return "sharegpt"
    if path.is_dir() and not is_hf_disk(path) and not any(path.glob("**/*.parquet")):
        return "folder"
    first = _first_row(_row_source(path)())
    shape = shape_of(first)
    if shape is None:
        raise InputError(f"{path}: cannot tell the format from its first record; pass --format (one of {', '.join(FORMATS)})")
    return "hf" if is_hf_disk(path) else shape


def _converted(rows: Iterator[tuple[int, object]], fixed: str | None,
               convert: Callable[[dict], dict] | None = None) -> Iterator[Item]:
    for number, obj in rows:
        if isinstance(obj, FormatError):
            yield Item(number, None, error=obj)
            continue
        shape = fixed or shape_of(obj)
        if shape is None:
            yield Item(number, obj, error=FormatError("$", "record matches no known format"))
            continue
        try:
            yield Item(number, obj, record=(convert or CONVERTERS[shape])(obj))
        except FormatError as exc:
            yield Item(number, obj, error=exc)


def open_source(path: str | Path, format: str | None = None, media_root: str | Path | None = None) -> Source:
    """Open ``path`` for reading records; ``format`` None means detect it.

    >>> source = open_source("llava_instruct.json")
    >>> source.format, source.record_kind
    ('llava', 'conversation')
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    if format is not None and format not in FORMATS:
        raise InputError(f"unknown format {format!r}; one of {', '.join(FORMATS)}")
    format = format or detect(path)
    root = Path(media_root) if media_root else (path if path.is_dir() else path.parent)
    if format == "folder":
        if not path.is_dir():
            raise InputError(f"{path}: the folder format needs a folder")
        try:
            kind = folder_kind(path)
        except ValueError as exc:
            raise InputError(str(exc)) from None
        files = sorted(p for p in path.rglob("*") if p.is_file())
        return Source(path, format, kind, root, folder_items(path), files)
    rows = _row_source(path)
    if format in ("mmdata", "hf"):
        manifest = (path if path.is_dir() else path.parent) / "mmdata.json"
        first = _first_row(rows())
        if manifest.exists():
            kind = manifest_kind(manifest)
        elif first is not None and shape_of(first) not in (None, "mmdata"):
            kind = "conversation"
        else:
            kind = native_kind(first or {})
        fixed = None if format == "hf" else "mmdata"
    else:
        kind, fixed = "conversation", format
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    convert = None
    entry = dataset_info_entry(path) if format == "sharegpt" else None
    if entry is not None:
        # Column and role-tag names are the dataset's own; the file is part of what was imported.
        info_path = path.parent / "dataset_info.json"
        convert = partial(sharegpt, layout=layout_from_dataset_info(entry, info_path))
        files.append(info_path)
    return Source(path, format, kind, root, _converted(rows(), fixed, convert), files)
