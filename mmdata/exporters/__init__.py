"""``export``: write a dataset version in a format training code reads."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

from mmdata.errors import InputError
from mmdata.progress import ProgressCallback, silent
from mmdata.store.lake import Store

FORMATS = ("jsonl", "hf", "llava", "sharegpt", "mmtrain")


def export(ref: str, format: str, out: str | Path, store: Store | str | None = None, language: str = "en",
           progress: ProgressCallback = silent) -> dict:
    """Export version ``ref`` to folder ``out`` as ``jsonl`` (ours), ``hf``, ``llava``, ``sharegpt`` or ``mmtrain``.

    ``language="ms"`` writes the Malay side (``content_ms``) for llava/sharegpt; records
    without a full Malay side are then left out and counted.

    >>> export("chats@stable", "sharegpt", "out/chats")
    {'version': 'chats@2', 'format': 'sharegpt', 'records': 120, 'skipped': 0, 'out': 'out/chats', ...}
    """
    if format not in FORMATS:
        raise InputError(f"unknown export format {format!r}; one of {', '.join(FORMATS)}")
    if language not in ("en", "ms"):
        raise InputError(f"--language must be en or ms, not {language!r}")
    store = Store.of(store)
    from mmdata.paths import folder_to_write

    out = folder_to_write(out, "--out")
    if out.exists() and any(out.iterdir()):
        raise InputError(f"{out} exists and is not empty; pick a new folder")
    from importlib import import_module

    writer = import_module(f"mmdata.exporters.{format}")
    from mmdata.exporters.common import VersionReader

    with VersionReader(store, ref) as reader:
        if format in ("llava", "sharegpt", "mmtrain") and reader.version.record_kind != "conversation":
            raise InputError(f"{format} holds conversations; {reader.version} holds {reader.version.record_kind} records")
        # Written beside ``out`` and renamed at the end: a failed or killed export leaves no
        # half-written folder that a trainer could take for a whole one.
        out.parent.mkdir(parents=True, exist_ok=True)
        partial = out.parent / f".{out.name}.partial-{uuid.uuid4().hex[:8]}"
        partial.mkdir()
        try:
            counts = writer.write(reader, partial, language=language, progress=progress)
            if out.exists():
                out.rmdir()  # checked empty above
            partial.rename(out)
        finally:
            shutil.rmtree(partial, ignore_errors=True)
    return {"version": str(reader.version), "format": format, "out": str(out), **counts}
