"""The store's single-writer lock.

DuckLake over a SQLite catalog lets readers run beside a writer, but two writers collide at
commit ("database is locked") after one of them has done all its work. We serialise writers
with an advisory lock file instead, so the second writer waits (up to a timeout) or gets a
clear "store is busy" error before doing anything. The kernel drops the lock when a process
dies, so a killed writer never leaves the store locked.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mmdata.errors import StoreBusyError
from mmdata.options import at_least

DEFAULT_WAIT_SECONDS = float(os.environ.get("MMDATA_LOCK_WAIT", "30"))


def _holder(path: Path) -> str:
    try:
        info = json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        return "another process"
    return f"pid {info.get('pid', '?')} ({info.get('command', '?')})"


@contextmanager
def write_lock(path: Path, wait: float | None = None) -> Iterator[None]:
    """Hold the exclusive write lock at ``path``; wait up to ``wait`` seconds, then raise StoreBusyError."""
    at_least(0, wait=wait)
    wait = DEFAULT_WAIT_SECONDS if wait is None else wait
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + wait
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise StoreBusyError(
                        f"store is busy: {_holder(path)} is writing to {path.parent}; "
                        f"retry later or wait longer (--wait SECONDS, now {wait:g})"
                    ) from None
                time.sleep(0.1)
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"pid": os.getpid(), "command": " ".join(sys.argv[:3])}).encode())
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the flock
