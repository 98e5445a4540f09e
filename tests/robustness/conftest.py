"""The robustness suite's harness: a store with a dataset whose version must survive every bad input,
and the check that a run refused its input cleanly (one ``error:`` line, or a reject with a rule)."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from mmdata.crash import BUG_MARKER, EXIT_BUG
from tests.conftest import write_jsonl
from tests.mmtrain.conftest import mixture_dir, tiny_dir  # noqa: F401  (session fixtures for mmtrain cases)

runner = CliRunner()


@pytest.fixture(autouse=True)
def _crash_reports(tmp_path, monkeypatch):
    """Crash reports land in the test's folder; none may be written."""
    folder = tmp_path / "crash-reports"
    monkeypatch.setenv("MMDATA_CRASH_DIR", str(folder))
    yield
    assert not folder.exists() or not list(folder.iterdir()), f"crash reports written: {list(folder.iterdir())}"


class Guarded:
    """A store holding ``base@1``; ``check()`` says whether it is still exactly what it was."""

    def __init__(self, root):
        from mmdata.cli import app

        self.root, self.app = root, app
        rows = [
            {
                "kind": "text",
                "chat": [{"role": "user", "content": f"Question {i}?"}, {"role": "assistant", "content": f"Answer {i}."}],
            }
            for i in range(3)
        ]
        source = write_jsonl(root.parent / "base.jsonl", rows)
        result = self.cli("import", str(source), "--into", "base", "--format", "mmdata")
        assert result.exit_code == 0, result.output
        self.ids = self.base_ids()
        assert len(self.ids) == 3

    def cli(self, *args, app=None):
        return runner.invoke(app or self.app, ["--store", str(self.root), *args] if app is None else list(args))

    def base_ids(self) -> list[str]:
        result = self.cli("query", 'SELECT id FROM "base@1" ORDER BY id', "--format", "json")
        assert result.exit_code == 0, result.output
        return [row["id"] for row in json.loads(result.stdout)]

    def check(self) -> None:
        assert self.base_ids() == self.ids, "base@1 changed"
        listed = self.cli("ls", "--json")
        assert listed.exit_code == 0 and any(
            d["dataset"] == "base" or d.get("name") == "base" for d in json.loads(listed.stdout)
        ), listed.output


@pytest.fixture(scope="module")
def guarded(tmp_path_factory):
    return Guarded(tmp_path_factory.mktemp("robust") / "store")


def dataset_name(*parts: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "-", "t-" + "-".join(p for p in parts if p))[:64]


def outcome(result, expect: str) -> str | None:
    """Why ``result`` is not a clean refusal (or, for ``expect == "ok"``, not a clean success); None when it is."""
    output = result.output
    if "Traceback" in output or BUG_MARKER in output or result.exit_code == EXIT_BUG:
        return f"crashed (exit {result.exit_code}): {output[-600:]}"
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        return f"raised {type(result.exception).__name__}: {result.exception}"
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    stray = [line for line in result.stderr.splitlines() if line.strip() and not line.startswith("error:")]
    rejected, rules = _rejects(result)
    if expect == "ok":
        if result.exit_code != 0 or errors or rejected:
            return f"should be accepted: exit {result.exit_code}, rejects {rules}, {output[-400:]}"
        return None
    if result.exit_code != 0 and len(errors) == 1 and not stray and not rules:
        return None  # refused as a whole: one line
    if rejected and rules and all(rules.values()):
        return None  # refused record by record, each by a named rule
    if expect == "ok-or-refused" and result.exit_code == 0 and not errors:
        return None
    return f"not refused cleanly: exit {result.exit_code}, error lines {errors}, stray {stray[:3]}, rejects {rules}"


def _rejects(result) -> tuple[int, dict]:
    """(rejected, rules) from an import's or a validation's --json output."""
    try:
        data = json.loads(result.stdout)
    except ValueError:
        return 0, {}
    if not isinstance(data, dict):
        return 0, {}
    if "rejected" in data:
        return data["rejected"], data.get("rejects_by_rule") or {}
    if "invalid" in data:
        return data["invalid"], data.get("by_rule") or {}
    return 0, {}
