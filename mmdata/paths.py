"""Checks on paths the user names for us to write, before anything is written.

A file where a folder belongs (``--store``, ``--out``) otherwise surfaces as FileExistsError or
NotADirectoryError from deep inside a run, after work was done.
"""

from __future__ import annotations

from pathlib import Path

from mmdata.errors import InputError


def _blocking_file(path: Path) -> Path | None:
    """The first existing file among ``path``'s parents, which would make creating ``path`` fail."""
    for parent in reversed(path.absolute().parents):
        if parent.exists() and not parent.is_dir():
            return parent
    return None


def folder_to_write(path: str | Path, what: str) -> Path:
    """``path`` as a folder we may create or write into; InputError naming ``what`` (e.g. "--out") otherwise."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise InputError(f"{what} {path}: is a file; give a folder")
    blocking = _blocking_file(path)
    if blocking is not None:
        raise InputError(f"{what} {path}: {blocking} is a file, so no folder can be made under it")
    return path


def file_to_write(path: str | Path, what: str) -> Path:
    """``path`` as a file we may create or replace; InputError naming ``what`` otherwise."""
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{what} {path}: is a folder; give a file name")
    blocking = _blocking_file(path)
    if blocking is not None:
        raise InputError(f"{what} {path}: {blocking} is a file, so no folder can be made under it")
    return path
