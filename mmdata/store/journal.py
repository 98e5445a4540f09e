"""A run journal: what a job has produced so far, staged as Parquet under ``runs/<run-id>/``.

Jobs stream rows here and commit them to the lake in one short transaction at the end, so a
crash loses no committed data and leaves no half-written version (the journal is just left
behind, and later runs ignore it).
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

REJECT_SCHEMA = pa.schema(
    [
        ("file", pa.string()),
        ("line", pa.int64()),
        ("field_path", pa.string()),
        ("rule", pa.string()),
        ("message", pa.string()),
        ("record", pa.string()),
    ]
)
MEDIA_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("ext", pa.string()),
        ("kind", pa.string()),
        ("bytes", pa.int64()),
        ("duration_s", pa.float64()),
        ("sample_rate", pa.int32()),
        ("channels", pa.int32()),
        ("width", pa.int32()),
        ("height", pa.int32()),
    ]
)


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

    def add_batch(self, batch: pa.RecordBatch | pa.Table) -> None:
        """Append rows that are already columns (read from another store), in the table's schema."""
        self.flush()  # keeps the rows in the order they were given
        if self.writer is None:
            self.writer = pq.ParquetWriter(self.path, self.schema)
        table = batch if isinstance(batch, pa.Table) else pa.Table.from_batches([batch])
        self.writer.write_table(table.select(self.schema.names).cast(self.schema))
        self.count += table.num_rows

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
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        self.run_id = f"{stamp}-{command}-{uuid.uuid4().hex[:8]}"
        self.dir = runs / self.run_id
        self.dir.mkdir(parents=True)
        (self.dir / "run.json").write_text(json.dumps({"run_id": self.run_id, "command": command, "started": stamp}))
        self.records = _Table(self.dir / "records.parquet", record_schema, batch)
        self.rejects = _Table(self.dir / "rejects.parquet", REJECT_SCHEMA, batch)
        self.media = _Table(self.dir / "media.parquet", MEDIA_SCHEMA, batch)

    def close(self) -> dict[str, Path | None]:
        """Flush everything; the staged files that exist (None for empty ones)."""
        return {
            name: (table.path if table.close() else None)
            for name, table in (("records", self.records), ("rejects", self.rejects), ("media", self.media))
        }

    def remove(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


class JobJournal:
    """``runs/<name>/`` of a long, resumable job: append-only JSONL files that survive a kill.

    Every line is flushed to the operating system before the job moves on, so a killed process
    (even SIGKILL) loses nothing; ``stage`` fsyncs the files before a commit, so what a version
    was built from is on disk too. Committing a journal is idempotent (the store upserts by
    key and skips known rejects), so a job commits it at checkpoints and again at the end.
    """

    def __init__(self, runs: Path, name: str):
        self.dir = runs / name
        self.dir.mkdir(parents=True, exist_ok=True)

    @classmethod
    def for_job(cls, runs: Path, command: str, dataset: str, shard: tuple[int, int]) -> JobJournal:
        """The stable journal of ``command`` into ``dataset`` (one per shard, so machines never share one)."""
        suffix = f"-shard-{shard[0]}-of-{shard[1]}" if shard[1] > 1 else ""
        return cls(runs, f"{command}-{dataset}{suffix}")

    def fail(self, file: str, reason: str, message: str, record: dict, field_path: str = "$", line: int | None = None) -> None:
        """Record why one item failed; it joins the dataset's rejects at the next commit."""
        self.append(
            "failures.jsonl",
            {
                "file": file,
                "line": line,
                "field_path": field_path,
                "rule": reason,
                "message": message[:500],
                "record": json.dumps(record, ensure_ascii=False, default=str),
            },
        )

    def commit(self, store, dataset: str, record_kind: str, lineage, counts: dict, wait: float | None = None):
        """Commit everything journaled so far (idempotent); the CommitResult."""
        from mmdata.store.commit import commit_staged

        return commit_staged(
            store, dataset, record_kind, self.stage(record_kind), lineage, self.dir.name, counts=counts, wait=wait
        )

    def append(self, file: str, line: str | dict) -> None:
        """Add one line (a dict is written as JSON); it survives the process being killed."""
        with open(self.dir / file, "a", encoding="utf-8") as fh:
            fh.write((line if isinstance(line, str) else json.dumps(line, ensure_ascii=False, default=str)) + "\n")

    def lines(self, file: str) -> list[str]:
        """The plain-text lines of ``file``."""
        path = self.dir / file
        return path.read_text(encoding="utf-8").splitlines() if path.exists() else []

    def read(self, file: str) -> list:
        """The JSON lines of ``file`` (a line torn by a crash is ignored)."""
        out = []
        for line in self.lines(file):
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
        return out

    def stage(self, record_kind: str) -> dict[str, Path | None]:
        """Parquet files of the journal's records, media and failures, ready for ``commit_staged``."""
        from mmdata.store.tables import arrow_schema, to_row

        for path in self.dir.iterdir():
            if path.suffix in (".jsonl", ".txt"):
                with open(path, "rb") as fh:
                    os.fsync(fh.fileno())
        staged: dict[str, Path | None] = {}
        for name, source, schema, convert in (
            ("records", "records.jsonl", arrow_schema(record_kind), lambda r: to_row(record_kind, r)),
            ("media", "media.jsonl", MEDIA_SCHEMA, lambda r: r),
            ("rejects", "failures.jsonl", REJECT_SCHEMA, lambda r: r),
        ):
            rows = [convert(r) for r in self.read(source)]
            if rows:
                staged[name] = self.dir / f"{name}.parquet"
                pq.write_table(pa.Table.from_pylist(rows, schema=schema), staged[name])
            else:
                staged[name] = None
        return staged
