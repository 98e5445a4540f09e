"""The files rows come in, whatever their layout: JSON/JSONL, Parquet, or a saved Hugging Face dataset.

A row layout (sharegpt, llava, ours, ...) is read from any of them; media stay undecoded bytes
or references here, and each row is numbered (its line, item or row number) for rejects.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from mmdata.errors import InputError
from mmdata.formats.base import FormatError, json_problem, read_json_items


def rows_of(path: Path) -> Iterator[tuple[int, object]]:
    """Numbered rows of ``path``: a saved dataset, Parquet (a file or a folder of them), else JSON/JSONL."""
    if is_hf_disk(path):
        return hf_disk_rows(path)
    if path.suffix == ".parquet" or (path.is_dir() and any(path.glob("**/*.parquet"))):
        return parquet_rows(path)
    return read_json_items(path)


def first_row(path: Path) -> object:
    """The first row that could be read, or None."""
    for _, obj in rows_of(path):
        if not isinstance(obj, FormatError):
            return obj
    return None


def input_files(path: Path) -> list[Path]:
    """The files an input is made of (the lineage hashes them)."""
    return sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]


def _json_safe(batch):
    """``batch`` with dates, times and decimals as text: the store keeps unknown fields as JSON."""
    import pyarrow as pa

    columns, changed = [], False
    for column, field in zip(batch.columns, batch.schema):
        kind = field.type
        if pa.types.is_temporal(kind) or pa.types.is_decimal(kind):
            column, changed = column.cast(pa.string()), True
        columns.append(column)
    return pa.RecordBatch.from_arrays(columns, names=batch.schema.names) if changed else batch


def _needs_check(kind) -> bool:
    """Whether values of this Arrow type may hold what JSON cannot (NaN, infinity, bytes, dates in lists)."""
    import pyarrow as pa

    if (
        pa.types.is_floating(kind)
        or pa.types.is_binary(kind)
        or pa.types.is_large_binary(kind)
        or pa.types.is_temporal(kind)
        or pa.types.is_decimal(kind)
    ):
        return True
    if pa.types.is_struct(kind):
        return any(_needs_check(kind.field(i).type) for i in range(kind.num_fields))
    if pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind):
        return _needs_check(kind.value_type)
    if pa.types.is_map(kind):
        return True
    return False


class _Break(FormatError):
    """A data file that stops being readable part-way; the rows after it are lost, and the reject says so."""


def _rows(batches, label: str, number: int) -> Iterator[tuple[int, dict | FormatError]]:
    """Rows of Arrow ``batches`` numbered on from ``number``; a file that breaks off becomes one reject.

    An unreadable file (nothing read yet) is an InputError: there is nothing to import. One that
    breaks off later keeps the rows before the break, and the break is a reject naming the row.
    """
    import pyarrow as pa

    start = number
    try:
        for batch in batches:
            batch = _json_safe(batch)
            check = any(_needs_check(f.type) for f in batch.schema)
            for row in batch.to_pylist():
                number += 1
                yield number, (json_problem(row) or row) if check else row
    except (pa.ArrowException, OSError, ValueError) as exc:
        if number == start:
            raise InputError(f"{label}: cannot be read ({' '.join(str(exc).split())[:300]})") from None
        yield (
            number + 1,
            _Break(
                "$",
                f"{label} breaks off after row {number - start} "
                f"({' '.join(str(exc).split())[:200]}); the rows after it were not read",
            ),
        )


def parquet_rows(path: Path, batch_size: int = 2048) -> Iterator[tuple[int, dict]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    number = 0
    for file in sorted(path.glob("**/*.parquet")) if path.is_dir() else [path]:
        try:
            batches = pq.ParquetFile(file).iter_batches(batch_size=batch_size)
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise InputError(f"{file}: not a readable Parquet file ({' '.join(str(exc).split())[:300]})") from None
        read_before = number
        for number, row in _rows(batches, str(file), read_before):
            yield number, row
            if isinstance(row, _Break):
                return


def json_file(path: Path, what: str):
    try:
        return json.loads(path.read_bytes().decode("utf-8-sig"))
    except FileNotFoundError:
        raise InputError(f"{path}: missing; {what}") from None
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise InputError(f"{path}: not readable JSON ({' '.join(str(exc).split())[:200]}); {what}") from None


def _hf_folders(path: Path) -> list[Path]:
    """The split folders of a ``save_to_disk`` dataset: itself, or those ``dataset_dict.json`` names."""
    if (path / "state.json").exists():
        return [path]
    info = json_file(path / "dataset_dict.json", "a datasets DatasetDict folder has one")
    splits = info.get("splits") if isinstance(info, dict) else None
    if not isinstance(splits, list) or not all(isinstance(s, str) and s and "/" not in s for s in splits):
        raise InputError(f'{path / "dataset_dict.json"}: expected {{"splits": [names]}}')
    return [path / split for split in splits]


def hf_disk_rows(path: Path) -> Iterator[tuple[int, dict]]:
    """Rows of a ``Dataset.save_to_disk`` folder, read with pyarrow (media stay undecoded bytes)."""
    import pyarrow as pa

    number = 0
    for folder in _hf_folders(path):
        state = json_file(folder / "state.json", "every split folder of a saved dataset has one")
        files = state.get("_data_files") if isinstance(state, dict) else None
        if not isinstance(files, list) or not all(isinstance(f, dict) and isinstance(f.get("filename"), str) for f in files):
            raise InputError(f"{folder / 'state.json'}: expected _data_files: [{{filename: ...}}]")
        for data_file in files:
            file = folder / data_file["filename"]
            if not file.is_file():
                raise InputError(f"{file}: missing (state.json names it)")
            try:
                with pa.memory_map(str(file)) as source:
                    read_before = number
                    for number, row in _rows(pa.ipc.open_stream(source), str(file), read_before):
                        yield number, row
                        if isinstance(row, _Break):
                            return
            except (pa.ArrowException, OSError, ValueError) as exc:
                raise InputError(f"{file}: not a readable Arrow file ({' '.join(str(exc).split())[:300]})") from None


def is_hf_disk(path: Path) -> bool:
    return path.is_dir() and ((path / "state.json").exists() or (path / "dataset_dict.json").exists())
