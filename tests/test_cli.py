"""The CLI through Typer's CliRunner: each command, and every user mistake as one line + exit code."""

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from cli import app
from tests.conftest import SAMPLES, hold_write_lock

runner = CliRunner()


def run(store, *args):
    return runner.invoke(app, ["--store", str(store.root), *args])


@pytest.fixture
def filled(store):
    assert run(store, "import", str(SAMPLES / "audio_instructions.jsonl"), "--into", "talk").exit_code == 0
    return store


@pytest.mark.parametrize("module,root", [("cli", "app"), ("cli_train", "train_app")])
def test_help_is_fast_and_imports_no_heavy_module(module, root):
    code = (f"import sys; from {module} import {root} as app; from typer.testing import CliRunner; "
            "r = CliRunner().invoke(app, ['--help']); assert r.exit_code == 0, r.output; "
            "heavy = [m for m in ('torch', 'transformers', 'faster_whisper', 'yt_dlp', 'deepspeed', 'datasets', 'duckdb') "
            "if m in sys.modules]; print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_import_reports_counts_and_rejects(store):
    result = run(store, "import", str(SAMPLES / "audio_instructions.jsonl"), "--into", "talk")
    assert result.exit_code == 0
    assert "talk@1: 2 imported, 1 rejected, 0 skipped" in result.output
    assert "audio_instructions.jsonl:2: chat/1/content_ms: [content-ms-null]" in result.output
    again = run(store, "import", str(SAMPLES / "audio_instructions.jsonl"), "--into", "talk", "--json")
    assert json.loads(again.output)["version"] is None


def test_validate_exit_codes(filled):
    assert run(filled, "validate", "talk").exit_code == 0
    bad = run(filled, "validate", str(SAMPLES / "llava.json"), "--json")
    assert bad.exit_code == 1 and json.loads(bad.output)["by_rule"] == {"placeholder-count": 1}


def test_query_formats(filled, tmp_path):
    assert "audio-instruction" in run(filled, "query", "SELECT kind FROM talk").output
    as_json = run(filled, "query", "SELECT count(*) AS n FROM talk", "--format", "json")
    assert json.loads(as_json.output) == [{"n": 2}]
    as_csv = run(filled, "query", "SELECT count(*) AS n FROM talk", "--format", "csv")
    assert as_csv.output.split() == ['"n"', "2"] or as_csv.output.split() == ["n", "2"]
    out = run(filled, "query", "SELECT * FROM talk", "--out", str(tmp_path / "t.parquet"))
    assert out.exit_code == 0 and "2 rows" in out.output


def test_listing_commands(filled):
    assert json.loads(run(filled, "ls", "--json").output)[0]["dataset"] == "talk"
    assert json.loads(run(filled, "log", "talk", "--json").output)[0]["version"] == 1
    assert json.loads(run(filled, "show", "talk@1", "--json").output)["records"] == 2
    assert json.loads(run(filled, "stats", "talk", "--json").output)["records"] == 2
    assert run(filled, "tag", "talk@1", "stable").output.strip() == "talk@stable -> talk@1"
    assert json.loads(run(filled, "diff", "talk@1", "talk@stable", "--json").output)["counts"]["unchanged"] == 2
    for command in (["ls"], ["log", "talk"], ["show", "talk"], ["stats", "talk"], ["diff", "talk@1", "talk@1"]):
        assert run(filled, *command).exit_code == 0


def test_export_command(filled, tmp_path):
    result = run(filled, "export", "talk", "--format", "sharegpt", "--out", str(tmp_path / "sg"))
    assert result.exit_code == 0 and "2 records" in result.output


@pytest.mark.parametrize("args,message", [
    (["show", "nope"], "unknown dataset 'nope'"),
    (["show", "talk@9"], "unknown version 'talk@9'"),
    (["query", "SELEC 1"], "syntax error"),
    (["query", "DROP TABLE talk"], "read-only"),
    (["import", "/no/such/file.jsonl", "--into", "x"], "no such file"),
    (["validate", "missing/file.jsonl"], "no such file or folder, and not a dataset name"),
    (["export", "talk", "--format", "nope", "--out", "/tmp/x"], "unknown export format"),
])
def test_user_mistakes_are_one_red_line_and_exit_1(filled, args, message):
    result = run(filled, *args)
    assert result.exit_code == 1, result.output
    assert message in result.output and "Traceback" not in result.output
    assert result.output.startswith("error:")


def test_malformed_input_names_file_line_and_field(store, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"context": "c", "filename": "x.wav", "chat": []}\n')
    result = run(store, "validate", str(bad))
    assert result.exit_code == 1 and "bad.jsonl:1: audios/0: [media-missing]" in result.output


def test_missing_store_and_busy_store(store, tmp_path):
    result = run(store, "ls")
    assert result.exit_code == 0 and "no datasets yet" in result.output
    missing = run(store, "show", "x")
    assert missing.exit_code == 1 and "no store at" in missing.output


def test_busy_store_is_one_line(filled):
    with hold_write_lock(filled.root):
        result = run(filled, "tag", "talk@1", "stable", "--wait", "0.2")
    assert result.exit_code == 1 and "store is busy" in result.output and "Traceback" not in result.output


def test_usage_errors_exit_2(store):
    assert run(store, "import", "x.jsonl").exit_code == 2  # --into missing
    assert runner.invoke(app, ["frobnicate"]).exit_code == 2
