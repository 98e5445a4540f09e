"""The CLI through Typer's CliRunner: each command, and every user mistake as one line + exit code."""

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from mmdata.cli import app
from tests.conftest import SAMPLES, hold_write_lock

runner = CliRunner()


def run(store, *args):
    return runner.invoke(app, ["--store", str(store.root), *args])


@pytest.fixture
def filled(store):
    assert run(store, "import", str(SAMPLES / "audio_instructions.jsonl"), "--into", "talk").exit_code == 0
    return store


@pytest.mark.parametrize("module", ["mmdata.cli", "mmtrain.cli"])
def test_help_is_fast_and_imports_no_heavy_module(module):
    code = (
        f"import sys; from {module} import app; from typer.testing import CliRunner; "
        "r = CliRunner().invoke(app, ['--help']); assert r.exit_code == 0, r.output; "
        # The registries too: their help is filled in only when a command's help is shown (HelpLater).
        "heavy = [m for m in ('torch', 'transformers', 'faster_whisper', 'yt_dlp', 'deepspeed', 'datasets', 'duckdb', "
        "'mmdata.formats.registry', 'mmdata.exporters.registry', 'mmdata.synth.types') "
        "if m in sys.modules]; print(','.join(heavy))"
    )
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


@pytest.mark.parametrize(
    "args,message",
    [
        (["show", "nope"], "unknown dataset 'nope'"),
        (["show", "talk@9"], "unknown version 'talk@9'"),
        (["query", "SELEC 1"], "syntax error"),
        (["query", "DROP TABLE talk"], "read-only"),
        (["import", "/no/such/file.jsonl", "--into", "x"], "no such file"),
        (["validate", "missing/file.jsonl"], "no such file or folder, and not a dataset name"),
        (["export", "talk", "--format", "nope", "--out", "/tmp/x"], "unknown export format"),
    ],
)
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


def test_version_needs_no_command():
    from mmdata import __version__

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output == f"{__version__}\n"


def test_usage_errors_exit_2(store):
    assert run(store, "import", "x.jsonl").exit_code == 2  # --into missing
    assert runner.invoke(app, ["frobnicate"]).exit_code == 2


@pytest.mark.parametrize(
    "args,message",
    [
        (
            ["synthesize", "--type", "translate", "--from", "talk", "--into", "x", "--concurrency", "0"],
            "--concurrency must be at least 1, not 0",
        ),
        (
            ["synthesize", "--type", "translate", "--from", "talk", "--into", "x", "--concurrency", "-4"],
            "--concurrency must be at least 1",
        ),
        (
            ["synthesize", "--type", "translate", "--from", "talk", "--into", "x", "--limit", "-1"],
            "--limit must be at least 0, not -1",
        ),
        (["synthesize", "--type", "multi-image", "--from", "talk", "--into", "x", "--items", "1"], "--items must be at least 2"),
        (
            ["synthesize", "--type", "translate", "--from", "talk", "--into", "x", "--checkpoint", "-1"],
            "--checkpoint must be at least 0",
        ),
        (["synthesize", "--type", "translate", "--from", "talk", "--into", "x", "--rpm", "0"], "--rpm must be at least 1"),
        (["synthesize", "--type", "translate", "--from", "talk", "--into", "x", "--tpm", "-5"], "--tpm must be at least 1"),
        (
            ["synthesize", "--type", "translate", "--from", "talk", "--into", "x", "--timeout", "0"],
            "--timeout must be more than 0",
        ),
        (
            ["synthesize", "--type", "translate", "--from", "talk", "--into", "x", "--give-up-after", "nan"],
            "--give-up-after must be more than 0",
        ),
        (["crawl", "ytsearch1:x", "--into", "x", "--limit", "-1"], "--limit must be at least 0, not -1"),
        (["crawl", "ytsearch1:x", "--into", "x", "--retries", "-1"], "--retries must be at least 0"),
        (["crawl", "ytsearch1:x", "--into", "x", "--sleep", "-2"], "--sleep must be at least 0"),
        (["crawl", "ytsearch1:x", "--into", "x", "--checkpoint", "-1"], "--checkpoint must be at least 0"),
        (["crawl", "ytsearch1:x", "--into", "x", "--min-duration", "-1"], "--min-duration must be at least 0"),
        (["crawl", "ytsearch1:x", "--into", "x", "--min-duration", "60", "--max-duration", "10"], "is more than --max-duration"),
        (["crawl", "ytsearch1:x", "--into", "x", "--wait", "-1"], "--wait must be at least 0"),
        (["transcribe", "talk", "--into", "x", "--batch-size", "0"], "--batch-size must be at least 1, not 0"),
        (["transcribe", "talk", "--into", "x", "--beam-size", "0"], "--beam-size must be at least 1"),
        (["transcribe", "talk", "--into", "x", "--checkpoint", "-1"], "--checkpoint must be at least 0"),
        (["query", "SELECT 1", "--limit", "-1"], "--limit must be at least 0, not -1"),
        (["show", "talk", "--limit", "-1"], "--limit must be at least 0"),
        (["diff", "talk@1", "talk@1", "--limit", "-2"], "--limit must be at least 0"),
        (["tag", "talk@1", "stable", "--wait", "-1"], "--wait must be at least 0"),
        (["import", str(SAMPLES / "relationships.jsonl"), "--into", "rel", "--wait", "-1"], "--wait must be at least 0"),
    ],
)
def test_nonsense_numbers_are_refused_by_name(filled, args, message):
    before = json.loads(run(filled, "log", "talk", "--json").output)
    result = run(filled, *args)
    assert result.exit_code == 1, result.output
    assert result.output.startswith("error:") and message in result.output and "Traceback" not in result.output
    assert json.loads(run(filled, "log", "talk", "--json").output) == before  # nothing was written


