"""``import_``: bring an existing dataset into the store as a new version."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from mmdata.errors import InputError
from mmdata.formats import Source, open_source
from mmdata.formats.base import Item
from mmdata.ingest import MediaResolver, RepeatedRecords, item_problems
from mmdata.progress import ProgressCallback, silent
from mmdata.records import Violation
from mmdata.schemas.check import RecordChecker
from mmdata.shard import parse_shard
from mmdata.store.commit import commit_staged
from mmdata.store.journal import RunJournal
from mmdata.store.lake import Store
from mmdata.store.media import sha256_file
from mmdata.store.tables import arrow_schema, to_row
from mmdata.store.versions import Lineage, check_name, list_versions
from mmdata.tally import RejectTally

MAX_REJECT_SAMPLES = 20


@dataclass
class ImportResult:
    dataset: str
    format: str
    record_kind: str
    version: int | None = None
    read: int = 0
    added: int = 0
    changed: int = 0
    removed: int = 0
    unchanged: int = 0
    duplicates: int = 0
    rejected: int = 0
    rejects_by_rule: dict = field(default_factory=dict)
    reject_samples: list = field(default_factory=list)
    message: str = ""

    @property
    def imported(self) -> int:
        return self.added + self.changed

    @property
    def skipped(self) -> int:
        return self.unchanged + self.duplicates


def _input_hashes(files: list[Path], root: Path) -> list[dict]:
    return [
        {
            "path": str(p.relative_to(root)) if p.is_relative_to(root) else str(p),
            "sha256": sha256_file(p),
            "bytes": p.stat().st_size,
        }
        for p in files
    ]


def _already_imported(store: Store, dataset: str, inputs: list[dict]) -> int | None:
    """The version that imported exactly these input files already, if any."""
    if not store.exists:
        return None
    wanted = sorted(i["sha256"] for i in inputs)
    with store.reader() as con:
        for version in reversed(list_versions(con, dataset)):
            if version["command"] == "import" and sorted(i["sha256"] for i in version["inputs"] or []) == wanted:
                return version["version"]
    return None


def _row_count(store: Store, dataset: str) -> int:
    if not store.exists:
        return 0
    with store.reader() as con:
        if not list_versions(con, dataset):
            return 0
        return con.execute(f'SELECT count(*) FROM lake."{dataset}"').fetchone()[0]


def _stage(src: Source, resolver: MediaResolver, journal: RunJournal, progress: ProgressCallback) -> tuple[int, RejectTally]:
    """Read every item of ``src`` into ``journal``: valid rows, their media, and rejects with file, line
    and rule. Returns how many items were read, and the rejects' tally."""
    checker = RecordChecker(src.record_kind)
    tally = RejectTally(samples=MAX_REJECT_SAMPLES)
    repeated = RepeatedRecords(src.record_kind)
    read = 0
    for item in src.items:
        read += 1
        problems = item_problems(item, src.record_kind, resolver, checker)
        row = None if problems else to_row(src.record_kind, item.record)
        problems = problems or repeated.check(item.line, row)
        if problems:
            _reject(src, item, problems, tally, journal)
        else:
            journal.records.add(row)
        if read % 1000 == 0:
            progress("reading", read, None)
    progress("reading", read, read)
    for info in resolver.seen.values():
        journal.media.add(info.row())
    return read, tally


def _reject(src: Source, item: Item, problems: list[Violation], tally: RejectTally, journal: RunJournal) -> None:
    raw = item.raw if isinstance(item.raw, str) else json.dumps(item.raw, ensure_ascii=False, default=str)
    found = [
        {
            "file": str(src.path / item.file if item.file else src.path),
            "line": item.line,
            "field_path": problem.path,
            "rule": problem.rule,
            "message": problem.message,
        }
        for problem in problems
    ]
    tally.add(*found)
    for problem in found:
        journal.rejects.add({**problem, "record": raw[:4000]})


