"""``export``: write a dataset version in a format training code reads (the formats: ``registry.py``)."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from mmdata.errors import InputError
from mmdata.exporters import registry
from mmdata.exporters.common import VersionReader
from mmdata.progress import ProgressCallback, silent

if TYPE_CHECKING:
    from mmdata.store.lake import Store


def export(
    ref: str,
    format: str,
    out: str | Path,
    store: Store | str | None = None,
    language: str = "en",
    progress: ProgressCallback = silent,
) -> dict:
    """Export version ``ref`` to folder ``out`` in ``format`` (one of ``registry.names()``).

    ``language="ms"`` writes the Malay side (``content_ms``) for llava/sharegpt; records
    without a full Malay side are then left out and counted. Returns the version exported, the
    format, ``out``, and the writer's counts (``records``, ``skipped``, ...).
    """
    from mmdata.paths import folder_to_write
    from mmdata.store.lake import Store

    exporter = registry.get(format)
    if language not in ("en", "ms"):
        raise InputError(f"--language must be en or ms, not {language!r}")
    store = Store.of(store)
    out = folder_to_write(out, "--out")
    if out.exists() and any(out.iterdir()):
        raise InputError(f"{out} exists and is not empty; pick a new folder")

    with VersionReader(store, ref) as reader:
        if exporter.conversations_only and reader.version.record_kind != "conversation":
            raise InputError(f"{format} holds conversations; {reader.version} holds {reader.version.record_kind} records")
        # Written beside ``out`` and renamed at the end: a failed or killed export leaves no
        # half-written folder that a trainer could take for a whole one.
        out.parent.mkdir(parents=True, exist_ok=True)
        partial = out.parent / f".{out.name}.partial-{uuid.uuid4().hex[:8]}"
        partial.mkdir()
        try:
            counts = exporter.write(reader, partial, language=language, progress=progress)
            if out.exists():
                out.rmdir()  # checked empty above
            partial.rename(out)
        finally:
            shutil.rmtree(partial, ignore_errors=True)
    return {"version": str(reader.version), "format": format, "out": str(out), **counts}
