"""Progress reporting without printing: the library calls a callback, the CLI draws it with rich."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol


class Progress(Protocol):
    def __call__(self, task: str, done: int, total: int | None = None, note: str | None = None) -> None:
        """``task`` names the phase ("reading", "committing"); ``done`` of ``total`` units (None: unknown);
        ``note`` is a short live figure to show beside the bar (rates, failures)."""


def silent(task: str, done: int, total: int | None = None, note: str | None = None) -> None:
    """The default callback: report nothing."""


ProgressCallback = Callable[..., None]
