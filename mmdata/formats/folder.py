"""``folder``: a folder of images or audio, with optional ``metadata.jsonl`` / ``metadata.csv``.

This is Hugging Face's imagefolder / audiofolder convention: the ``file`` (or ``file_name``)
column names a file relative to the folder; every other column becomes a record field.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator
from pathlib import Path

from mmdata.errors import InputError
from mmdata.formats.base import FormatError, Item, read_json_items
from mmdata.formats.containers import input_files, is_hf_disk
from mmdata.formats.format import ImportFormat, LayoutOf, Reading
from mmdata.records import media_kind

FILE_COLUMNS = ("file", "file_name")


def _metadata(folder: Path) -> tuple[Path | None, Iterator[tuple[int, dict | FormatError]]]:
    jsonl, table = folder / "metadata.jsonl", folder / "metadata.csv"
    if jsonl.exists():
        return jsonl, _jsonl_rows(jsonl)
    if table.exists():
        return table, _csv_rows(table)
    return None, iter(())


def _jsonl_rows(path: Path) -> Iterator[tuple[int, dict | FormatError]]:
    for number, row in read_json_items(path):
        if not isinstance(row, (dict, FormatError)):
            row = FormatError("$", f"a metadata row is an object with a 'file' column, not {type(row).__name__}")
        yield number, row


def _csv_rows(path: Path) -> Iterator[tuple[int, dict | FormatError]]:
    """Rows of metadata.csv by file line; a row that is not UTF-8 or not CSV is a reject, and reading goes on."""
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not a CSV file")
    # Undecodable bytes are kept as surrogates so one bad row does not stop the file; utf-8-sig
    # drops the byte-order mark Excel's "CSV UTF-8" writes.
    with open(path, encoding="utf-8-sig", errors="surrogateescape", newline="") as fh:
        reader = csv.reader(fh)
        header = None
        while True:
            line = reader.line_num + 1
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                if header is None:
                    raise InputError(f"{path}:{line}: not a CSV header ({exc})") from None
                yield line, FormatError("$", f"not valid CSV: {exc}")
                continue
            if header is None:
                header = cells
                repeated = sorted({c for c in header if header.count(c) > 1})
                if repeated:
                    raise InputError(f"{path}:{line}: column {repeated[0]!r} appears twice in the header")
                if _undecodable(header) is not None:
                    raise InputError(f"{path}:{line}: the header is not UTF-8 text; save the file as UTF-8")
                continue
            if not any(c.strip() for c in cells):
                continue
            bad = _undecodable(cells)
            if bad is not None:
                name = header[bad] if bad < len(header) else "$"
                yield line, FormatError(name, "not UTF-8 text; save the file as UTF-8", rule="encoding")
            elif len(cells) > len(header):
                yield line, FormatError("$", f"{len(cells)} values for {len(header)} columns")
            else:
                yield line, {k: v for k, v in zip(header, cells) if v != ""}


def _undecodable(cells: list[str]) -> int | None:
    for i, cell in enumerate(cells):
        try:
            cell.encode("utf-8")
        except UnicodeEncodeError:
            return i
    return None


def folder_kind(folder: Path) -> str:
    files = [p for p in folder.rglob("*") if p.is_file()]
    for path in files:
        try:
            str(path).encode("utf-8")
        except UnicodeEncodeError:
            # The name could not be kept: the store's text columns and lineage are UTF-8.
            shown = str(path).encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
            raise ValueError(f"{shown}: the file name is not UTF-8; rename it") from None
    kinds = {media_kind(p.name) for p in files} - {None}
    if len(kinds) != 1:
        raise ValueError(
            f"{folder} holds {'both images and audio' if kinds else 'no images or audio'}; import one kind of media per dataset"
        )
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
        if not isinstance(name, str):
            column = next(c for c in FILE_COLUMNS if row.get(c))
            yield Item(
                number,
                row,
                error=FormatError(column, f"{column} should be a file path, not {type(name).__name__}"),
                file=meta_file.name,
            )
            continue
        described.add(str(Path(name)))
        record = {k: v for k, v in row.items() if k not in FILE_COLUMNS}
        try:
            for numeric, cast in (("duration", float), ("width", int), ("height", int)):
                if isinstance(record.get(numeric), str):
                    record[numeric] = cast(record[numeric])
                    if not math.isfinite(record[numeric]):
                        raise ValueError(f"{record[numeric]} is not a finite number")
        except ValueError as exc:
            yield Item(number, row, error=FormatError(numeric, f"{numeric} is not a number: {exc}"), file=meta_file.name)
            continue
        yield Item(number, row, record={**record, "media_id": name}, file=meta_file.name)
    files = sorted(p for p in folder.rglob("*") if p.is_file() and media_kind(p.name))
    for path in files:
        relative = str(path.relative_to(folder))
        if relative not in described:
            yield Item(0, relative, record={"media_id": relative}, file=relative)


def _claims(path: Path, layout_of: LayoutOf) -> bool:
    return path.is_dir() and not is_hf_disk(path) and not any(path.glob("**/*.parquet"))


def _open(path: Path, layout_of: LayoutOf) -> Reading:
    if not path.is_dir():
        raise InputError(f"{path}: the folder format needs a folder")
    try:
        kind = folder_kind(path)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    return Reading(kind, folder_items(path), input_files(path))


FORMAT = ImportFormat(
    name="folder",
    reads="a folder of images *or* audio, with optional `metadata.jsonl` / `metadata.csv` whose `file` "
    "(or `file_name`) column names a file; other columns become fields",
    open=_open,
    claims=_claims,
)
