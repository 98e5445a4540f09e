"""``copy``: one dataset version from one store into another (laptop -> team store, and back).

The rows go over as they are (keys and ids unchanged), so the destination version holds exactly
the source version's records and ``diff`` across the two stores' copies shows nothing. The media
the rows name are sent first, each put only when the destination lacks it: a copy that was
killed half-way, run again, sends only the rest, and a copy already done sends nothing and
makes no version. The new version's lineage names the source and carries the source's own
lineage chain, so ``mmdata log`` on the destination still tells where the data came from.
"""

from __future__ import annotations

import os
from concurrent import futures
from dataclasses import dataclass, field

from mmdata.progress import ProgressCallback, silent
from mmdata.records import MEDIA_FIELDS, SINGLE_MEDIA
from mmdata.store.commit import CommitResult, commit_staged
from mmdata.store.journal import RunJournal
from mmdata.store.lake import Rollback, Store, fetch_dicts
from mmdata.store.tables import arrow_schema
from mmdata.store.versions import Lineage, VersionRef, check_name, list_versions, resolve, set_tag

# The lineage fields of a source version that travel with a copy (not its snapshot id: that is the source catalog's).
_CHAIN_FIELDS = ("dataset", "version", "record_kind", "created_at", "command", "arguments", "parents", "inputs", "counts")
_BATCH_ROWS = 50_000


@dataclass
class CopyResult:
    source: str  # "<source store>:name@V"
    dataset: str  # the name in the destination store
    version: int | None = None  # the new version; None when the destination already held these rows
    records: int = 0
    added: int = 0
    changed: int = 0
    removed: int = 0
    unchanged: int = 0
    media: int = 0  # distinct media the rows name
    media_sent: int = 0
    media_skipped: int = 0  # already in the destination
    tags: list[str] = field(default_factory=list)  # tags set in the destination
    message: str = ""


def store_address(store: Store) -> str:
    """How lineage names a store: its catalog for a team store (shared by everyone, no password),
    its folder for a local one."""
    return store.where() if store.team else os.path.abspath(store.root)


def copy(
    ref: str,
    to: Store | str | os.PathLike,
    store: Store | str | os.PathLike | None = None,
    *,
    into: str | None = None,
    tags: bool = False,
    wait: float | None = None,
    progress: ProgressCallback = silent,
    workers: int = 8,
) -> CopyResult:
    """Copy version ``ref`` (``name``, ``name@N``, ``name@tag``) of ``store`` into the store ``to``
    as dataset ``into`` (default: the same name), as one new version when anything differs.

    The destination version holds exactly the source version's rows (records it had that the
    source lacks are removed), with their keys and ids; the media they name are put into the
    destination's media first (``workers`` at a time), each only when missing there; their
    ``_media`` rows come along. ``tags``: also point the source version's tags at the copy.
    A destination dataset of another record kind is refused.
    """
    src, dst = Store.of(store), Store.of(to)
    with src.reader() as con:
        version = resolve(con, ref)
        chain = [v for v in list_versions(con, version.dataset) if v["version"] <= version.version]
        media = _media_rows(con, version)
    name = check_name(into or version.dataset)
    source = f"{store_address(src)}:{version}"
    result = CopyResult(source=source, dataset=name, media=len(media))
    _send_media(src, dst, media, result, progress, workers)

    journal = RunJournal(dst.runs, "copy", arrow_schema(version.record_kind))
    try:
        result.records = _stage(src, version, journal, media, progress)
        staged = journal.close()
        lineage = Lineage(
            command="copy",
            arguments={"store": store_address(src), "version": str(version), "into": name, "tags": tags},
            parents=[source],
            inputs=[{k: v.get(k) for k in _CHAIN_FIELDS} for v in chain],
        )
        committed = commit_staged(
            dst,
            name,
            version.record_kind,
            staged,
            lineage,
            journal.run_id,
            counts={"records": result.records, "media": result.media},
            replace=True,
            wait=wait,
            progress=progress,
            unique_keys=True,  # a version's keys are unique: the rows go in as they are, no key re-pairing
        )
    finally:
        journal.remove()  # nothing in it is worth resuming: reading the source again is cheap
    _take(committed, result)
    if tags:
        wanted = next(v["tags"] for v in chain if v["version"] == version.version)
        result.tags = _copy_tags(dst, name, committed.version, wanted, wait)
    result.message = _message(result)
    return result


