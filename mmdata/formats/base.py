"""What every reader yields, and the helpers they share."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from mmdata.store.media import media_kind


class FormatError(ValueError):
    """A line that cannot become a record; carries the field path it is about and the rule it breaks."""

    def __init__(self, path: str, message: str, rule: str = "format"):
        super().__init__(message)
        self.path = path
        self.rule = rule


@dataclass
class Item:
    """One input record, or why it could not be read.

    ``record`` is in our record shape except that media fields hold references: a path
    (relative to the media root), a media id, or ``{"bytes": ..., "path": ...}``.
    """

    line: int
    raw: object
    record: dict | None = None
    error: FormatError | None = None
    file: str | None = None  # when not the source file itself (a folder's member files)


def read_json_items(path: Path) -> Iterator[tuple[int, object]]:
    """(line, object) from JSONL, or (item number, object) from a JSON array; bad JSON as FormatError."""
    with open(path, encoding="utf-8") as fh:
        first = fh.read(1)
        while first and first.isspace():
            first = fh.read(1)
        fh.seek(0)
        if first == "[":
            # A JSON array cannot be streamed line by line; LLaVA-style files are loaded whole.
            try:
                items = json.load(fh)
            except ValueError as exc:
                yield 1, FormatError("$", f"invalid JSON: {exc}")
                return
            yield from enumerate(items, start=1)
            return
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                yield number, json.loads(line)
            except ValueError as exc:
                yield number, FormatError("$", f"invalid JSON: {exc}")


def infer_kind(images: list, audios: list) -> str:
    """Conversation kind from its media: text, image-instruction, multi-image, audio-instruction, ..."""
    if images and audios:
        return "image-audio"
    if images:
        return "multi-image" if len(images) > 1 else "image-instruction"
    if audios:
        return "multi-audio" if len(audios) > 1 else "audio-instruction"
    return "text"


def ref_name(ref) -> str:
    return ref.get("path") or "" if isinstance(ref, dict) else str(ref)


def split_media(refs: list) -> tuple[list, list]:
    """Split mixed media references into (images, audios) by file extension, order kept."""
    images, audios = [], []
    for i, ref in enumerate(refs):
        kind = media_kind(ref_name(ref))
        if kind is None:
            raise FormatError(f"filename/{i}", f"cannot tell image from audio by the name {ref_name(ref)!r}")
        (images if kind == "image" else audios).append(ref)
    return images, audios


def as_list(value) -> list:
    if value is None or value == "":
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def require(obj: dict, field: str, kind=str):
    if not isinstance(obj, dict):
        raise FormatError("$", f"expected a JSON object, got {type(obj).__name__}")
    if field not in obj or obj[field] is None:
        raise FormatError(field, f"missing field {field!r}")
    if not isinstance(obj[field], kind):
        raise FormatError(field, f"{field!r} should be {getattr(kind, '__name__', kind)}, got {type(obj[field]).__name__}")
    return obj[field]
