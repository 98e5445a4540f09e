"""The one resumable job under crawl, transcribe and synthesize: journal, done set, checkpoints, tally."""

import asyncio

import pytest

from mmdata.errors import InputError
from mmdata.jobs import Failed, Job, Made
from mmdata.querying import query
from mmdata.store.versions import Lineage
from mmdata.tally import RejectTally


def chat(text):
    return {"kind": "text", "chat": [{"role": "user", "content": text}, {"role": "assistant", "content": "ok"}]}


def work(key):
    if key.startswith("bad"):
        return Failed("bad-item", f"{key} is bad", {"key": key}, file="test", retry=key.endswith("later"))
    return Made([chat(key)])


def start(store, checkpoint=0, shard=None):
    job = Job(store, "test", "jobbed", "conversation", shard=shard, checkpoint=checkpoint)
    job.start(Lineage("test"), counts=lambda: {"finished": job.finished})
    return job


def test_outcomes_are_journaled_and_a_rerun_skips_what_is_done(store):
    job = start(store, checkpoint=2)
    keys = ["a", "bad", "bad-later", "b", "c"]
    job.run(keys, str, work)
    # Versions at 2 and 4 items finished (a failure to retry is not finished); the closing commit finds nothing new.
    assert job.version == 2 and job.commit() == 2 and job.failures.rules() == {"bad-item": 2}
    assert query("SELECT count(*) AS n FROM jobbed", store).table.to_pylist() == [{"n": 3}]
    again = start(store)
    assert again.pending(keys, str) == ["bad-later"]  # only the failure marked for retry is done again
    assert again.commit() is None  # committing the same journal twice changes nothing


def test_the_marker_is_the_journal_s_own_file(store):
    job = start(store)
    job.run(["a", "bad"], str, work)
    assert job.journal.lines("done.txt") == ["a", "bad"] and job.journal.dir.name == "test-jobbed"
    assert start(store, shard="1/3").journal is not None
    assert (store.runs / "test-jobbed-shard-1-of-3").is_dir()


def test_shards_and_names_are_checked_before_anything_is_written(store):
    with pytest.raises(InputError, match="--shard"):
        Job(store, "test", "jobbed", "conversation", shard="3/2")
    assert not store.runs.exists() or not any(store.runs.iterdir())
    job = Job(store, "test", "jobbed", "conversation", shard="0/2")
    assert (
        sum(job.mine(f"k{i}") for i in range(100))
        + sum(Job(store, "test", "jobbed", "conversation", shard="1/2").mine(f"k{i}") for i in range(100))
        == 100
    )


def test_async_workers_share_the_bookkeeping_and_an_error_stops_them(store):
    job = start(store, checkpoint=3)
    in_flight, most = 0, 0

    async def slow(key):
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        await asyncio.sleep(0.01)
        in_flight -= 1
        return work(key)

    asyncio.run(job.run_async([f"k{i}" for i in range(10)], str, slow, concurrency=4))
    assert most == 4 and job.finished == 10 and job.version == 1

    async def broken(key):
        raise RuntimeError("endpoint gone")

    with pytest.raises(RuntimeError, match="endpoint gone"):
        asyncio.run(start(store).run_async(["x", "y"], str, broken, concurrency=2))


def test_reject_tally_counts_items_rules_and_keeps_samples():
    tally = RejectTally(samples=2)
    tally.add({"rule": "a", "line": 1}, {"rule": "b", "line": 1})
    tally.add({"rule": "a", "line": 2})
    assert (tally.items, tally.rules(), tally.most_common(1)) == (2, {"a": 2, "b": 1}, "a 2")
    assert [s["line"] for s in tally.samples] == [1, 1]