def test_library_refuses_the_same_numbers(filled, tmp_path):
    from mmdata.errors import InputError
    from mmdata.mix import mix
    from mmdata.synth import synthesize

    with pytest.raises(InputError, match="--concurrency must be at least 1"):
        synthesize("translate", sources=["talk"], into="x", store=filled, endpoint="http://127.0.0.1:9/v1", concurrency=0)
    with pytest.raises(InputError, match="--workers must be at least 0"):
        mix(tmp_path / "spec.yaml", store=filled, workers=-1)
    assert runner.invoke(app, ["--store", str(filled.root), "mix", "--spec", "x.yaml", "--workers", "-1"]).exit_code == 2


@pytest.mark.parametrize(
    "args,message",
    [
        (["chat", "--model", "nowhere", "--temperature", "-0.5"], "--temperature must be 0 (greedy) or more"),
        (["chat", "--model", "nowhere", "--max-new-tokens", "0"], "--max-new-tokens must be at least 1"),
        (["eval", "--model", "nowhere", "--data", "talk", "--samples", "-1"], "--samples must be at least 0"),
        (["eval", "--model", "nowhere", "--data", "talk", "--max-length", "0"], "--max-length must be at least 1"),
    ],
)
def test_mmtrain_refuses_nonsense_numbers(args, message):
    from mmtrain.cli import app as train_app

    result = runner.invoke(train_app, args, input="hello\n")
    assert result.exit_code == 1, result.output
    assert result.output.startswith("error:") and message in result.output


def test_synthesize_help_shows_every_type():
    from mmdata.synth import TYPES

    result = runner.invoke(app, ["synthesize", "--help"], env={"COLUMNS": "80"})
    assert result.exit_code == 0 and "…" not in result.output
    for name in TYPES:
        assert f" {name} " in result.output


def test_query_format_is_checked_before_the_query_runs(filled):
    result = run(filled, "query", "SELECT * FROM nope", "--format", "yaml")
    assert result.exit_code == 2 and "--format must be table, json or csv" in result.output


def test_a_moved_store_works_from_the_cli(filled, tmp_path):
    import shutil

    from mmdata.store.lake import Store

    moved = tmp_path / "moved store"
    shutil.copytree(filled.root, moved)
    shutil.rmtree(filled.root)
    store = Store(moved)
    assert run(store, "import", str(SAMPLES / "relationships.jsonl"), "--into", "rel").exit_code == 0
    assert run(store, "import", str(SAMPLES / "audio_instructions.jsonl"), "--into", "talk", "--replace").exit_code == 0
    assert json.loads(run(store, "query", 'SELECT count(*) AS n FROM "talk@1"', "--format", "json").output) == [{"n": 2}]
    assert [v["version"] for v in json.loads(run(store, "log", "talk", "--json").output)] == [1]
    assert run(store, "diff", "talk@1", "talk", "--json").exit_code == 0
    assert run(store, "export", "rel", "--format", "jsonl", "--out", str(tmp_path / "out")).exit_code == 0
    files = json.loads(run(store, "query", "SELECT data_file FROM ducklake_list_files('lake', 'rel')", "--format", "json").output)
    assert files and all(f["data_file"].startswith(str(moved)) for f in files)
    assert not filled.root.exists()


def test_a_bug_names_the_program_it_happened_in(monkeypatch, tmp_path):
    import mmtrain.cli
    from mmdata.crash import BUG_MARKER, EXIT_BUG

    def broken():
        raise ZeroDivisionError("deliberately")

    monkeypatch.setenv("MMDATA_CRASH_DIR", str(tmp_path / "reports"))
    monkeypatch.setattr(mmtrain.cli, "quiet_transformers", broken)
    result = runner.invoke(mmtrain.cli.app, ["build-tiny", "--out", str(tmp_path / "tiny")])
    assert result.exit_code == EXIT_BUG and f"{BUG_MARKER} mmtrain;" in result.output
    report = next((tmp_path / "reports").iterdir()).read_text()
    assert report.startswith("mmtrain crash report") and "ZeroDivisionError: deliberately" in report


def test_the_demo_reports_mmtrain_errors_in_one_line(store, monkeypatch):
    """mmdata's error handling knows only mmdata's errors; the training steps it runs report their own."""
    import mmdata.demo_store
    import mmtrain.cli
    import mmtrain.demo
    from mmtrain.errors import ConfigError

    def failing_steps(store):
        raise ConfigError("a deliberate config error")
        yield

    monkeypatch.setattr(mmdata.demo_store, "demo", lambda store: iter(()))
    monkeypatch.setattr(mmtrain.cli, "quiet_transformers", lambda: None)
    monkeypatch.setattr(mmtrain.demo, "steps", failing_steps)
    result = run(store, "demo")
    assert result.exit_code == 1 and result.output == "error: a deliberate config error\n"
