"""Our own records (JSONL, Parquet) and Hugging Face datasets (saved to disk, or Parquet)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

from mmdata.formats.base import FormatError
from mmdata.store.tables import JSON_FIELDS


def native(obj: dict) -> dict:
    """A record in our own shape, from JSONL (objects) or Parquet (JSON-text columns)."""
    if not isinstance(obj, dict):
        raise FormatError("$", f"expected a JSON object, got {type(obj).__name__}")
    record = {k: v for k, v in obj.items() if k not in ("id", "key", "extra") and v is not None}
    for field in JSON_FIELDS & record.keys():
        if isinstance(record[field], str):
            try:
                record[field] = json.loads(record[field])
            except ValueError as exc:
                raise FormatError(field, f"{field} is not valid JSON: {exc}") from None
    if isinstance(obj.get("extra"), str):
        record.update(json.loads(obj["extra"]))
    elif isinstance(obj.get("extra"), dict):
        record.update(obj["extra"])
    # Hugging Face exports of media records carry the file in an ``image`` / ``audio`` column.
    for column in ("image", "audio"):
        if "media_id" not in record and isinstance(record.get(column), dict):
            record["media_id"] = record.pop(column)
    return record


def native_kind(obj: dict) -> str:
    """Which record kind an object of ours is, from its fields."""
    keys = set(obj)
    if "chat" in keys:
        return "conversation"
    if {"start", "end"} <= keys:
        return "transcript"
    if keys & {"width", "height", "description", "attributes", "image"}:
        return "image"
    return "audio"


def parquet_rows(path: Path, batch_size: int = 2048) -> Iterator[tuple[int, dict]]:
    import pyarrow.parquet as pq

    number = 0
    for file in sorted(path.glob("**/*.parquet")) if path.is_dir() else [path]:
        for batch in pq.ParquetFile(file).iter_batches(batch_size=batch_size):
            for row in batch.to_pylist():
                number += 1
                yield number, row


def hf_disk_rows(path: Path) -> Iterator[tuple[int, dict]]:
    """Rows of a ``Dataset.save_to_disk`` folder, read with pyarrow (media stay undecoded bytes)."""
    import pyarrow as pa

    folders = [path] if (path / "state.json").exists() else sorted(p.parent for p in path.glob("*/state.json"))
    number = 0
    for folder in folders:
        state = json.loads((folder / "state.json").read_text())
        for data_file in state.get("_data_files", []):
            with pa.memory_map(str(folder / data_file["filename"])) as source:
                for batch in pa.ipc.open_stream(source):
                    for row in batch.to_pylist():
                        number += 1
                        yield number, row


def is_hf_disk(path: Path) -> bool:
    return path.is_dir() and ((path / "state.json").exists() or (path / "dataset_dict.json").exists())
