"""What every reader yields, and the helpers they share."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from mmdata.errors import InputError
from mmdata.records import media_kind


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


# Deeper than any real record; well inside Python's recursion limit, which the JSON parser,
# the schema check and json.dumps all spend (a deep enough line would be a RecursionError).
MAX_DEPTH = 64
_BOM = b"\xef\xbb\xbf"


class _NonFinite:
    """What ``NaN`` / ``Infinity`` parse to: Python's json accepts them, JSON (and every other reader) does not."""

    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        return self.text


class _Duplicated(dict):
    """An object in which a key was given twice (Python's json silently keeps the last)."""

    duplicate: str = ""


class _Parser:
    """``json.loads`` that marks NaN, Infinity and repeated keys instead of accepting them."""

    def __init__(self):
        self.marked = False

    def _constant(self, text: str) -> _NonFinite:
        self.marked = True
        return _NonFinite(text)

    def _pairs(self, pairs: list) -> dict:
        obj = dict(pairs)
        if len(obj) != len(pairs):
            self.marked = True
            seen: set = set()
            duplicate = next(k for k, _ in pairs if k in seen or seen.add(k))
            obj = _Duplicated(obj)
            obj.duplicate = duplicate
        return obj

    def loads(self, text: str):
        self.marked = False
        return json.loads(text, parse_constant=self._constant, object_pairs_hook=self._pairs)


_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]")


def json_problem(value, prefix: str = "", text: bool = False) -> FormatError | None:
    """The first thing in a parsed value that JSON or the store cannot hold, as a FormatError naming its path.

    That is: NaN or infinity, a key given twice, nesting deeper than MAX_DEPTH, or (from Parquet
    and Arrow rows) a value with no JSON form, such as bytes outside a media ``{bytes, path}``;
    with ``text``, also strings holding a lone surrogate (``"\\ud800"``), which UTF-8 cannot store.
    """
    stack = [(value, prefix, 0, None)]
    while stack:
        value, path, depth, key = stack.pop()
        where = path or "$"
        if depth > MAX_DEPTH:
            return FormatError(where, f"{where}: nested deeper than {MAX_DEPTH} levels")
        if isinstance(value, dict):
            if isinstance(value, _Duplicated):
                return FormatError(where, f"{where}: the key {value.duplicate!r} is given twice in one object")
            for k, v in reversed(list(value.items())):
                if not isinstance(k, str):
                    return FormatError(where, f"{where}: a key must be a string, not {type(k).__name__}")
                if text and not _utf8(k):
                    return FormatError(where, f"{where}: a key holds a lone surrogate escape, which is not text", rule="encoding")
                stack.append((v, f"{path}/{k}" if path else k, depth + 1, k))
        elif isinstance(value, (list, tuple)):
            for i in reversed(range(len(value))):
                stack.append((value[i], f"{path}/{i}" if path else str(i), depth + 1, None))
        elif isinstance(value, _NonFinite) or (isinstance(value, float) and not math.isfinite(value)):
            return FormatError(
                where, f"{where} is {value}: JSON has no NaN or infinity; use null or a number", rule="json-nonfinite"
            )
        elif isinstance(value, (bytes, bytearray, memoryview)):
            if key != "bytes":
                return FormatError(where, f"{where}: binary data is only stored as media ({{bytes, path}})")
        elif isinstance(value, str):
            if text and not _utf8(value):
                return FormatError(
                    where, f"{where}: holds a lone surrogate escape (\\ud800-\\udfff), which is not text", rule="encoding"
                )
        elif value is not None and not isinstance(value, (int, float)):
            return FormatError(where, f"{where}: a {type(value).__name__} value has no JSON form")
    return None


def _utf8(value: str) -> bool:
    try:
        value.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def parse_json(text: str, parser: _Parser | None = None):
    """One JSON document, or the FormatError saying why it cannot be a record."""
    parser = parser or _Parser()
    try:
        obj = parser.loads(text)
    except RecursionError:
        return FormatError("$", f"invalid JSON: nested deeper than {MAX_DEPTH} levels")
    except ValueError as exc:
        return FormatError("$", f"invalid JSON: {exc}")
    surrogates = "\\u" in text and _SURROGATE.search(text) is not None
    if parser.marked or surrogates or text.count("{") + text.count("[") > MAX_DEPTH:
        return json_problem(obj, text=surrogates) or obj
    return obj


