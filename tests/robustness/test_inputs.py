"""Every class of bad input, through every command that reads it: a clean refusal, never a traceback.

Each test generates its inputs (``inputs.py``), runs them through the CLI in-process (Typer's
CliRunner: the same ``_Group`` error handling as the installed command), and asserts that each
was refused cleanly (one ``error:`` line and a non-zero exit, or rejects that name their rule),
that none reached the bug path of ``mmdata.crash``, and that ``base@1`` is unchanged afterwards.
``test_subprocess.py`` runs a representative few through real processes.
"""

from __future__ import annotations

import os

import pytest

from tests.robustness import inputs
from tests.robustness.conftest import dataset_name, outcome

READERS = list(inputs.TEMPLATES)


def _run_all(guarded, cases: dict, command) -> None:
    """Run ``command(name, path)`` for every case; report every case that failed, not just the first."""
    failures = []
    for name, (path, expect) in cases.items():
        result = command(name, path)
        why = outcome(result, expect)
        if why:
            failures.append(f"{name}: {why}")
    guarded.check()
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("format", READERS + [None])
def test_import_refuses_bad_json(guarded, tmp_path, format):
    cases = inputs.json_inputs(tmp_path / "in", format or "sharegpt")
    flags = ["--format", format] if format else []
    _run_all(
        guarded,
        cases,
        lambda name, path: guarded.cli(
            "import", str(path), "--into", dataset_name("import", format or "detect", name), *flags, "--json"
        ),
    )


@pytest.mark.parametrize("format", READERS)
def test_validate_refuses_bad_json(guarded, tmp_path, format):
    cases = inputs.json_inputs(tmp_path / "in", format)
    _run_all(guarded, cases, lambda name, path: guarded.cli("validate", str(path), "--format", format, "--json"))


@pytest.mark.parametrize("command", ["import-detect", "import-mmdata", "import-hf", "validate"])
def test_parquet_and_hf_folders(guarded, tmp_path, command):
    cases = inputs.parquet_inputs(tmp_path / "in")
    if command == "import-mmdata":  # the hf reader is for folders; mmdata reads the Parquet files
        cases = {k: v for k, v in cases.items() if not k.startswith("hf-")}
    if command == "import-hf":
        cases = {k: v for k, v in cases.items() if k.startswith("hf-")}

    def run(name, path):
        if command == "validate":
            return guarded.cli("validate", str(path), "--json")
        flags = [] if command == "import-detect" else ["--format", command.removeprefix("import-")]
        return guarded.cli("import", str(path), "--into", dataset_name(command, name), *flags, "--json")

    _run_all(guarded, cases, run)


@pytest.mark.parametrize("command", ["import", "import-folder", "validate"])
def test_media_folders(guarded, tmp_path, command):
    cases = inputs.folder_inputs(tmp_path / "in")

    def run(name, path):
        if command == "validate":
            return guarded.cli("validate", str(path), "--json")
        flags = ["--format", "folder"] if command == "import-folder" else []
        return guarded.cli("import", str(path), "--into", dataset_name(command, name), *flags, "--json")

    _run_all(guarded, cases, run)


