"""A run journal: what a job has produced so far, staged as Parquet under ``runs/<run-id>/``.

Jobs stream rows here and commit them to the lake in one short transaction at the end, so a
crash loses no committed data and leaves no half-written version (the journal is just left
behind, and later runs ignore it).
"""

from __future__ import annotations

import json
import shutil
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

REJECT_SCHEMA = pa.schema([
    ("file", pa.string()), ("line", pa.int64()), ("field_path", pa.string()),
    ("rule", pa.string()), ("message", pa.string()), ("record", pa.string()),
])
MEDIA_SCHEMA = pa.schema([
    ("id", pa.string()), ("ext", pa.string()), ("kind", pa.string()), ("bytes", pa.int64()),
    ("duration_s", pa.float64()), ("sample_rate", pa.int32()), ("channels", pa.int32()),
    ("width", pa.int32()), ("height", pa.int32()),
])


class _Table:
    """Buffers rows and appends them to one Parquet file in row groups."""

    def __init__(self, path: Path, schema: pa.Schema, batch: int):
        self.path, self.schema, self.batch = path, schema, batch
        self.rows: list[dict] = []
        self.writer: pq.ParquetWriter | None = None
        self.count = 0

    def add(self, row: dict) -> None:
        self.rows.append(row)
        self.count += 1
        if len(self.rows) >= self.batch:
            self.flush()

    def flush(self) -> None:
        if not self.rows:
            return
        if self.writer is None:
            self.writer = pq.ParquetWriter(self.path, self.schema)
        self.writer.write_table(pa.Table.from_pylist(self.rows, schema=self.schema))
        self.rows.clear()

    def close(self) -> bool:
        self.flush()
        if self.writer:
            self.writer.close()
        return self.writer is not None


class RunJournal:
    """``runs/<run-id>/`` with staged records, rejects and newly seen media."""

    def __init__(self, runs: Path, command: str, record_schema: pa.Schema, batch: int = 5000):
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
        self.run_id = f"{stamp}-{command}-{uuid.uuid4().hex[:8]}"
        self.dir = runs / self.run_id
        self.dir.mkdir(parents=True)
        (self.dir / "run.json").write_text(json.dumps({"run_id": self.run_id, "command": command, "started": stamp}))
        self.records = _Table(self.dir / "records.parquet", record_schema, batch)
        self.rejects = _Table(self.dir / "rejects.parquet", REJECT_SCHEMA, batch)
        self.media = _Table(self.dir / "media.parquet", MEDIA_SCHEMA, batch)

    def close(self) -> dict[str, Path | None]:
        """Flush everything; the staged files that exist (None for empty ones)."""
        return {name: (table.path if table.close() else None)
                for name, table in (("records", self.records), ("rejects", self.rejects), ("media", self.media))}

    def remove(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)
