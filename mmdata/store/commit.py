"""Commit staged rows to a dataset as one new version: the single write path every job uses."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TypeVar

import duckdb

from mmdata.errors import InputError
from mmdata.progress import ProgressCallback, silent
from mmdata.store.lake import Rollback, Store
from mmdata.store.sql import sql_string
from mmdata.store.tables import arrow_schema
from mmdata.store.versions import Lineage, record_version

T = TypeVar("T")


@dataclass
class CommitResult:
    version: int | None = None  # None: nothing changed, no version made
    staged: int = 0  # distinct keys staged
    added: int = 0
    changed: int = 0
    removed: int = 0
    unchanged: int = 0

    @property
    def changes(self) -> int:
        return self.added + self.changed + self.removed


def commit_staged(
    store: Store,
    dataset: str,
    record_kind: str,
    staged: dict[str, Path | None],
    lineage: Lineage,
    run_id: str,
    counts: dict | None = None,
    replace: bool = False,
    wait: float | None = None,
    progress: ProgressCallback = silent,
    unique_keys: bool = False,
    adopt: bool = False,
) -> CommitResult:
    """Upsert ``staged["records"]`` (Parquet) into ``dataset`` by key, in one transaction.

    Staged conversations first take over the key of a stored record with the same content, and
    with ``replace`` of the one they replace where that can be told (see ``_pair_edits``). New keys are added, known keys with new content changed,
    identical rows skipped; with
    ``replace`` the keys missing from the staged rows are removed. A version is recorded only
    when something changed. ``staged["media"]`` rows join ``_media``; ``staged["rejects"]``
    join ``_rejects`` (even with no version; a reject already on record is not added twice, so
    committing the same journal again is harmless). ``counts`` go into the version's lineage.
    ``unique_keys``: the caller guarantees no key repeats in the staged rows, so they are read in
    place instead of being deduplicated into a temp table first (large mixtures).
    ``adopt`` (with ``replace`` and ``unique_keys``): the staged file already lies in the store's data
    path with the table's columns, so it becomes the dataset's only data file as it is, with no
    copy; the caller deletes it when no version was made.
    """
    progress("committing", 0, 1)
    locks = [dataset] + (["_media"] if staged.get("media") else [])

    def attempt() -> CommitResult:
        result = CommitResult()
        with store.transaction(wait, locks=locks) as con:
            _prepare(con, dataset, record_kind, staged.get("records"), unique_keys)
            if record_kind == "conversation" and not unique_keys:
                _pair_edits(con, dataset, near=replace)
            _upsert(con, dataset, result, replace, adopt=staged["records"] if adopt and replace and unique_keys else None)
            if result.changes:
                result.version = record_version(
                    con,
                    dataset,
                    record_kind,
                    lineage,
                    {**(counts or {}), **{k: v for k, v in asdict(result).items() if k != "version"}},
                )
            inserted = _add_rejects(con, dataset, result.version, run_id, staged.get("rejects"))
            if staged.get("media"):
                con.execute(
                    f"INSERT INTO lake._media SELECT * FROM read_parquet({sql_string(staged['media'])}) "
                    f"WHERE id NOT IN (SELECT id FROM lake._media)"
                )
            if not result.changes and not inserted:
                raise Rollback
            progress("committing", 1, 1)  # the rows are in; COMMIT is what is left
        return result

    return retry_conflicts(attempt)


def retry_conflicts(attempt: Callable[[], T], tries: int = 8) -> T:
    """``attempt()``, done again after a DuckLake transaction conflict (up to ``tries`` times).

    Our locks keep two commits off one dataset, but DuckLake may still see a conflict with a
    commit elsewhere in the lake (two datasets created at once): nothing of the failed
    transaction was kept, so doing all of it again is safe.
    """
    for n in range(1, tries + 1):
        try:
            return attempt()
        except duckdb.TransactionException as exc:
            if "conflict" not in str(exc).lower() or n == tries:
                raise
            time.sleep(random.uniform(0.05, 0.3) * n)
    raise AssertionError("unreachable")


def _prepare(con, dataset: str, record_kind: str, records: Path | None, unique_keys: bool = False) -> None:
    table = f'lake."{dataset}"'
    # A dataset's table is made with its first version and never dropped, so _versions says whether
    # it exists (listing the lake's tables costs 0.05 s after each commit: DuckLake reloads them all).
    row = con.execute(
        "SELECT record_kind FROM lake._versions WHERE dataset = ? ORDER BY version DESC LIMIT 1", [dataset]
    ).fetchone()
    if row and row[0] != record_kind:
        raise InputError(f"{dataset} holds {row[0]} records; these are {record_kind} records (use another dataset name)")
    if not row:
        con.register("empty_rows", arrow_schema(record_kind).empty_table())
        con.execute(f"CREATE TABLE IF NOT EXISTS {table} AS SELECT * FROM empty_rows")
    if records and unique_keys:
        con.execute(f"CREATE TEMP VIEW staged AS SELECT * FROM read_parquet({sql_string(records)})")
    elif records:
        # Later rows win over earlier rows with the same key.
        con.execute(f"""CREATE TEMP TABLE staged AS
                        SELECT * EXCLUDE (file_row_number) FROM read_parquet({sql_string(records)}, file_row_number = true)
                        QUALIFY row_number() OVER (PARTITION BY key ORDER BY file_row_number DESC) = 1""")
    else:
        con.execute(f"CREATE TEMP TABLE staged AS SELECT * FROM {table} LIMIT 0")


# What pairs an edited conversation with the one it replaces, strongest first: the same media and
# first question (an answer or a translation fixed), then the same media and context (the question
# reworded in a dialogue made from one clip and its transcript: the reference's one-file-per-dialogue
# layouts). Only conversations with media take part in the second.
_MATCHES = [
    "hash(kind, images, audios, list_filter(chat, lambda t: t.role = 'user')[1].content)",
    "CASE WHEN len(images) + len(audios) > 0 THEN hash(kind, images, audios, context) END",
]


def _pair_edits(con, dataset: str, near: bool) -> None:
    """Give staged conversations the key of the stored record they are, or replace.

    A conversation without an input id is keyed by its content, so an edited one arrives under a
    new key (and records stored by older versions have keys of another recipe). Before the
    upsert, each such staged row that matches no stored key is paired with a stored row no staged
    row claims: first one with the same content (the same record: its key is kept). With ``near``
    (an import that replaces the dataset, so a stored record the input lacks is going away), then
    by each of ``_MATCHES`` where exactly one waiting staged row and exactly one unclaimed stored
    row share the value. Paired rows take the stored key, so the upsert counts them as changed
    and ``diff`` shows them so; everything else stays a new record. Without ``near`` a record
    with new content is always added beside the stored ones: a second file with another answer
    to the same question is more data, not a correction. Nothing is merged on a guess with two
    candidates.
    """
    table = f'lake."{dataset}"'
    waiting = f"staged.key = staged.id AND staged.key NOT IN (SELECT key FROM {table})"
    (count,) = con.execute(f"SELECT count(*) FROM staged WHERE {waiting}").fetchone()
    if not count or not con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]:
        return
    matches = ", ".join(f"{m} AS m{i}" for i, m in enumerate(_MATCHES))
    con.execute(f"""CREATE TEMP TABLE unclaimed AS SELECT key, id, {matches} FROM {table}
                    WHERE key NOT IN (SELECT key FROM staged)""")
    con.execute(f"""UPDATE staged SET key = u.key FROM (SELECT id, min(key) AS key FROM unclaimed GROUP BY id) u
                    WHERE staged.id = u.id AND {waiting}""")
    for i, match in enumerate(_MATCHES if near else []):
        con.execute(f"""UPDATE staged SET key = p.old_key FROM (
                          SELECT s.key AS new_key, u.key AS old_key
                          FROM (SELECT key, {match} AS m FROM staged WHERE {waiting}
                                QUALIFY count(*) OVER (PARTITION BY m) = 1) s
                          JOIN (SELECT key, m{i} AS m FROM unclaimed WHERE key NOT IN (SELECT key FROM staged)
                                QUALIFY count(*) OVER (PARTITION BY m) = 1) u ON s.m = u.m) p
                        WHERE staged.key = p.new_key""")
    con.execute("DROP TABLE unclaimed")


def _upsert(con, dataset: str, result: CommitResult, replace: bool, adopt: Path | None = None) -> None:
    table = f'lake."{dataset}"'
    (result.staged,) = con.execute("SELECT count(*) FROM staged").fetchone()
    (existing,) = con.execute(f"SELECT count(*) FROM {table}").fetchone()  # from the catalog's statistics
    if not existing:  # a new or emptied dataset: every staged row is new, and comparing them costs a scan
        result.added = result.staged  # staged keys are distinct (deduplicated, or unique by the caller's word)
        if adopt is not None and result.changes:
            con.execute("CALL ducklake_add_data_files('lake', ?, ?)", [dataset, str(adopt)])
        elif result.changes:
            con.execute(f"INSERT INTO {table} SELECT * FROM staged")
        return
    result.unchanged, result.changed, result.added = con.execute(
        f"""SELECT count(*) FILTER (WHERE t.id = s.id),
                   count(*) FILTER (WHERE t.key IS NOT NULL AND t.id <> s.id),
                   count(*) FILTER (WHERE t.key IS NULL)
            FROM staged s LEFT JOIN (SELECT key, id FROM {table}) t ON s.key = t.key"""
    ).fetchone()
    if replace:
        (result.removed,) = con.execute(f"SELECT count(*) FROM {table} WHERE key NOT IN (SELECT key FROM staged)").fetchone()
    if adopt is not None:
        if result.changes:
            con.execute(f"DELETE FROM {table}")
            con.execute("CALL ducklake_add_data_files('lake', ?, ?)", [dataset, str(adopt)])
        return
    # Changed rows go out and come back with their new content; unchanged keys stay where they are.
    con.execute(f"DELETE FROM {table} WHERE key IN (SELECT s.key FROM staged s JOIN {table} t ON s.key = t.key AND s.id <> t.id)")
    if replace:
        con.execute(f"DELETE FROM {table} WHERE key NOT IN (SELECT key FROM staged)")
    con.execute(f"INSERT INTO {table} SELECT * FROM staged WHERE key NOT IN (SELECT key FROM {table})")


def _add_rejects(con, dataset: str, version: int | None, run_id: str, rejects: Path | None) -> int:
    if not rejects:
        return 0
    (before,) = con.execute("SELECT count(*) FROM lake._rejects WHERE dataset = ?", [dataset]).fetchone()
    con.execute(
        f"""INSERT INTO lake._rejects
            SELECT ?, ?, ?, s.file, s.line, s.field_path, s.rule, s.message, s.record FROM read_parquet({sql_string(rejects)}) s
            WHERE NOT EXISTS (SELECT 1 FROM lake._rejects r WHERE r.dataset = ? AND r.rule = s.rule
                              AND r.field_path = s.field_path AND r.record = s.record AND r.file = s.file
                              AND r.line IS NOT DISTINCT FROM s.line)""",
        [dataset, version, run_id, dataset],
    )
    (after,) = con.execute("SELECT count(*) FROM lake._rejects WHERE dataset = ?", [dataset]).fetchone()
    return after - before