def test_nan_in_parquet_is_rejected_by_name(guarded, tmp_path):
    import json

    cases = inputs.parquet_inputs(tmp_path / "in")
    result = guarded.cli(
        "import", str(cases["nan-unknown-float-parquet"][0]), "--into", "t-nan-names", "--format", "mmdata", "--json"
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["rejects_by_rule"] == {"json-nonfinite": 2}
    assert {s["field_path"] for s in data["reject_samples"]} == {"score"}


def test_mix_specs(guarded, tmp_path):
    cases = inputs.spec_inputs(tmp_path / "specs", "base")
    _run_all(guarded, cases, lambda name, path: guarded.cli("mix", "--spec", str(path), "--json"))


def test_synthesis_recipes(guarded, tmp_path):
    cases = inputs.recipe_inputs(tmp_path / "recipes")
    _run_all(
        guarded,
        cases,
        lambda name, path: guarded.cli(
            "synthesize", "--type", "visual-context", "--from", "base", "--into", "t-syn", "--recipe", str(path), "--dry-run"
        ),
    )


def test_train_configs_and_overrides(guarded, tmp_path, tiny_dir, mixture_dir):
    from mmtrain.cli import app as train_app

    cases = inputs.config_inputs(tmp_path / "configs", tiny_dir, mixture_dir)
    _run_all(guarded, cases, lambda name, path: guarded.cli("run", "--config", str(path), app=train_app))
    good = tmp_path / "good.yaml"
    good.write_text(
        f"stage: finetune\nmodel: {{from: {tiny_dir}}}\ndata: {{mixture: {mixture_dir}}}\n"
        f"output_dir: {tmp_path / 'out'}\ntraining: {{max_steps: 1}}\n"
    )
    overrides = {
        "not-yaml": "training.max_steps=[",
        "undefined-alias": "training.max_steps=*x",
        "nan": "training.learning_rate=.nan",
        "model-a-string": "model=Qwen/Qwen1.5-0.5B",
        "stage-a-list": "stage=[finetune]",
        "empty-key": "=5",
        "empty-part": "training..max_steps=1",
        "through-a-value": "output_dir.sub=1",
        "alias-bomb": "training.x=" + inputs.ALIAS_BOMB.replace("\n", ", ").join("{}"),
        "not-key-value": "max_steps",
    }
    cases = {name: (item, "refused") for name, item in overrides.items()}
    _run_all(guarded, cases, lambda name, item: guarded.cli("run", "--config", str(good), item, app=train_app))


def test_store_and_out_paths(guarded, tmp_path):
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder")
    source = tmp_path / "ok.jsonl"
    source.write_bytes(inputs._line(inputs.TEMPLATES["mmdata"]) + b"\n")
    a_dir = tmp_path / "out.parquet"
    a_dir.mkdir()
    commands = {
        "store-is-file-ls": ["--store", str(a_file), "ls"],
        "store-is-file-query": ["--store", str(a_file), "query", "SELECT 1"],
        "store-is-file-import": ["--store", str(a_file), "import", str(source), "--into", "x", "--format", "mmdata"],
        "store-is-file-show": ["--store", str(a_file), "show", "base"],
        "store-under-a-file": ["--store", str(a_file / "store"), "import", str(source), "--into", "x"],
        "export-out-is-file": ["export", "base", "--format", "jsonl", "--out", str(a_file)],
        "export-out-under-a-file": ["export", "base", "--format", "jsonl", "--out", str(a_file / "sub")],
        "query-out-under-a-file": ["query", "SELECT 1 AS x", "--out", str(a_file / "x.parquet")],
        "query-out-is-folder": ["query", "SELECT 1 AS x", "--out", str(a_dir)],
        "import-into-bad-name": ["import", str(source), "--into", "../escape", "--format", "mmdata"],
        "source-missing": ["import", str(tmp_path / "missing.jsonl"), "--into", "x"],
    }

    def run(name, args):
        if args[0] == "--store":
            from mmdata.cli import app

            return guarded.cli(*args, app=app)
        return guarded.cli(*args)

    _run_all(guarded, {k: (v, "refused") for k, v in commands.items()}, run)


def test_a_store_whose_data_file_was_deleted(tmp_path):
    from tests.robustness.conftest import Guarded

    damaged = Guarded(tmp_path / "store")
    for parquet in (tmp_path / "store" / "data").rglob("*.parquet"):
        if "base" in str(parquet):
            parquet.unlink()
    source = tmp_path / "more.jsonl"
    source.write_bytes(inputs._line(inputs.TEMPLATES["mmdata"]) + b"\n")
    commands = {
        "query": ["query", 'SELECT id FROM "base@1"'],
        "query-newest": ["query", "SELECT * FROM base"],
        "show": ["show", "base"],
        "stats": ["stats", "base"],
        "validate": ["validate", "base"],
        "export": ["export", "base", "--format", "jsonl", "--out", str(tmp_path / "exported")],
        "import": ["import", str(source), "--into", "base", "--format", "mmdata"],
        "diff": ["diff", "base@1", "base@1"],
    }
    failures = []
    for name, args in commands.items():
        why = outcome(damaged.cli(*args), "refused")
        if why:
            failures.append(f"{name}: {why}")
    assert not failures, "\n".join(failures)
    assert damaged.cli("ls").exit_code == 0  # the catalog still opens


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads every file")
def test_unreadable_files(guarded, tmp_path):
    source = tmp_path / "locked.jsonl"
    source.write_bytes(inputs._line(inputs.TEMPLATES["mmdata"]) + b"\n")
    spec = tmp_path / "locked.yaml"
    spec.write_text("name: m\nsources: [{dataset: base}]\n")
    for path in (source, spec):
        path.chmod(0)
    cases = {
        "import": (["import", str(source), "--into", "t-locked", "--format", "mmdata"], "refused"),
        "validate": (["validate", str(source), "--format", "mmdata"], "refused"),
        "mix": (["mix", "--spec", str(spec)], "refused"),
    }
    _run_all(guarded, cases, lambda name, args: guarded.cli(*args))
