"""The record layer: its examples run, and its constants agree with the shipped schemas."""

import doctest
import json

import mmdata.records
from mmdata.records import MEDIA_FIELDS, RECORD_KINDS, SINGLE_MEDIA, specs_dir


def test_the_docstring_examples_run():
    failed, tried = doctest.testmod(mmdata.records)
    assert tried > 0 and failed == 0


def test_every_record_kind_has_its_schema_and_its_media():
    for kind in RECORD_KINDS:
        schema = json.loads((specs_dir() / "schemas" / f"{kind}.json").read_text())
        fields = MEDIA_FIELDS.get(kind) or {"media_id": SINGLE_MEDIA[kind]}
        assert set(fields) <= set(schema["properties"]), kind
    assert set(MEDIA_FIELDS) | set(SINGLE_MEDIA) == set(RECORD_KINDS)
