"""Every import format, in one list: ``--format`` names, detection order, the CLI's help and the docs' table.

Detection asks first each format that recognises the input itself (``claims``: a
``dataset_info.json`` entry, a saved dataset, a folder of media), then the row layouts in the
order below for the first row (``matches``). The order is part of behaviour: a row with
``conversations`` and ``image`` is LLaVA before it is sharegpt.
"""

from __future__ import annotations

from pathlib import Path

from mmdata.errors import InputError
from mmdata.formats import audio_instruction, folder, hf, llava, native, relationship, sharegpt
from mmdata.formats.containers import first_row
from mmdata.formats.format import ImportFormat

FORMATS: tuple[ImportFormat, ...] = (
    audio_instruction.FORMAT,
    relationship.FORMAT,
    llava.FORMAT,
    sharegpt.FORMAT,
    native.FORMAT,
    hf.FORMAT,
    folder.FORMAT,
)


def names() -> list[str]:
    """The ``--format`` names, in registry order."""
    return [fmt.name for fmt in FORMATS]


def help_text() -> str:
    """The help of ``import --format``: every name, and that leaving it out detects the format."""
    *rest, last = names()
    return f"{', '.join(rest)} or {last} (default: detect)."


def get(name: str) -> ImportFormat:
    """The format called ``name``; InputError naming the choices otherwise."""
    for fmt in FORMATS:
        if fmt.name == name:
            return fmt
    raise InputError(f"unknown format {name!r}; one of {', '.join(names())}")


def layout_of(row: object) -> ImportFormat | None:
    """The first row layout ``row`` matches, or None."""
    return next((fmt for fmt in FORMATS if fmt.matches is not None and fmt.matches(row)), None)


def detect(path: Path) -> str:
    """The format of ``path``: one that claims the input itself, else the layout of its first row."""
    for fmt in FORMATS:
        if fmt.claims is not None and fmt.claims(path, layout_of):
            return fmt.name
    layout = layout_of(first_row(path))
    if layout is None:
        raise InputError(f"{path}: cannot tell the format from its first record; pass --format (one of {', '.join(names())})")
    return layout.name
