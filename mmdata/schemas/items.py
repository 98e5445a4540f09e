"""Check one input item end to end: readable, media resolvable, schema and rules."""

from __future__ import annotations

from mmdata.formats.base import Item
from mmdata.schemas.check import RecordChecker, Violation
from mmdata.store.resolve import MediaResolver, resolve_record_media


def item_problems(item: Item, record_kind: str, resolver: MediaResolver, checker: RecordChecker) -> list[Violation]:
    """Why ``item`` cannot be stored (empty when it can); resolves its media ids in place."""
    if item.error is not None:
        return [Violation(item.error.path, item.error.rule, str(item.error))]
    problems = resolve_record_media(item.record, record_kind, resolver)
    return problems or checker.check(item.record)
