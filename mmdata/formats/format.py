"""What an import format is: one object per format, in one file each, listed in ``registry.py``.

To add a format, write ``mmdata/formats/<name>.py`` defining ``FORMAT = ImportFormat(...)`` and
add it to ``registry.FORMATS`` (docs/formats.md has a worked example).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from mmdata.formats.base import FormatError, Item
from mmdata.formats.containers import input_files, rows_of

# The registry's ``layout_of``: which row layout a parsed row has (None: none). Handed to the
# hooks that read rows of any layout (``hf``), so no format imports the registry.
LayoutOf = Callable[[object], "ImportFormat | None"]


@dataclass
class Reading:
    """What opening an input gives: the record kind, its items (read lazily), the files the input hash covers."""

    record_kind: str
    items: Iterator[Item] = field(repr=False)
    files: list[Path] = field(default_factory=list)


@dataclass(frozen=True)
class ImportFormat:
    """One input format.

    ``open(path, layout_of)`` reads it. A row layout (records that are rows of JSON, JSONL or
    Parquet) also has ``matches(row)``, used to detect the format from the first row and to read
    rows of mixed layouts, and ``convert(row)``, which makes one row a record in our shape (media
    fields holding references) or raises FormatError. ``claims(path, layout_of)`` recognises the
    input itself before any row is read (a folder, a saved dataset, a ``dataset_info.json`` entry).
    """

    name: str
    reads: str  # one line on what the input is: the CLI's help and the docs' table say it
    open: Callable[[Path, LayoutOf], Reading]
    matches: Callable[[object], bool] | None = None
    convert: Callable[[dict], dict] | None = None
    claims: Callable[[Path, LayoutOf], bool] | None = None


def converted(rows: Iterator[tuple[int, object]], convert: Callable[[dict], dict]) -> Iterator[Item]:
    """Items from numbered rows: the record ``convert`` makes, or why a row cannot be one."""
    for number, obj in rows:
        if isinstance(obj, FormatError):
            yield Item(number, None, error=obj)
            continue
        try:
            yield Item(number, obj, record=convert(obj))
        except FormatError as exc:
            yield Item(number, obj, error=exc)


def conversation_rows(convert: Callable[[dict], dict]) -> Callable[[Path, LayoutOf], Reading]:
    """``open`` for a row layout of conversations: every row through ``convert``."""

    def open_rows(path: Path, layout_of: LayoutOf) -> Reading:
        return Reading("conversation", converted(rows_of(path), convert), input_files(path))

    return open_rows
