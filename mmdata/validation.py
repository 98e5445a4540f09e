"""``validate``: check a stored dataset version, or a file before importing it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mmdata.errors import InputError
from mmdata.formats import open_source
from mmdata.formats.base import Item
from mmdata.ingest import MediaResolver, RepeatedRecords, item_problems
from mmdata.progress import ProgressCallback, silent
from mmdata.schemas.check import RecordChecker
from mmdata.store.lake import Store
from mmdata.store.tables import from_row, to_row
from mmdata.store.versions import NAME_RE, resolve
from mmdata.tally import RejectTally

MAX_SAMPLES = 20


@dataclass
class ValidationReport:
    target: str
    record_kind: str
    checked: int = 0
    invalid: int = 0
    by_rule: dict = field(default_factory=dict)
    samples: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.invalid == 0


def _stored_items(store: Store, ref_text: str):
    with store.reader() as con:
        ref = resolve(con, ref_text)
        reader = con.execute(f"SELECT * FROM {ref.relation} ORDER BY id").to_arrow_reader(5000)
        number = 0
        for batch in reader:
            for row in batch.to_pylist():
                number += 1
                yield Item(number, row["id"], record=from_row(ref.record_kind, row), file=str(ref))


def validate(
    target: str | Path,
    store: Store | str | None = None,
    format: str | None = None,
    media_root: str | Path | None = None,
    progress: ProgressCallback = silent,
) -> ValidationReport:
    """Check every record of ``target`` (``name``, ``name@N``, ``name@tag``, or a file/folder).

    All rules apply: JSON Schema, placeholders, roles, empty turns, fake Malay, and media that
    must exist and decode. Nothing is written.
    """
    store = Store.of(store)
    path = Path(target)
    if path.exists():
        source = open_source(path, format, media_root)
        kind, items = source.record_kind, source.items
        resolver = MediaResolver(None, source.media_root)
        repeated = RepeatedRecords(kind)  # what import would refuse across lines, too

        def where(item: Item) -> str:
            return str(path / item.file if item.file else path)
    else:
        if not NAME_RE.match(str(target).partition("@")[0]):
            raise InputError(f"{target}: no such file or folder, and not a dataset name")
        with store.reader() as con:
            kind = resolve(con, str(target)).record_kind
        items = _stored_items(store, str(target))
        resolver = MediaResolver(store.media, None)
        repeated = None  # a stored version holds each key once

        def where(item: Item) -> str:
            return item.file  # the version, e.g. "chats@2"; the line is the record's position in it

    report = ValidationReport(str(target), kind)
    checker = RecordChecker(kind)
    tally = RejectTally(samples=MAX_SAMPLES)
    for item in items:
        report.checked += 1
        problems = item_problems(item, kind, resolver, checker)
        if not problems and repeated:
            problems = repeated.check(item.line, to_row(kind, item.record))
        if problems:
            tally.add(
                *[
                    {
                        "file": where(item),
                        "line": item.line,
                        "field_path": problem.path,
                        "rule": problem.rule,
                        "message": problem.message,
                    }
                    for problem in problems
                ]
            )
        if report.checked % 1000 == 0:
            progress("validating", report.checked, None)
    report.invalid, report.by_rule, report.samples = tally.items, tally.rules(), tally.samples
    return report
