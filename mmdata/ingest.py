"""From input items to records the store can take: media references resolved, then every check.

A reader (``mmdata.formats``) yields Items whose media fields hold references (paths, ids,
embedded bytes); here they become stored media ids, and the item is checked as import and
validate both need it: readable, media resolvable, schema and rules, and no identity reused
within the input.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from mmdata.errors import MediaError, MediaMissing
from mmdata.formats.base import FormatError, Item, media_ref
from mmdata.records import MEDIA_FIELDS, SINGLE_MEDIA, Violation
from mmdata.schemas.check import RecordChecker
from mmdata.store.media import MediaFolder, MediaInfo, is_media_id, probe


class MediaResolver:
    """Resolves references once each (cached), copying files into the store when ``folder`` is set.

    A reference is a path relative to ``media_root`` (or absolute), a media id already in the
    store or exported beside the input (``media/ab/<id>.<ext>``), or ``{"bytes", "path"}``.
    """

    def __init__(self, folder: MediaFolder | None, media_root: Path | None = None):
        self.folder = folder
        self.media_root = Path(media_root) if media_root else None
        self.seen: dict[str, MediaInfo] = {}
        self._cache: dict[object, MediaInfo | MediaError] = {}

    def __call__(self, ref) -> MediaInfo:
        key = (ref.get("path"), hash(ref.get("bytes"))) if isinstance(ref, dict) else ref
        if key not in self._cache:
            try:
                self._cache[key] = self._resolve(ref)
                self.seen[self._cache[key].id] = self._cache[key]
            except MediaError as exc:
                self._cache[key] = exc
        outcome = self._cache[key]
        if isinstance(outcome, MediaError):
            raise outcome
        return outcome

    def _file(self, path: Path) -> MediaInfo:
        return self.folder.add(path) if self.folder else probe(path)

    def _resolve(self, ref) -> MediaInfo:
        if isinstance(ref, dict):
            data, name = ref.get("bytes"), ref.get("path") or ""
            if data:
                return self._bytes(data, Path(name).suffix or ".bin")
            ref = name
        if not isinstance(ref, str) or not ref:
            raise MediaMissing(f"empty media reference {ref!r}")
        if is_media_id(ref):
            stored = self.folder.find(ref) if self.folder else None
            if stored:
                return probe(stored, ref)
            for base in (self.media_root / "media" if self.media_root else None, self.media_root):
                found = sorted(base.glob(f"**/{ref}.*")) if base and base.is_dir() else []
                if found:
                    return self._file(found[0])
            raise MediaMissing(f"media {ref} is neither in the store nor under {self.media_root}")
        path = Path(ref)
        if not path.is_absolute() and self.media_root:
            path = self.media_root / path
        return self._file(path)

    def _bytes(self, data: bytes, ext: str) -> MediaInfo:
        if self.folder:
            return self.folder.add_bytes(data, ext)
        fd, tmp = tempfile.mkstemp(suffix=ext)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            return probe(Path(tmp))
        finally:
            os.unlink(tmp)


def resolve_record_media(record: dict, record_kind: str, resolver: MediaResolver) -> list[Violation]:
    """Replace media references in ``record`` by ids (in place); report the ones that fail."""
    problems: list[Violation] = []

    def one(path: str, ref, kind: str):
        try:
            if ref not in (None, ""):  # those are media-missing, below
                media_ref(ref, path)  # a list or a number would otherwise fail as a cache key or a path
            info = resolver(ref)
        except FormatError as exc:
            problems.append(Violation(path, exc.rule, str(exc)))
            return None
        except MediaMissing as exc:
            problems.append(Violation(path, "media-missing", str(exc)))
            return None
        except MediaError as exc:
            problems.append(Violation(path, "media-undecodable", str(exc)))
            return None
        if info.kind != kind:
            problems.append(Violation(path, "media-kind", f"{path} is {info.kind}, expected {kind}"))
        return info

    if record_kind in MEDIA_FIELDS:
        for field, kind in MEDIA_FIELDS[record_kind].items():
            refs = record.get(field) or []
            if not isinstance(refs, list):
                problems.append(
                    Violation(field, "schema:type", f"{field} should be a list of media references, not {type(refs).__name__}")
                )
                continue
            infos = [one(f"{field}/{i}", ref, kind) for i, ref in enumerate(refs)]
            record[field] = [info.id for info in infos if info]
    else:
        info = one("media_id", record.get("media_id"), SINGLE_MEDIA[record_kind])
        if info:
            record["media_id"] = info.id
            if info.kind == "audio" and record_kind == "audio" and record.get("duration") is None:
                record["duration"] = round(info.duration_s, 3)
            if info.kind == "image" and record_kind == "image":
                record.setdefault("width", info.width)
                record.setdefault("height", info.height)
    return problems


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
            return [
                Violation(
                    "source_id",
                    "duplicate-id",
                    f"the input gave line {first_line} this id, with other content; line {first_line} is kept",
                )
            ]
        return [
            Violation(
                "media_id",
                "duplicate-media",
                f"line {first_line} has the same media with other fields; line {first_line} is kept",
            )
        ]