def strict_json(text: str, field: str):
    """``text`` (a JSON-text column such as ``extra``) parsed; a FormatError naming ``field`` otherwise."""
    obj = parse_json(text)
    if isinstance(obj, FormatError):
        path = field if obj.path == "$" else f"{field}/{obj.path}"
        raise FormatError(path, f"{field}: {obj}", obj.rule)
    return obj


def decode_line(raw: bytes) -> str | FormatError:
    """A line of bytes as text; a byte-order mark dropped (Excel's "CSV UTF-8" and Notepad write one)."""
    if raw.startswith(_BOM):
        raw = raw[len(_BOM) :]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return FormatError(
            "$",
            f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at column {exc.start + 1}); save the file as UTF-8",
            rule="encoding",
        )


def read_json_items(path: Path) -> Iterator[tuple[int, object]]:
    """(line, object) from JSONL, or (item number, object) from a JSON array; what cannot be read as FormatError."""
    if path.is_dir():
        raise InputError(f"{path}: is a folder; this format reads a JSON or JSONL file")
    with open(path, "rb") as fh:
        head = fh.read(1 << 16)
    if head.removeprefix(_BOM).lstrip()[:1] == b"[":
        yield from _json_array(path)
        return
    parser, any_line = _Parser(), False
    with open(path, "rb") as fh:
        for number, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            any_line = True
            text = decode_line(raw)
            yield number, text if isinstance(text, FormatError) else parse_json(text, parser)
    if not any_line:
        yield 1, FormatError("$", "the file holds no records (it is empty or only whitespace)")


def _json_array(path: Path) -> Iterator[tuple[int, object]]:
    # A JSON array cannot be streamed line by line; LLaVA-style files are loaded whole.
    raw = path.read_bytes().removeprefix(_BOM)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        yield (
            line,
            FormatError(
                "$", f"not UTF-8 text (byte 0x{raw[exc.start]:02x} on line {line}); save the file as UTF-8", rule="encoding"
            ),
        )
        return
    parser = _Parser()
    try:
        items = parser.loads(text)
    except RecursionError:
        yield 1, FormatError("$", f"invalid JSON: nested deeper than {MAX_DEPTH} levels")
        return
    except ValueError as exc:
        yield getattr(exc, "lineno", 1), FormatError("$", f"invalid JSON: {exc}")
        return
    if not isinstance(items, list):  # "[1] 2": json.loads reports the extra data, so this is only a guard
        yield 1, FormatError("$", "a JSON file must be one array of records")
        return
    if not items:
        yield 1, FormatError("$", "the file holds no records (an empty array)")
    surrogates = "\\u" in text and _SURROGATE.search(text) is not None
    for number, item in enumerate(items, start=1):
        # The whole array was parsed at once: check each item (nesting is not visible from the text).
        yield number, json_problem(item, text=surrogates) or item


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
        media_ref(ref, f"filename/{i}")
        kind = media_kind(ref_name(ref))
        if kind is None:
            raise FormatError(f"filename/{i}", f"cannot tell image from audio by the name {ref_name(ref)!r}")
        (images if kind == "image" else audios).append(ref)
    return images, audios


def as_list(value) -> list:
    if value is None or value == "":
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def media_ref(ref, path: str):
    """``ref`` if it can name media (a path or media id, or ``{bytes, path}``); else a FormatError at ``path``."""
    if isinstance(ref, str) and ref.strip():
        return ref
    if isinstance(ref, dict) and ref and set(ref) <= {"bytes", "path"}:
        data, name = ref.get("bytes"), ref.get("path")
        if isinstance(data, (bytes, type(None))) and isinstance(name, (str, type(None))) and (data or name):
            return ref
    shown = json.dumps(ref, default=repr)[:80] if not isinstance(ref, (bytes, bytearray)) else "bytes"
    raise FormatError(path, f"{path}: a media reference is a file path, a media id or {{bytes, path}}, not {shown}")


def require(obj: dict, field: str, kind=str):
    if not isinstance(obj, dict):
        raise FormatError("$", f"expected a JSON object, got {type(obj).__name__}")
    if field not in obj or obj[field] is None:
        raise FormatError(field, f"missing field {field!r}")
    if not isinstance(obj[field], kind):
        raise FormatError(field, f"{field!r} should be {getattr(kind, '__name__', kind)}, got {type(obj[field]).__name__}")
    return obj[field]
