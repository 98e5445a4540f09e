"""The last line of defence: an exception that is not one of ours is a bug, reported to a file.

The command line prints one line naming the report instead of a traceback, so a user sees that
the fault is ours and has something to attach to an issue; the traceback is never lost.
"""

from __future__ import annotations

import os
import platform
import sys
import tempfile
import time
import traceback
from pathlib import Path

# Tests grep for this: no bad input may reach the bug path.
BUG_MARKER = "this is a bug in"
EXIT_BUG = 70  # EX_SOFTWARE (sysexits.h): distinct from 1 (user error) and 2 (usage)

# module -> distribution
_PACKAGES = {
    "mmdata": "mmdata",
    "duckdb": "duckdb",
    "pyarrow": "pyarrow",
    "numpy": "numpy",
    "typer": "typer",
    "yaml": "PyYAML",
    "av": "av",
    "soundfile": "soundfile",
    "PIL": "pillow",
    "torch": "torch",
    "transformers": "transformers",
    "datasets": "datasets",
}


def crash_dir() -> Path:
    """``$MMDATA_CRASH_DIR``, else the user cache folder (``$XDG_CACHE_HOME/mmdata`` or ``~/.cache/mmdata``)."""
    if os.environ.get("MMDATA_CRASH_DIR"):
        return Path(os.environ["MMDATA_CRASH_DIR"]).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "mmdata"


def _redacted_argv(argv: list[str]) -> list[str]:
    """The command line without secrets (values of --api-key-like options, credentials in URLs)."""
    import re

    secret = re.compile(r"(key|token|secret|password|passwd|authorization)", re.I)
    out, hide_next = [], False
    for arg in argv:
        if hide_next:
            out.append("***")
            hide_next = False
            continue
        name, sep, _ = arg.partition("=")
        if arg.startswith("-") and secret.search(name) and "env" not in name:
            if sep:
                out.append(f"{name}=***")
            else:
                out.append(arg)
                hide_next = True
            continue
        out.append(re.sub(r"(://)[^/@\s]+@", r"\1***@", arg))
    return out


def _versions() -> list[str]:
    # Only what this process already loaded: importing torch here to name its version could itself fail.
    from importlib.metadata import PackageNotFoundError, version

    lines = []
    for module, distribution in _PACKAGES.items():
        if module in sys.modules:
            try:
                lines.append(f"  {distribution} {version(distribution)}")
            except PackageNotFoundError:
                lines.append(f"  {distribution} (not installed as a package)")
    return lines


def write_report(exc: BaseException, program: str = "mmdata", argv: list[str] | None = None) -> Path | None:
    """Write the traceback, command line and versions to a new file; its path, or None if nothing could be written."""
    argv = list(sys.argv if argv is None else argv)
    text = "\n".join(
        [
            f"{program} crash report, {time.strftime('%Y-%m-%d %H:%M:%S %z')}",
            f"command: {' '.join(_redacted_argv(argv))}",
            f"working folder: {os.getcwd()}",
            f"python {sys.version.split()[0]} on {platform.platform()}",
            "versions:",
            *_versions(),
            "",
            "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
        ]
    )
    name = f"crash-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.txt"
    for folder in (crash_dir(), Path(tempfile.gettempdir())):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / name
            path.write_text(text, encoding="utf-8")
            return path
        except OSError:
            continue
    return None


def bug_line(exc: BaseException, report: Path | None, program: str = "mmdata") -> str:
    """The one line the user sees: what happened, that it is our fault, and where the details are."""
    what = " ".join(f"{type(exc).__name__}: {exc}".split())
    if len(what) > 300:
        what = what[:297] + "..."
    where = f"the full report is in {report}" if report else "no report could be written"
    return f"unexpected {what} ({BUG_MARKER} {program}; {where}; please attach it to an issue)"
