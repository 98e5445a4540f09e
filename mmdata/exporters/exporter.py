"""What an export format is: one object per format, in one file each, listed in ``registry.py``.

To add one, write ``mmdata/exporters/<name>.py`` defining ``EXPORTER = Exporter(...)`` and add it
to ``registry.EXPORTERS`` (docs/formats.md has a worked example).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mmdata.exporters.common import VersionReader
    from mmdata.progress import ProgressCallback


@dataclass(frozen=True)
class Exporter:
    """One export format.

    ``write(reader, out, language, progress)`` writes the records of ``reader``'s version into the
    empty folder ``out`` (``export`` renames it into place when it returns) and returns its counts:
    ``records``, ``skipped`` and, when some were left out, ``skipped_reasons``. ``language`` is
    ``en`` or ``ms``, for formats that hold one language. ``conversations_only``: the format holds
    conversations, and other record kinds are refused before anything is written.
    """

    name: str
    writes: str  # one line on what the folder holds: the CLI's help and the docs' table say it
    write: Callable[[VersionReader, Path, str, ProgressCallback], dict]
    conversations_only: bool = False
