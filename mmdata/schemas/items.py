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


class RepeatedRecords:
    """Within one input, a record that reuses an earlier one's identity with other content.

    Identity is the row's key when it is not the content itself: the input's id for a conversation,
    the media for a media record. A later line with the same identity and the same content is a
    plain duplicate (the commit keeps one); with other content it is refused here, naming the line
    that is kept, so nothing is merged without a rule. Only such keys are remembered.
    """

    def __init__(self, record_kind: str):
        self.record_kind = record_kind
        self.first: dict[str, tuple[int, str]] = {}

    def check(self, line: int, row: dict) -> list[Violation]:
        """[] when ``row`` (from ``tables.to_row``) may be stored, else why not."""
        if row["key"] == row["id"]:  # keyed by its content: it cannot clash with a different record
            return []
        first_line, first_id = self.first.setdefault(row["key"], (line, row["id"]))
        if first_id == row["id"]:
            return []
        if self.record_kind == "conversation":
            return [Violation("source_id", "duplicate-id", f"the input gave line {first_line} this id, with other content; "
                                                           f"line {first_line} is kept")]
        return [Violation("media_id", "duplicate-media", f"line {first_line} has the same media with other fields; "
                                                         f"line {first_line} is kept")]
