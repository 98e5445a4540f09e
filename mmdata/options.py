"""Range checks for numeric arguments, in the library so the Python API refuses what the CLI refuses.

Keywords are the parameters' CLI names with ``-`` spelled ``_`` (``give_up_after`` is
``--give-up-after``), so each refusal names the option a user typed. ``None`` means "not given".
"""

from __future__ import annotations

from mmdata.errors import InputError


def _option(name: str) -> str:
    return "--" + name.replace("_", "-")


def at_least(least: float, **values: float | None) -> None:
    """InputError unless every given value is at least ``least`` (NaN never is)."""
    for name, value in values.items():
        if value is not None and not value >= least:
            raise InputError(f"{_option(name)} must be at least {least:g}, not {value:g}")


def more_than(bound: float, **values: float | None) -> None:
    """InputError unless every given value is more than ``bound`` (NaN never is)."""
    for name, value in values.items():
        if value is not None and not value > bound:
            raise InputError(f"{_option(name)} must be more than {bound:g}, not {value:g}")