def _message(result: ImportResult, path: Path) -> str:
    if result.version is None:
        return f"nothing new in {path} for {result.dataset}: {result.skipped} skipped, {result.rejected} rejected"
    removed = f", {result.removed} removed" if result.removed else ""
    return (
        f"{result.dataset}@{result.version}: {result.imported} imported, {result.rejected} rejected, "
        f"{result.skipped} skipped{removed}"
    )


def import_(
    source: str | Path,
    into: str,
    store: Store | str | None = None,
    format: str | None = None,
    media_root: str | Path | None = None,
    replace: bool = False,
    wait: float | None = None,
    progress: ProgressCallback = silent,
    allow_empty: bool = False,
) -> ImportResult:
    """Import ``source`` into dataset ``into``, creating version ``into@N`` when anything changed.

    Records are upserted by key (see ``tables.record_key``): new ones are added, edited ones
    change, identical ones are skipped; ``replace=True`` also removes records missing from the
    input, and refuses to empty a dataset (every line rejected) unless ``allow_empty``. Invalid
    records go to the rejects with file, line, field path and rule; so does a record that repeats
    an earlier one's input id (or, for media records, its media) with other content.
    """
    store = Store.of(store)
    check_name(into)
    src = open_source(source, format, media_root)
    result = ImportResult(into, src.format, src.record_kind)
    base = src.path if src.path.is_dir() else src.path.parent
    inputs = _input_hashes(src.files, base)
    done = _already_imported(store, into, inputs)
    if done is not None and not replace:
        result.message = f"{src.path} was already imported as {into}@{done}; nothing added"
        return result

    resolver = MediaResolver(store.media, src.media_root)
    journal = RunJournal(store.runs, "import", arrow_schema(src.record_kind))
    result.read, tally = _stage(src, resolver, journal, progress)
    staged = journal.close()
    result.rejected, result.rejects_by_rule, result.reject_samples = tally.items, tally.rules(), tally.samples
    held = _row_count(store, into) if replace and not allow_empty and staged.get("records") is None else 0
    if held:
        journal.remove()
        reasons = tally.most_common(3) or "the input has no records"
        raise InputError(
            f"refusing to replace {into} ({held} records) with nothing: all {result.read} "
            f"records read were rejected ({reasons}); check it with mmdata validate {source}, "
            "or pass --allow-empty to empty the dataset"
        )

    lineage = Lineage(
        command="import",
        arguments={
            "source": str(source),
            "format": src.format,
            "media_root": str(media_root) if media_root else None,
            "replace": replace,
            "allow_empty": allow_empty,
        },
        inputs=inputs,
    )
    committed = commit_staged(
        store,
        into,
        src.record_kind,
        staged,
        lineage,
        journal.run_id,
        counts={"read": result.read, "rejected": result.rejected},
        replace=replace,
        wait=wait,
        progress=progress,
    )
    journal.remove()
    result.version = committed.version
    result.added, result.changed, result.removed, result.unchanged = (
        committed.added,
        committed.changed,
        committed.removed,
        committed.unchanged,
    )
    result.duplicates = result.read - result.rejected - committed.staged
    result.message = _message(result, src.path)
    return result


def import_each(
    sources: list[str | Path],
    into: str,
    store: Store | str | None = None,
    *,
    shard: str | None = None,
    format: str | None = None,
    media_root: str | Path | None = None,
    wait: float | None = None,
    progress: ProgressCallback = silent,
    allow_empty: bool = False,
) -> list[ImportResult]:
    """Import several ``sources`` into ``into``, one after another, each as ``import_`` does (its own
    version when anything changed). ``shard="i/n"`` imports only the sources at positions i, i+n, ...:
    n machines or processes (``mmdata import A B C --executor ...``) share a list of files."""
    index, count = parse_shard(shard)
    mine = list(sources)[index::count]
    return [
        import_(
            source,
            into,
            store,
            format=format,
            media_root=media_root,
            wait=wait,
            progress=progress,
            allow_empty=allow_empty,
        )
        for source in mine
    ]
