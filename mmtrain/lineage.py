"""What a checkpoint was made from: the mixture ``name@V`` and its spec hash, the config, the code.

Written as ``mmtrain.json`` into the output folder and into every ``checkpoint-N`` folder, so a
model found on a disk months later can be traced back to its data and rebuilt.
"""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import mmtrain

FILE = "mmtrain.json"


def git_commit() -> str | None:
    """The commit of the checkout mmtrain runs from (``+dirty`` with uncommitted changes); None if not a checkout."""
    here = Path(__file__).resolve().parent
    try:
        commit = subprocess.run(
            ["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(here), "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True, timeout=5
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return commit + ("+dirty" if dirty else "")


def build_lineage(config: dict, manifest: dict, mixture_folder: Path) -> dict:
    """The lineage record of a run: ``manifest`` is the export's ``mmdata.json``."""
    arguments = (manifest.get("lineage") or {}).get("arguments") or {}
    return {
        "mixture": manifest.get("ref") or (f"{manifest['dataset']}@{manifest['version']}" if "dataset" in manifest else None),
        "spec_hash": arguments.get("spec_hash"),
        "mixture_parents": (manifest.get("lineage") or {}).get("parents"),
        "mixture_folder": str(mixture_folder),
        "mmdata_version": manifest.get("tool_version"),
        "mmtrain_version": mmtrain.__version__,
        "git_commit": git_commit(),
        "config": config,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def write_lineage(folder: str | Path, lineage: dict, **extra) -> Path:
    path = Path(folder) / FILE
    path.write_text(json.dumps({**lineage, **extra}, indent=2, ensure_ascii=False) + "\n")
    return path


def read_lineage(folder: str | Path) -> dict | None:
    path = Path(folder) / FILE
    return json.loads(path.read_text()) if path.exists() else None
