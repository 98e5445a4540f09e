"""One checker for every record: JSON Schema, semantic rules, then media."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from typing import Protocol

import fastjsonschema
import jsonschema

from mmdata.errors import MediaMissing, MmdataError, StoreUnavailable
from mmdata.records import MEDIA_FIELDS, SINGLE_MEDIA, Violation, specs_dir
from mmdata.schemas.rules import RULES


@cache
def load_schema(record_kind: str) -> dict:
    path = specs_dir() / "schemas" / f"{record_kind}.json"
    if not path.exists():
        raise MmdataError(f"no schema for record kind {record_kind!r} at {path}")
    return json.loads(path.read_text())


@cache
def _validator(record_kind: str) -> jsonschema.Draft202012Validator:
    schema = load_schema(record_kind)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@cache
def _fast_check(record_kind: str) -> Callable[[dict], bool]:
    """A compiled yes/no check, about 100x faster than jsonschema on valid records.

    jsonschema stays the authority: it runs whenever this says no, and it alone names the
    violations. Our schemas keep to keywords both libraries read the same way
    (tests/schemas/test_rules.py checks that they agree).
    """
    check = fastjsonschema.compile(load_schema(record_kind))

    def valid(record: dict) -> bool:
        try:
            check(record)
            return True
        except fastjsonschema.JsonSchemaException:
            return False

    return valid


class MediaFacts(Protocol):
    """What the media checks need of a medium (``store.media.MediaInfo`` has it)."""

    kind: str


MediaLookup = Callable[[str], MediaFacts]


class RecordChecker:
    """Checks records of one kind.

    ``media`` looks up a media id and returns its facts (a MediaInfo), raising MmdataError when the
    media is missing or does not decode; leave it None to skip media checks.
    """

    def __init__(self, record_kind: str, media: MediaLookup | None = None):
        self.record_kind = record_kind
        self.validator = _validator(record_kind)
        self.fast_valid = _fast_check(record_kind)
        self.rules = RULES.get(record_kind)
        self.media = media

    def check(self, record: dict) -> list[Violation]:
        if not self.fast_valid(record):
            found = [
                Violation("/".join(str(p) for p in error.absolute_path) or "$", f"schema:{error.validator}", error.message[:200])
                for error in self.validator.iter_errors(record)
            ]
            if found:  # rules assume the shape the schema promises
                return found
        found = []
        if self.rules:
            found += self.rules(record)
        if self.media:
            found += self.check_media(record)
        return found

    def check_media(self, record: dict) -> list[Violation]:
        found = []
        refs = []
        if self.record_kind in MEDIA_FIELDS:
            for field, kind in MEDIA_FIELDS[self.record_kind].items():
                refs += [(f"{field}/{i}", media_id, kind) for i, media_id in enumerate(record.get(field) or [])]
        else:
            refs.append(("media_id", record.get("media_id"), SINGLE_MEDIA[self.record_kind]))
        for path, media_id, kind in refs:
            try:
                info = self.media(media_id)
            except MediaMissing as exc:
                found.append(Violation(path, "media-missing", str(exc)))
                continue
            except StoreUnavailable:
                raise  # the bucket is down, not this record's media
            except MmdataError as exc:
                found.append(Violation(path, "media-undecodable", str(exc)))
                continue
            if info.kind != kind:
                found.append(Violation(path, "media-kind", f"{media_id[:12]}… is {info.kind}, expected {kind}"))
        return found
