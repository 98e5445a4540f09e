"""Where a run's records come from: an export folder as it is, or a store's ``NAME[@V]`` exported first.

Exporting goes through ``mmdata``'s public ``export`` function (the same as ``mmdata export
--format mmtrain``), so the trainer still reads only the documented training-record format.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from mmtrain.errors import ConfigError


def mixture_folder(mixture: str, store: str | None, cache_dir: str | Path) -> Path:
    """The export folder for ``mixture``: itself when it is a folder, else a fresh export of the store's
    version into ``cache_dir/<name@V>`` (reused when that exact version was exported before)."""
    folder = Path(mixture)
    if folder.is_dir():
        if not (folder / "train.jsonl").exists():
            raise ConfigError(f"{folder} is a folder without train.jsonl: export a mixture with "
                              f"`mmdata export NAME --format mmtrain --out {folder}`")
        return folder
    try:
        from mmdata.errors import MmdataError
        from mmdata.exporters import export
    except ImportError:
        raise ConfigError(f"data.mixture {mixture!r} is not a folder, and mmdata is not installed to export it "
                          "from a store") from None
    cache = Path(cache_dir)
    if "@" in mixture and (cache / mixture / "train.jsonl").exists():
        return cache / mixture
    staging = cache / ".exporting"
    shutil.rmtree(staging, ignore_errors=True)
    staging.parent.mkdir(parents=True, exist_ok=True)
    try:
        result = export(mixture, "mmtrain", staging, store=store)
    except MmdataError as exc:
        raise ConfigError(f"data.mixture {mixture!r}: {exc}") from None
    target = cache / result["version"]
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return target
