"""A folder of images or audio, with optional ``metadata.jsonl`` / ``metadata.csv``.

This is Hugging Face's imagefolder / audiofolder convention: the ``file`` (or ``file_name``)
column names a file relative to the folder; every other column becomes a record field.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Iterator

from mmdata.formats.base import FormatError, Item
from mmdata.store.media import media_kind

FILE_COLUMNS = ("file", "file_name")


def _metadata(folder: Path) -> tuple[Path | None, Iterator[tuple[int, dict | FormatError]]]:
    jsonl, table = folder / "metadata.jsonl", folder / "metadata.csv"
    if jsonl.exists():
        def rows():
            with open(jsonl, encoding="utf-8") as fh:
                for number, line in enumerate(fh, start=1):
                    if line.strip():
                        try:
                            yield number, json.loads(line)
                        except ValueError as exc:
                            yield number, FormatError("$", f"invalid JSON: {exc}")
        return jsonl, rows()
    if table.exists():
        def rows():
            with open(table, encoding="utf-8", newline="") as fh:
                for number, row in enumerate(csv.DictReader(fh), start=2):
                    yield number, {k: v for k, v in row.items() if v not in (None, "")}
        return table, rows()
    return None, iter(())


def folder_kind(folder: Path) -> str:
    kinds = {media_kind(p.name) for p in folder.rglob("*") if p.is_file()} - {None}
    if len(kinds) != 1:
        raise ValueError(f"{folder} holds {'both images and audio' if kinds else 'no images or audio'}; import one kind of media per dataset")
    return kinds.pop()


def folder_items(folder: Path) -> Iterator[Item]:
    """Items for every media file, with metadata fields where a metadata row names the file."""
    meta_file, rows = _metadata(folder)
    described: set[str] = set()
    for number, row in rows:
        if isinstance(row, FormatError):
            yield Item(number, None, error=row, file=meta_file.name)
            continue
        name = next((row[c] for c in FILE_COLUMNS if row.get(c)), None)
        if not name:
            yield Item(number, row, error=FormatError("file", "metadata row has no 'file' column"), file=meta_file.name)
            continue
        described.add(str(Path(name)))
        record = {k: v for k, v in row.items() if k not in FILE_COLUMNS}
        try:
            for numeric, cast in (("duration", float), ("width", int), ("height", int)):
                if isinstance(record.get(numeric), str):
                    record[numeric] = cast(record[numeric])
        except ValueError as exc:
            yield Item(number, row, error=FormatError(numeric, f"{numeric} is not a number: {exc}"), file=meta_file.name)
            continue
        yield Item(number, row, record={**record, "media_id": name}, file=meta_file.name)
    files = sorted(p for p in folder.rglob("*") if p.is_file() and media_kind(p.name))
    for number, path in enumerate(files, start=1):
        relative = str(path.relative_to(folder))
        if relative not in described:
            yield Item(0, relative, record={"media_id": relative}, file=relative)
