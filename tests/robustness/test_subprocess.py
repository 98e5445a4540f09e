"""A representative few bad inputs through the real commands (``mmdata``, ``mmtrain``) in processes of
their own: what a user sees, stdout and stderr apart, with nothing of the test harness in between."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mmdata.crash import BUG_MARKER, EXIT_BUG
from tests.robustness import inputs

BIN = Path(sys.executable).parent


def _run(program: str, *args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / program), *args], capture_output=True, text=True, env=env, timeout=300)


@pytest.fixture
def env(tmp_path):
    return {**os.environ, "MMDATA_CRASH_DIR": str(tmp_path / "crash-reports"), "NO_COLOR": "1", "COLUMNS": "200"}


def _refused(done: subprocess.CompletedProcess) -> None:
    both = done.stdout + done.stderr
    assert "Traceback" not in both and BUG_MARKER not in both and done.returncode not in (0, EXIT_BUG), both
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr


def test_real_processes_refuse_bad_input_in_one_line(tmp_path, env):
    store = tmp_path / "store"
    folder = tmp_path / "in"
    json_cases = inputs.json_inputs(folder / "json", "llava")
    spec_cases = inputs.spec_inputs(folder / "specs", "base")
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    commands = [
        ("mmdata", "--store", str(store), "import", str(json_cases["top-level-scalar-file"][0]), "--into", "x"),
        ("mmdata", "--store", str(store), "mix", "--spec", str(spec_cases["alias-bomb"][0])),
        ("mmdata", "--store", str(store), "mix", "--spec", str(spec_cases["not-utf8"][0])),
        ("mmdata", "--store", str(a_file), "ls"),
        ("mmdata", "--store", str(store), "validate", str(json_cases["folder-where-a-file-belongs"][0]), "--format", "llava"),
    ]
    for program, *args in commands:
        _refused(_run(program, *args, env=env))
    # a reject, not an error: the file is imported, its bad line named with its rule
    done = _run(
        "mmdata",
        "--store",
        str(store),
        "import",
        str(json_cases["not-utf8-line"][0]),
        "--into",
        "y",
        "--format",
        "llava",
        env=env,
    )
    assert done.returncode == 0 and "[encoding]" in done.stdout and "Traceback" not in done.stderr, done.stdout + done.stderr
    assert not (tmp_path / "crash-reports").exists()


def test_mmtrain_refuses_a_config_in_one_line(tmp_path, env):
    config = tmp_path / "model-a-string.yaml"
    config.write_text("stage: finetune\nmodel: Qwen/Qwen1.5-0.5B\ndata: {mixture: x}\noutput_dir: out\n")
    _refused(_run("mmtrain", "run", "--config", str(config), env=env))
    _refused(_run("mmtrain", "run", "--config", str(tmp_path), env=env))


def test_a_bug_is_one_line_naming_its_report(tmp_path, env):
    """The last line of defence itself: an exception that is not ours, in a real process."""
    code = (
        "import sys, cli, mmdata.inspect\n"
        "def broken(*a, **k): raise ZeroDivisionError('deliberately')\n"
        "mmdata.inspect.ls = broken\n"
        "sys.argv = ['mmdata', '--store', sys.argv[1], 'ls']\n"
        "cli.main()\n"
    )
    env = {**env, "MMDATA_CRASH_DIR": str(tmp_path / "deliberate")}  # the suite's own folder must stay empty
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "store")],
        capture_output=True,
        text=True,
        env=env,
        cwd=Path(__file__).resolve().parents[2],
        timeout=120,
    )
    assert done.returncode == EXIT_BUG and "Traceback" not in done.stderr, done.stderr
    (line,) = [line for line in done.stderr.splitlines() if line.strip()]
    assert line.startswith("error: unexpected ZeroDivisionError: deliberately") and BUG_MARKER in line
    reports = list((tmp_path / "deliberate").iterdir())
    assert len(reports) == 1 and str(reports[0]) in line.replace("\n", "")
    text = reports[0].read_text()
    assert "Traceback" in text and "ZeroDivisionError: deliberately" in text and "command: mmdata --store" in text
    assert "mmdata 0." in text  # versions of what this process loaded
