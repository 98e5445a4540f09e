"""The registry of import formats: the one list the CLI, detection and the docs read."""

import re
from pathlib import Path

import pytest

from mmdata.errors import InputError
from mmdata.formats import registry

DOCS = Path(__file__).resolve().parents[2] / "docs" / "formats.md"


def table_names(heading: str) -> list[str]:
    """The first column of the table under the docs' section ``heading``, backticks removed."""
    section = DOCS.read_text(encoding="utf-8").split(f"\n## {heading}", 1)[1].split("\n## ", 1)[0]
    table = [line for line in section.splitlines() if line.startswith("|")]
    return [re.match(r"\| `([^`]+)`", row).group(1) for row in table[2:]]  # after the header and its rule


def test_the_docs_table_lists_exactly_the_registry():
    assert table_names("Input formats") == registry.names()


def test_names_and_help_come_from_the_registry():
    assert registry.names() == ["audio-instruction", "relationship", "llava", "sharegpt", "mmdata", "hf", "folder"]
    assert registry.help_text() == "audio-instruction, relationship, llava, sharegpt, mmdata, hf or folder (default: detect)."
    assert len(set(registry.names())) == len(registry.names())
    assert all(fmt.reads and fmt.open for fmt in registry.FORMATS)


def test_row_layouts_convert_and_the_rest_claim_their_input():
    for fmt in registry.FORMATS:
        assert (fmt.matches is None) == (fmt.convert is None), fmt.name
        assert fmt.matches is not None or fmt.claims is not None, f"{fmt.name} could never be detected"


def test_an_unknown_name_lists_the_choices():
    with pytest.raises(InputError, match="unknown format 'csv'; one of audio-instruction, relationship, .*, folder"):
        registry.get("csv")


def test_layout_order_decides_between_layouts():
    assert registry.layout_of({"id": 1, "conversations": [], "image": "a.png"}).name == "llava"
    assert registry.layout_of({"conversations": [], "images": ["a.png"]}).name == "sharegpt"
    assert registry.layout_of({"chat": [], "filename": "a.wav"}).name == "audio-instruction"
    assert registry.layout_of({"chat": []}).name == "mmdata"
    assert registry.layout_of(["not", "a", "row"]) is None
