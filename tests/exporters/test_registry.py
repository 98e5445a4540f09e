"""The registry of export formats: the one list ``export`` and the CLI read."""

import subprocess
import sys

import pytest

from mmdata.errors import InputError
from mmdata.exporters import registry
from tests.formats.test_registry import table_names


def test_the_docs_table_lists_exactly_the_registry():
    assert table_names("Export formats") == registry.names()


def test_names_and_help_come_from_the_registry():
    assert registry.names() == ["jsonl", "hf", "llava", "sharegpt", "mmtrain"]
    assert registry.help_text() == "jsonl|hf|llava|sharegpt|mmtrain"
    assert [e.name for e in registry.EXPORTERS if e.conversations_only] == ["llava", "sharegpt", "mmtrain"]
    assert all(e.writes and e.write for e in registry.EXPORTERS)


def test_an_unknown_name_lists_the_choices(tmp_path):
    from mmdata.exporters import export

    with pytest.raises(InputError, match="unknown export format 'csv'; one of jsonl, hf, llava, sharegpt, mmtrain"):
        export("x", "csv", tmp_path / "out", store=tmp_path / "store")


def test_reading_the_registries_loads_neither_duckdb_nor_pyarrow():
    # The CLI reads them for its --format help, and `mmdata --help` must stay fast.
    code = (
        "import sys; import mmdata.exporters.registry, mmdata.formats.registry; "
        "print(sorted(m for m in ('duckdb', 'pyarrow', 'torch') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
