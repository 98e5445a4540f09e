"""Every export format, in one list: ``--format`` names, the CLI's help and the docs' table."""

from __future__ import annotations

from mmdata.errors import InputError
from mmdata.exporters import hf, jsonl, llava, mmtrain, sharegpt
from mmdata.exporters.exporter import Exporter

EXPORTERS: tuple[Exporter, ...] = (
    jsonl.EXPORTER,
    hf.EXPORTER,
    llava.EXPORTER,
    sharegpt.EXPORTER,
    mmtrain.EXPORTER,
)


def names() -> list[str]:
    """The ``export --format`` names, in registry order."""
    return [exporter.name for exporter in EXPORTERS]


def help_text() -> str:
    """The help of ``export --format``: the names, ``|``-separated."""
    return "|".join(names())


def get(name: str) -> Exporter:
    """The exporter called ``name``; InputError naming the choices otherwise."""
    for exporter in EXPORTERS:
        if exporter.name == name:
            return exporter
    raise InputError(f"unknown export format {name!r}; one of {', '.join(names())}")
