"""Readers for every input format (listed in ``registry.py``), and opening an input with one.

``open_source(path)`` returns a Source: the format, the record kind, and an iterator of
Items (records with media references, or the reason a line could not be read).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from mmdata.errors import InputError
from mmdata.formats import registry
from mmdata.formats.base import Item


@dataclass
class Source:
    path: Path
    format: str
    record_kind: str
    media_root: Path
    items: Iterator[Item] = field(repr=False)
    files: list[Path] = field(default_factory=list)  # what the input hash covers


def open_source(path: str | Path, format: str | None = None, media_root: str | Path | None = None) -> Source:
    """Open ``path`` for reading records; ``format`` None means detect it (``registry.detect``).

    Media references stay relative to ``media_root``: by default the folder itself, or the file's folder.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    fmt = registry.get(format if format is not None else registry.detect(path))
    root = Path(media_root) if media_root else (path if path.is_dir() else path.parent)
    reading = fmt.open(path, registry.layout_of)
    return Source(path, fmt.name, reading.record_kind, root, reading.items, reading.files)
