"""Write locks: the local store's single-writer lock file, and per-dataset locks on a team catalog.

DuckLake over a SQLite catalog lets readers run beside a writer, but two writers collide at
commit ("database is locked") after one of them has done all its work. We serialise writers
with an advisory lock file instead, so the second writer waits (up to a timeout) or gets a
clear "store is busy" error before doing anything. The kernel drops the lock when a process
dies, so a killed writer never leaves the store locked.
"""

from __future__ import annotations

import fcntl
import hashlib
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


def _lock_key(name: str) -> int:
    # PostgreSQL advisory locks take one signed 64-bit key.
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


@contextmanager
def catalog_locks(conninfo: str, names: list[str], wait: float | None = None) -> Iterator[None]:
    """Hold PostgreSQL advisory locks on ``names`` (sorted, so two writers never wait on each other in
    a cycle) on a connection of our own; wait up to ``wait`` seconds, then raise StoreBusyError.

    The catalog's own transactions keep every commit atomic, but two writers into one dataset would
    both number their version N+1: a lock per dataset serialises exactly those commits, while
    commits into other datasets go ahead. PostgreSQL drops a session's locks when its connection
    ends, so a writer killed with -9 never leaves a dataset locked.
    """
    at_least(0, wait=wait)
    wait = DEFAULT_WAIT_SECONDS if wait is None else wait
    from mmdata.extras import import_extra

    psycopg = import_extra("psycopg", "team", "a team store's PostgreSQL catalog")
    from mmdata.store.address import hide_password

    application = f"mmdata pid {os.getpid()} ({' '.join(sys.argv[:3])})"[:63]
    try:
        con = psycopg.connect(conninfo, autocommit=True, application_name=application, connect_timeout=30)
    except psycopg.Error as exc:
        raise StoreBusyError(
            f"cannot reach the store catalog {hide_password(conninfo)}: {hide_password(str(exc)).strip()}"
        ) from None
    try:
        deadline = time.monotonic() + wait
        for name in sorted(set(names)):
            key = _lock_key(name)
            while not con.execute("SELECT pg_try_advisory_lock(%s)", [key]).fetchone()[0]:
                if time.monotonic() >= deadline:
                    raise StoreBusyError(
                        f"store is busy: {_lock_holder(con, key)} is writing to {name}; "
                        f"retry later or wait longer (--wait SECONDS, now {wait:g})"
                    )
                time.sleep(0.05)
        yield
    finally:
        con.close()  # ends the session, which releases its locks


def _lock_holder(con, key: int) -> str:
    row = con.execute(
        """SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
           WHERE l.locktype = 'advisory' AND l.granted
             AND ((l.classid::bigint << 32) | l.objid::bigint) = (%s::bigint)""",
        [key],
    ).fetchone()
    return row[0] if row and row[0] else "another writer"
