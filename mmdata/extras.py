"""Optional extras (``pip install 'mmdata[crawl]'`` ...): a missing one is an error that says what to install."""

from __future__ import annotations

import importlib
from types import ModuleType

from mmdata.errors import MmdataError


class MissingExtra(MmdataError, ImportError):
    """An optional dependency is not installed. Also an ImportError, so callers that treat a missing
    extra as "skip this step" (the demo) still do."""


def import_extra(module: str, extra: str, needed_by: str) -> ModuleType:
    """``module``, or MissingExtra naming the extra that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtra(f"{needed_by} needs {module}, which is not installed: pip install 'mmdata[{extra}]'") from exc
