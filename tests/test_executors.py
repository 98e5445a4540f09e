"""A job as n shards: locally in spawned processes and on a local Ray cluster, killed shards, resumed runs."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from dataclasses import make_dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mmdata.cli import app
from mmdata.errors import InputError, ShardsFailed
from mmdata.executors import _combine, _summary, run_id, run_shards
from mmdata.extras import MissingExtra
from mmdata.importing import import_
from mmdata.querying import query
from mmdata.synth import synthesize
from tests.conftest import make_png, write_jsonl
from tests.synth.endpoint import FakeEndpoint

JOB = {"type": "visual-context", "sources": ["pics"], "into": "vc", "model": "m", "concurrency": 2}


@pytest.fixture
def endpoint():
    server = FakeEndpoint()
    yield server
    server.close()


@pytest.fixture
def images(store, tmp_path):
    """Six captioned images in the dataset pics: six visual-context items."""
    names = ["nasi", "teh", "wau", "batik", "durian", "kereta"]
    for i, name in enumerate(names):
        make_png(tmp_path / "pics" / f"{name}.png", colour=(i * 40, 100, 200))
    rows = [{"file": f"{name}.png", "caption": f"A picture of {name}", "title": name.title()} for name in names]
    write_jsonl(tmp_path / "pics" / "metadata.jsonl", rows)
    assert import_(tmp_path / "pics", "pics", store).imported == 6
    return store


def rows(store, sql):
    return query(sql, store).table.to_pylist()


def shard_rows(store):
    return rows(store, "SELECT shard, shards FROM _shards ORDER BY shard")


def counts(store):
    """Records, distinct ids and versions of the dataset vc: no duplicate records however often shards ran."""
    (r,) = rows(store, "SELECT count(*) AS n, count(DISTINCT id) AS ids FROM vc")
    (v,) = rows(store, "SELECT count(*) AS n FROM _versions WHERE dataset = 'vc'")
    return r["n"], r["ids"], v["n"]


def doomed_synthesize(*, trap: str, doomed: str, how: str, **kwargs):
    """``synthesize``, except that shard ``doomed`` dies the first time it runs (while ``trap`` does not
    exist): ``exit`` leaves its process with os._exit(1); ``wait`` writes its pid to ``trap`` and waits
    for the test to SIGKILL it. A run after that (the same arguments: the same run) goes through."""
    if kwargs["shard"] == doomed and not os.path.exists(trap):
        if how == "exit":
            Path(trap).write_text("died")
            os._exit(1)
        Path(trap + ".tmp").write_text(str(os.getpid()))
        os.replace(trap + ".tmp", trap)
        time.sleep(120)
    return synthesize(**kwargs)


def test_the_run_id_is_the_job_not_how_it_runs():
    job = {"into": "vc", "sources": ["pics"], "seed": 1}
    assert run_id(synthesize, job) == run_id(synthesize, {**dict(reversed(job.items())), "wait": 5, "checkpoint": 3})
    assert run_id(synthesize, job) != run_id(synthesize, {**job, "seed": 2})
    assert run_id(synthesize, job) != run_id(doomed_synthesize, job)


def test_shard_results_combine_counts_and_versions():
    a = {"dataset": "vc", "version": 2, "made": 3, "hours": 0.25, "stopped": False, "failures_by_reason": {"x": 1}}
    b = {"dataset": "vc", "version": None, "made": 1, "hours": 0.5, "real_time_factor": 0.1, "failures_by_reason": {"x": 2}}
    result = make_dataclass("ImportResult", ["version", "added"])
    c = _summary([result(4, 1), result(5, 2)])  # import_each: one result per file
    assert _combine([a, b, c]) == {
        "versions": [2, 4, 5],
        "made": 4,
        "hours": 0.75,
        "failures_by_reason": {"x": 3},
        "added": 3,
    }


def test_local_executor_runs_the_shards_in_two_processes(images, endpoint):
    result = run_shards(synthesize, images, {**JOB, "endpoint": endpoint.url}, shards=2, executor="local", workers=2)
    assert (result.ran, result.skipped, result.totals["made"], result.totals["rejected"]) == ([0, 1], [], 6, 0)
    records, ids, versions = counts(images)
    assert records == ids == result.totals["records"] and versions == len(result.versions) >= 1
    assert shard_rows(images) == [{"shard": 0, "shards": 2}, {"shard": 1, "shards": 2}]
    assert "2 of 2 shards run" in result.message and "vc@" in result.message
    # The same job again: both shards are on record, nothing runs (not even a process), nothing is sent.
    sent = endpoint.requests
    again = run_shards(synthesize, images, {**JOB, "endpoint": endpoint.url, "wait": 10}, shards=2, executor="local")
    assert (again.ran, again.skipped, again.versions, endpoint.requests) == ([], [0, 1], [], sent)
    assert "2 finished by an earlier run and not redone" in again.message
    # Split another way it is another run (new journals: the work is done again), so resuming needs the same --shards.
    third = run_shards(synthesize, images, {**JOB, "endpoint": endpoint.url, "limit": 1}, shards=3, executor="inline")
    assert third.ran == [0, 1, 2] and third.skipped == [] and len(shard_rows(images)) == 5


def test_a_killed_shard_fails_alone_and_a_rerun_does_only_it(images, endpoint, tmp_path):
    job = {**JOB, "endpoint": endpoint.url, "trap": str(tmp_path / "trap"), "doomed": "1/2", "how": "exit"}
    with pytest.raises(ShardsFailed, match=r"1 of 2 shards .* failed \(1/2\).*died.*Rerun the same command") as failed:
        run_shards(doomed_synthesize, images, job, shards=2, executor="local", workers=2, retries=0)
    assert failed.value.result.ran == [0]
    assert shard_rows(images) == [{"shard": 0, "shards": 2}]
    first = counts(images)
    resumed = run_shards(doomed_synthesize, images, job, shards=2, executor="local", workers=2, retries=0)
    assert (resumed.ran, resumed.skipped) == ([1], [0])
    assert shard_rows(images) == [{"shard": 0, "shards": 2}, {"shard": 1, "shards": 2}]
    records, ids, versions = counts(images)
    assert records == ids == first[0] + resumed.totals["records"] and versions == first[2] + len(resumed.versions)
    assert resumed.totals["made"] + failed.value.result.totals["made"] == 6


def test_a_shard_whose_worker_died_is_started_again_with_retries(images, endpoint, tmp_path):
    job = {**JOB, "endpoint": endpoint.url, "trap": str(tmp_path / "trap"), "doomed": "0/2", "how": "exit"}
    result = run_shards(doomed_synthesize, images, job, shards=2, executor="local", workers=1, retries=1)
    assert result.ran == [0, 1] and result.totals["made"] == 6 and (tmp_path / "trap").exists()


def test_an_error_in_a_shard_is_reported_after_the_others_ran(images, endpoint):
    job = {**JOB, "endpoint": endpoint.url, "sources": ["nope"]}
    with pytest.raises(ShardsFailed, match=r"2 of 2 shards of synthesize failed \(0/2, 1/2\): shard 0/2: .*nope"):
        run_shards(synthesize, images, job, shards=2, executor="inline")
    with pytest.raises(InputError, match="one or the other"):
        run_shards(synthesize, images, {**job, "shard": "0/2"}, shards=2, executor="inline")
    with pytest.raises(InputError, match="--executor 'slurm'"):
        run_shards(synthesize, images, job, shards=2, executor="slurm")


def test_without_ray_the_ray_executor_says_what_to_install(images, endpoint, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    with pytest.raises(MissingExtra, match=r"pip install 'mmdata\[ray\]'"):
        run_shards(synthesize, images, {**JOB, "endpoint": endpoint.url}, shards=2, executor="ray")
    monkeypatch.setenv("COLUMNS", "200")
    out = CliRunner().invoke(
        app,
        ["--store", str(images.root), "synthesize", "--type", "visual-context", "--from", "pics", "--into", "vc"]
        + ["--endpoint", endpoint.url, "--executor", "ray", "--shards", "2"],
    )
    assert out.exit_code == 1 and "pip install 'mmdata[ray]'" in out.output


@pytest.fixture
def ray_cluster():
    ray = pytest.importorskip("ray")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR")
    yield ray
    ray.shutdown()


def _kill_when_trapped(trap: Path, killed: list) -> threading.Thread:
    def watch():
        deadline = time.monotonic() + 60
        while not trap.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        pid = int(trap.read_text())
        os.kill(pid, signal.SIGKILL)
        killed.append(pid)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def test_ray_runs_four_shards_one_killed_then_resumes(images, endpoint, tmp_path, ray_cluster):
    trap = tmp_path / "trap"
    job = {**JOB, "endpoint": endpoint.url, "trap": str(trap), "doomed": "2/4", "how": "wait"}
    killed: list = []
    watcher = _kill_when_trapped(trap, killed)
    with pytest.raises(ShardsFailed, match=r"1 of 4 shards .* \(2/4\).*WorkerCrashedError.*Rerun") as failed:
        run_shards(doomed_synthesize, images, job, shards=4, executor="ray", retries=0)
    watcher.join(5)
    assert killed and failed.value.result.ran == [0, 1, 3]
    assert [r["shard"] for r in shard_rows(images)] == [0, 1, 3]
    resumed = run_shards(doomed_synthesize, images, job, shards=4, executor="ray", retries=0)
    assert (resumed.ran, resumed.skipped) == ([2], [0, 1, 3])
    assert [r["shard"] for r in shard_rows(images)] == [0, 1, 2, 3]
    records, ids, _ = counts(images)
    assert records == ids and failed.value.result.totals.get("made", 0) + resumed.totals.get("made", 0) == 6


def test_cli_local_executor_and_its_mistakes(images, endpoint, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    runner = CliRunner()
    base = ["--store", str(images.root), "synthesize", "--type", "visual-context", "--from", "pics", "--into", "vc"]
    base += ["--endpoint", endpoint.url, "--model", "m"]
    out = runner.invoke(app, [*base, "--executor", "local", "--workers", "2", "--json"])
    assert out.exit_code == 0, out.output
    summary = json.loads(out.output)
    assert (summary["ran"], summary["shards"], summary["totals"]["made"]) == ([0, 1], 2, 6)
    out = runner.invoke(app, [*base, "--executor", "local", "--workers", "2"])
    assert out.exit_code == 0 and "2 finished by an earlier run and not redone" in out.output
    for extra, says in [
        (["--executor", "local", "--shard", "0/2"], "give one or the other"),
        (["--executor", "ray"], "--executor ray needs --shards N"),
        (["--shards", "2"], "--shards need --executor local or ray"),
        (["--executor", "local", "--dry-run"], "leave out --executor"),
        (["--executor", "local", "--shards", "0"], "--shards must be at least 1"),
    ]:
        out = runner.invoke(app, [*base, *extra])
        assert out.exit_code == 1 and says in " ".join(out.output.split()), (extra, out.output)


def _chat_file(path: Path, n: int, tag: str) -> Path:
    turns = lambda i: [{"role": "user", "content": f"{tag} q{i}"}, {"role": "assistant", "content": f"{tag} a{i}"}]  # noqa: E731
    return write_jsonl(path, [{"kind": "text", "chat": turns(i)} for i in range(n)])


def test_import_of_several_files_inline_and_as_shards(store, tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    runner = CliRunner()
    files = [str(_chat_file(tmp_path / f"part{i}.jsonl", 2 + i, f"p{i}")) for i in range(3)]
    out = runner.invoke(app, ["--store", str(store.root), "import", *files[:2], "--into", "chats", "--json"])
    assert out.exit_code == 0, out.output
    assert [(r["version"], r["imported"]) for r in json.loads(out.output)] == [(1, 2), (2, 3)]
    out = runner.invoke(app, ["--store", str(store.root), "import", *files[:2], "--into", "chats", "--replace"])
    assert out.exit_code == 1 and "--replace makes the dataset exactly one input" in out.output
    # One shard per file, in two processes; the two files already imported make no version.
    args = ["--store", str(store.root), "import", *files, "--into", "chats", "--executor", "local", "--workers", "2"]
    out = runner.invoke(app, [*args, "--json"])
    assert out.exit_code == 0, out.output
    summary = json.loads(out.output)
    assert (summary["ran"], summary["versions"], summary["totals"]["added"]) == ([0, 1, 2], [3], 4)
    assert rows(store, "SELECT count(*) AS n FROM chats") == [{"n": 9}]
    out = runner.invoke(app, args)
    assert out.exit_code == 0 and "3 finished by an earlier run and not redone" in out.output


def test_shards_on_a_team_store(team_store, tmp_path):
    """The Store each process gets is the team store (PostgreSQL catalog, S3 data): its address travels, not a path."""
    from mmdata.importing import import_each

    files = [str(_chat_file(tmp_path / f"part{i}.jsonl", 2, f"t{i}")) for i in range(2)]
    job = {"sources": files, "into": "chats"}
    result = run_shards(import_each, team_store, job, shards=2, executor="local", workers=2)
    assert (result.ran, len(result.versions), result.totals["added"]) == ([0, 1], 2, 4)
    assert rows(team_store, "SELECT count(*) AS n FROM chats") == [{"n": 4}]
    assert run_shards(import_each, team_store, job, shards=2, executor="local").skipped == [0, 1]
