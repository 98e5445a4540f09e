"""Review flags: a person marks a record of a dataset (bad translation, wrong answer, bad media,
other) with a note; ``mix`` specs may then leave flagged records out (``exclude_flagged: true``).

Flags live in the store's bookkeeping table ``_flags`` (one row a flag: dataset, record key, the
record id it was given on, flag, note, who, created_at, cleared_at), so ``mmdata query "SELECT *
FROM _flags"`` reads them. A flag names a record by its key, the identity a record keeps across
versions, so it still holds for the same record in later versions. Clearing a flag sets
``cleared_at`` and keeps the row: the history of a review stays.
"""

from __future__ import annotations

import getpass
from datetime import UTC, datetime

import duckdb

from mmdata.errors import InputError, NotFoundError
from mmdata.store.lake import Store, fetch_dicts
from mmdata.store.versions import resolve, split_ref

FLAGS = ("bad-translation", "wrong-answer", "bad-media", "other")
_MAX_NOTE, _MAX_WHO = 2000, 100
_COLUMNS = "dataset, key, record_id, flag, note, who, created_at, cleared_at"


def check_flag(flag: str) -> str:
    """``flag`` if it is one of ``FLAGS``, else an InputError listing them."""
    if flag not in FLAGS:
        raise InputError(f"unknown flag {flag!r}: use one of {', '.join(FLAGS)}")
    return flag


def reviewer(who: str | None) -> str:
    """The reviewer's name as given (trimmed), or the OS user's when none is given."""
    who = (who or "").strip()
    if not who:
        try:
            who = getpass.getuser()
        except (KeyError, OSError):  # a container user without a passwd entry or $USER
            who = "unknown"
    if len(who) > _MAX_WHO:
        raise InputError(f"reviewer name too long ({len(who)} characters; at most {_MAX_WHO})")
    return who


def flag(store: Store | str | None, dataset: str, key: str, flag: str, note: str = "", who: str | None = None, wait=None) -> dict:
    """Flag the record with ``key`` in ``dataset`` (a name, or ``name@V`` to find the key in that
    version; the newest by default) as ``flag``, with a ``note``; ``who`` defaults to the OS user.
    The flag row as stored."""
    check_flag(flag)
    note = (note or "").strip()
    if len(note) > _MAX_NOTE:
        raise InputError(f"note too long ({len(note)} characters; at most {_MAX_NOTE})")
    who = reviewer(who)
    store = Store.of(store)
    name, _ = split_ref(dataset)
    with store.transaction(wait, locks=["_flags"]) as con:
        record_id = _record_id(con, dataset, key)
        row = {
            "dataset": name,
            "key": key,
            "record_id": record_id,
            "flag": flag,
            "note": note,
            "who": who,
            "created_at": _now(),
            "cleared_at": None,
        }
        con.execute(f"INSERT INTO lake._flags ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", list(row.values()))
    return row


def clear_flag(store: Store | str | None, dataset: str, key: str, flag: str | None = None, wait=None) -> int:
    """Clear the active flags of ``key`` in ``dataset`` (only those named ``flag`` when given): they
    stay in ``_flags`` with ``cleared_at`` set. How many were cleared (0: none was active)."""
    if flag is not None:
        check_flag(flag)
    store = Store.of(store)
    name, _ = split_ref(dataset)
    with store.transaction(wait, locks=["_flags"]) as con:
        resolve(con, name)  # an unknown dataset is a NotFoundError, not "0 cleared"
        where = "dataset = ? AND key = ? AND cleared_at IS NULL" + (" AND flag = ?" if flag else "")
        params = [name, key, *([flag] if flag else [])]
        (cleared,) = con.execute(f"SELECT count(*) FROM lake._flags WHERE {where}", params).fetchone()
        if cleared:
            con.execute(f"UPDATE lake._flags SET cleared_at = ? WHERE {where}", [_now(), *params])
    return cleared


def flags(
    store: Store | str | None = None, dataset: str | None = None, key: str | None = None, active: bool = True
) -> list[dict]:
    """The flags (of ``dataset``, of its record ``key``), oldest first; ``active=False`` adds the
    cleared ones."""
    store = Store.of(store)
    if not store.exists:
        return []
    with store.reader() as con:
        return _select(con, split_ref(dataset)[0] if dataset else None, [key] if key is not None else None, active)


def flags_for(store: Store | str | None, dataset: str, keys: list[str]) -> dict[str, list[dict]]:
    """The active flags of each of ``keys`` in ``dataset`` (a page's records), in one query:
    key -> its flags, oldest first (keys without flags are absent)."""
    store = Store.of(store)
    if not keys or not store.exists:
        return {}
    out: dict[str, list[dict]] = {}
    with store.reader() as con:
        for row in _select(con, split_ref(dataset)[0], list(keys), True):
            out.setdefault(row["key"], []).append(row)
    return out


def flagged_keys(con: duckdb.DuckDBPyConnection, datasets: list[str]) -> set[tuple[str, str]]:
    """The (dataset, key) pairs of ``datasets`` with an active flag, on an open connection (``mix``)."""
    if not datasets:
        return set()
    rows = _select(con, None, None, True, datasets)
    return {(row["dataset"], row["key"]) for row in rows}


def _select(con, dataset: str | None, keys: list[str] | None, active: bool, datasets: list[str] | None = None) -> list[dict]:
    if not _has_flags_table(con):
        return []
    where, params = [], []
    if dataset is not None:
        where.append("dataset = ?")
        params.append(dataset)
    if datasets is not None:
        where.append("list_contains(?, dataset)")
        params.append(list(datasets))
    if keys is not None:
        where.append("list_contains(?, key)")
        params.append(list(keys))
    if active:
        where.append("cleared_at IS NULL")
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    return fetch_dicts(con, f"SELECT {_COLUMNS} FROM lake._flags {clause} ORDER BY created_at, dataset, key", params)


def _has_flags_table(con) -> bool:
    # A store made before flags existed gets the table at its next write: until then it has none.
    try:
        con.execute("SELECT 1 FROM lake._flags LIMIT 0")
    except duckdb.CatalogException:
        return False
    return True


def _record_id(con, dataset: str, key: str) -> str:
    """The id of the record with ``key`` in version ``dataset`` (newest when unversioned)."""
    ref = resolve(con, dataset)
    row = con.execute(f"SELECT id FROM {ref.relation} WHERE key = ? LIMIT 1", [key]).fetchone()
    if row is None:
        raise NotFoundError(f"no record with key {key!r} in {ref} (flags name a record of the version shown)")
    return row[0]


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)