def _media_rows(con, version: VersionRef) -> list[dict]:
    """Each distinct media id the version's rows name, with its ``_media`` row where there is one."""
    if version.record_kind in MEDIA_FIELDS:
        lists = ", ".join(f"coalesce({f}, [])" for f in MEDIA_FIELDS[version.record_kind])
        ids = f"SELECT DISTINCT unnest(flatten([{lists}])) AS id FROM {version.relation}"
    elif version.record_kind in SINGLE_MEDIA:
        ids = f"SELECT DISTINCT media_id AS id FROM {version.relation} WHERE media_id IS NOT NULL"
    else:
        return []
    # _media may hold an id twice (two writers adding the same file at once): any one row will do.
    return fetch_dicts(
        con,
        f"""SELECT i.id, m.* EXCLUDE (id) FROM ({ids}) i
            LEFT JOIN (SELECT * FROM lake._media QUALIFY row_number() OVER (PARTITION BY id) = 1) m ON m.id = i.id
            ORDER BY i.id""",
    )


def _send_media(src: Store, dst: Store, media: list[dict], result: CopyResult, progress: ProgressCallback, workers: int) -> None:
    """Put every media file the rows name into ``dst`` unless it is there; a failure stops the rest
    (what went up stays up, so running the copy again resumes)."""
    if not media:
        return

    def send(row: dict) -> bool:
        if dst.media.has(row["id"]):
            return False
        path = src.media.path(row["id"])  # downloads into the source's cache when the source is a bucket
        return dst.media.put(path, row["id"], row["ext"] or path.suffix)

    done = 0
    progress("media", 0, len(media), "0 sent, 0 skipped")
    with futures.ThreadPoolExecutor(max(1, workers)) as pool:
        pending = {pool.submit(send, row) for row in media}
        while pending:
            finished, pending = futures.wait(pending, return_when=futures.FIRST_EXCEPTION)
            for future in finished:
                if future.exception() is not None:
                    for other in pending:
                        other.cancel()
                    raise future.exception()
                done += 1
                if future.result():
                    result.media_sent += 1
                else:
                    result.media_skipped += 1
            progress("media", done, len(media), f"{result.media_sent} sent, {result.media_skipped} skipped")


def _stage(src: Store, version: VersionRef, journal: RunJournal, media: list[dict], progress: ProgressCallback) -> int:
    """The version's rows and its media's ``_media`` rows into ``journal``; how many rows."""
    columns = ", ".join(f'"{c}"' for c in journal.records.schema.names)
    with src.reader() as con:
        (total,) = con.execute(f"SELECT count(*) FROM {version.relation}").fetchone()
        batches = con.execute(f"SELECT {columns} FROM {version.relation}").to_arrow_reader(_BATCH_ROWS)
        for batch in batches:
            journal.records.add_batch(batch)
            progress("reading", journal.records.count, total)
    progress("reading", total, total)
    for row in media:
        if row["ext"] is not None:  # media the source never described stay undescribed
            journal.media.add(row)
    return total


def _take(committed: CommitResult, result: CopyResult) -> None:
    result.version = committed.version
    result.added, result.changed = committed.added, committed.changed
    result.removed, result.unchanged = committed.removed, committed.unchanged


def _copy_tags(dst: Store, name: str, made: int | None, tags: list[str], wait: float | None) -> list[str]:
    """Point ``tags`` at the copy (the new version, or the newest one, which already held these
    rows); the tags that were set. Tags already pointing there are left alone."""
    if not tags:
        return []
    moved: list[str] = []
    with dst.transaction(wait, locks=[name]) as con:
        if not made and not list_versions(con, name):
            raise Rollback  # an empty source version made no dataset to tag
        target = resolve(con, f"{name}@{made}" if made else name)
        for tag in tags:
            row = con.execute("SELECT version FROM lake._tags WHERE dataset = ? AND tag = ?", [name, tag]).fetchone()
            if not row or row[0] != target.version:
                set_tag(con, target, tag)
                moved.append(tag)
        if not moved:
            raise Rollback
    return moved


def _message(result: CopyResult) -> str:
    media = f"media: {result.media_sent} sent, {result.media_skipped} already there"
    tags = f"; tagged {', '.join('@' + t for t in result.tags)}" if result.tags else ""
    if result.version is None:
        return f"{result.dataset} already holds {result.source} ({result.records} records); no new version; {media}{tags}"
    removed = f", {result.removed} removed" if result.removed else ""
    return (
        f"{result.dataset}@{result.version}: copied {result.source}: {result.added} added, {result.changed} changed"
        f"{removed}, {result.unchanged} unchanged; {media}{tags}"
    )
