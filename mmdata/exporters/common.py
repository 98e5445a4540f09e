"""What every exporter needs: the records of one version, and their media files."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from mmdata import __version__

# The store loads DuckDB: imported where it is used, so reading the export registry (the CLI's
# help does) stays light.
if TYPE_CHECKING:
    from mmdata.store.lake import Store
    from mmdata.store.versions import VersionRef


class VersionReader:
    """Streams the records of one version in batches; opens the store read-only."""

    def __init__(self, store: Store, ref: str, batch_size: int = 2000):
        self.store, self.ref, self.batch_size = store, ref, batch_size

    def __enter__(self) -> VersionReader:
        from mmdata.store.versions import resolve

        self.con = self.store.connect(read_only=True)
        try:
            self.version: VersionRef = resolve(self.con, self.ref)
            (self.count,) = self.con.execute(f"SELECT count(*) FROM {self.version.relation}").fetchone()
        except BaseException as exc:
            self.__exit__(type(exc), exc, None)  # __exit__ is not called when __enter__ raises
            raise
        return self

    def __exit__(self, kind, exc, traceback) -> None:
        self.con.close()
        import duckdb

        if isinstance(exc, duckdb.IOException):
            from mmdata.store.lake import damaged

            raise damaged(self.store, exc) from exc

    def rows(self) -> Iterator[dict]:
        """Table rows (JSON fields as text), in id order so exports are reproducible."""
        batches = self.con.execute(f"SELECT * EXCLUDE (key) FROM {self.version.relation} ORDER BY id").to_arrow_reader(
            self.batch_size
        )
        for batch in batches:
            yield from batch.to_pylist()

    def records(self) -> Iterator[dict]:
        from mmdata.store.tables import from_row

        for row in self.rows():
            yield from_row(self.version.record_kind, row)

    def media_path(self, media_id: str) -> Path:
        return self.store.media.path(media_id)

    def manifest(self, out: Path, **extra) -> None:
        """``mmdata.json``: what was exported, and the version's lineage (a trainer records it with its checkpoints)."""
        command, arguments, parents = self.con.execute(
            "SELECT command, arguments, parents FROM lake._versions WHERE dataset = ? AND version = ?",
            [self.version.dataset, self.version.version],
        ).fetchone()
        (out / "mmdata.json").write_text(
            json.dumps(
                {
                    "dataset": self.version.dataset,
                    "version": self.version.version,
                    "ref": str(self.version),
                    "record_kind": self.version.record_kind,
                    "records": self.count,
                    "tool_version": __version__,
                    "lineage": {"command": command, "arguments": json.loads(arguments or "{}"), "parents": list(parents or [])},
                    **extra,
                },
                indent=2,
            )
            + "\n"
        )


def copy_media(reader: VersionReader, media_id: str, folder: Path, out: Path) -> str:
    """Copy one media file into ``folder`` (once); its path relative to ``out``."""
    source = reader.media_path(media_id)
    target = folder / source.name
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    return str(target.relative_to(out))


def turn_text(turn: dict, language: str) -> str | None:
    return turn.get("content_ms") if language == "ms" else turn.get("content")
