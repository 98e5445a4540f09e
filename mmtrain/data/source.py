"""Where a run's records come from: an export folder as it is, or a store's ``NAME[@V]`` exported first.

Exporting goes through ``mmdata``'s public ``export`` function (the same as ``mmdata export
--format mmtrain``), so the trainer still reads only the documented training-record format.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from mmtrain.errors import ConfigError


def mixture_folder(mixture: str, store: str | None, cache_dir: str | Path) -> Path:
    """The export folder for ``mixture``: itself when it is a folder, else an export of the store's version
    (``NAME`` and ``NAME@tag`` resolved to ``NAME@N``) into ``cache_dir/NAME@N``, reused when that exact
    version was exported before — so under a launcher the main process exports and the other ranks reuse it."""
    folder = Path(mixture)
    if folder.is_dir():
        if not (folder / "train.jsonl").exists():
            raise ConfigError(
                f"{folder} is a folder without train.jsonl: export a mixture with "
                f"`mmdata export NAME --format mmtrain --out {folder}`"
            )
        return folder
    try:
        from mmdata import export, show
        from mmdata.errors import MmdataError
    except ImportError:
        raise ConfigError(
            f"data.mixture {mixture!r} is not a folder, and mmdata is not installed to export it from a store"
        ) from None
    try:
        version = show(mixture, store, limit=0)["version"]  # NAME or NAME@tag -> NAME@N
    except MmdataError as exc:
        raise ConfigError(f"data.mixture {mixture!r}: {exc}") from None
    target = Path(cache_dir) / version
    if (target / "train.jsonl").exists():  # exported before (by this run's main process, or an earlier run)
        return target
    staging = Path(cache_dir) / f".exporting-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.parent.mkdir(parents=True, exist_ok=True)
    try:
        export(version, "mmtrain", staging, store=store)
    except MmdataError as exc:
        raise ConfigError(f"data.mixture {mixture!r}: {exc}") from None
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return target
