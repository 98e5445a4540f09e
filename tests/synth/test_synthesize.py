import json
import signal
import subprocess
import sys
import time

import pytest
from typer.testing import CliRunner

from mmdata.cli import app
from mmdata.errors import InputError
from mmdata.querying import query
from mmdata.synth import synthesize
from mmdata.synth.endpoint import EndpointDown, RateLimiter
from mmdata.validation import validate
from tests.synth.endpoint import FakeEndpoint


def rows(store, sql):
    return query(sql, store).table.to_pylist()


def chats(store, name):
    return [json.loads(r["j"]) for r in rows(store, f"SELECT to_json(chat) AS j FROM {name} ORDER BY id")]


def assert_bilingual(store, name):
    for chat in chats(store, name):
        for turn in chat:
            assert turn["content"] and turn["content_ms"] and turn["content_ms"] != "None"
    assert validate(name, store).ok


def test_audio_instructions_from_transcripts(transcripts, endpoint):
    result = synthesize("audio-instructions", ["tx"], "ai", transcripts, endpoint=endpoint.url, model="m", seed=1)
    # 3 chunks x 2 languages = 6 contexts; 2 questions each (the recipe's questions_per_item).
    assert (result.items, result.made, result.rejected, result.records) == (6, 6, 0, 12)
    assert_bilingual(transcripts, "ai")
    record = rows(transcripts, "SELECT * FROM ai LIMIT 1")[0]
    chat = json.loads(rows(transcripts, f"SELECT to_json(chat) AS j FROM ai WHERE id = '{record['id']}'")[0]["j"])
    assert chat[0]["content"].startswith("<audio>\n") and chat[0]["content_ms"].startswith("<audio>\n")
    assert 4 <= len(chat) <= 6  # question + answer, then 1-2 follow-up pairs
    generation = json.loads(record["generation"])
    assert generation["model"] == "m" and generation["endpoint"] == endpoint.url.split("/")[2]
    assert generation["recipe"] == "audio-instructions" and len(generation["recipe_hash"]) == 16
    assert generation["tokens"]["completion"] > 0 and generation["requests"] >= 5
    assert rows(transcripts, "SELECT parents FROM _versions WHERE dataset = 'ai'") == [{"parents": ["tx@1"]}]


def test_visual_context_sends_the_image_with_vision(images, endpoint):
    result = synthesize("visual-context", ["pics"], "vc", images, endpoint=endpoint.url, vision=True, limit=2)
    assert (result.made, result.rejected) == (2, 0)
    assert_bilingual(images, "vc")
    first = endpoint.prompts[0]["messages"][0]["content"]
    assert first[1]["type"] == "image_url" and first[1]["image_url"]["url"].startswith("data:image/png;base64,")


@pytest.mark.parametrize(
    "kind,k,sources,images_each,audios_each",
    [
        ("multi-image", 2, ["pics"], 2, 0),
        ("multi-image", 3, ["pics"], 3, 0),
        ("multi-audio", 2, ["tx"], 0, 2),
        ("image-audio", 2, ["pics", "tx"], 1, 1),
    ],
)
def test_relationship_types(images, transcripts, endpoint, kind, k, sources, images_each, audios_each):
    result = synthesize(kind, sources, "rel", images, endpoint=endpoint.url, items_per_record=k, seed=3)
    assert result.made > 0 and result.rejected == 0
    for r in rows(images, "SELECT len(images) AS i, len(audios) AS a, kind, source FROM rel"):
        assert (r["i"], r["a"], r["kind"]) == (images_each, audios_each, kind)
    all_sources = [s for r in rows(images, "SELECT source FROM rel") for s in r["source"]]
    assert len(all_sources) == len(set(all_sources))  # drawn without replacement
    assert_bilingual(images, "rel")


def test_translate_fills_malay_and_english(conversations, endpoint):
    result = synthesize("translate", ["chats"], "chats_bi", conversations, endpoint=endpoint.url)
    assert (result.made, result.rejected) == (2, 0)
    assert_bilingual(conversations, "chats_bi")
    malay_first = [c for c in chats(conversations, "chats_bi") if c[0]["content_ms"].startswith("Apakah")][0]
    assert malay_first[0]["content"].startswith("This is")  # written in Malay: English made, Malay kept


def test_dry_run_sends_nothing(images, endpoint):
    result = synthesize("multi-image", ["pics"], "x", images, endpoint=endpoint.url, dry_run=True)
    assert endpoint.requests == 0 and len(result.prompts) == 3
    assert "Picture 1: " in result.prompts[0]["messages"][0]["content"]


@pytest.mark.parametrize("fault", ["429", "500", "503", "timeout", "reset", "empty", "length", "garbage", "english-ms"])
def test_faults_are_retried(images, endpoint, fault):
    endpoint.faults.extend([fault, fault])
    result = synthesize("multi-image", ["pics"], "x", images, endpoint=endpoint.url, limit=1, concurrency=1, timeout=1.0)
    assert (result.made, result.rejected) == (1, 0)
    if fault not in ("garbage", "english-ms"):  # those two are answers, retried above the HTTP layer
        assert result.retries >= 2


def test_persistent_faults_reject_the_item_with_reason_and_raw_answer(images, endpoint):
    endpoint.faults.extend(["english-ms"] * 20)
    result = synthesize("multi-image", ["pics"], "x", images, endpoint=endpoint.url, limit=1, concurrency=1)
    assert result.rejects_by_reason == {"language-check": 1}
    reject = rows(images, "SELECT rule, record FROM _rejects WHERE dataset = 'x'")[0]
    assert json.loads(reject["record"])["raw_answer"] == "This is English, not Malay."
    endpoint.faults.clear()
    endpoint.faults.extend(["400"])
    again = synthesize("multi-image", ["pics"], "y", images, endpoint=endpoint.url, limit=1, concurrency=1)
    assert again.rejects_by_reason == {"http-400": 1}


def test_endpoint_down_stops_with_a_clear_message_and_keeps_the_work(images):
    server = FakeEndpoint()
    made = synthesize("multi-image", ["pics"], "x", images, endpoint=server.url, limit=1)
    assert made.made == 1
    server.close()
    start = time.monotonic()
    with pytest.raises(EndpointDown, match="gave no usable answer"):
        synthesize("multi-image", ["pics"], "x", images, endpoint=server.url, give_up_after=1.0, timeout=0.5)
    assert time.monotonic() - start < 30
    assert rows(images, "SELECT count(*) AS n FROM x") == [{"n": 1}]


KILL_AFTER_TWO = """
import os, signal, sys
from mmdata.synth import synthesize
def progress(task, done, total=None, note=None):
    if done == 2:
        os.kill(os.getpid(), signal.SIGKILL)
synthesize("visual-context", ["pics"], "vc", sys.argv[1], endpoint=sys.argv[2], concurrency=1, progress=progress)
"""


def test_resume_after_sigkill_repeats_no_answered_request(images, endpoint):
    proc = subprocess.run([sys.executable, "-c", KILL_AFTER_TWO, str(images.root), endpoint.url])
    assert proc.returncode == -signal.SIGKILL
    sent_before = endpoint.requests
    resumed = synthesize("visual-context", ["pics"], "vc", images, endpoint=endpoint.url, concurrency=1)
    assert (resumed.already, resumed.made) == (2, 4)
    assert resumed.requests_sent == endpoint.requests - sent_before
    assert rows(images, "SELECT count(*) AS n FROM vc") == [{"n": 6}]
    again = synthesize("visual-context", ["pics"], "vc", images, endpoint=endpoint.url)
    assert (again.requests_sent, again.made, again.version) == (0, 0, None)
    # A fresh journal still pays nothing twice: every answer comes from the request cache.
    fresh = synthesize("visual-context", ["pics"], "vc_copy", images, endpoint=endpoint.url)
    assert fresh.requests_sent == 0 and fresh.requests_cached > 0 and fresh.made == 6


def test_rpm_limit_spaces_requests():
    import asyncio

    async def six():
        limiter = RateLimiter(rpm=1200, tpm=None)  # one request every 50 ms
        start = time.monotonic()
        for _ in range(6):
            await limiter.acquire()
        return time.monotonic() - start

    assert asyncio.run(six()) >= 0.25


def test_tpm_limit_waits_for_the_window_to_free():
    import asyncio

    async def three():
        limiter = RateLimiter(rpm=None, tpm=100, window=0.3)
        start = time.monotonic()
        await limiter.acquire()
        limiter.charge(150)  # over budget: the next request waits until this leaves the window
        await limiter.acquire()
        return time.monotonic() - start

    assert asyncio.run(three()) >= 0.3


def test_shards_partition_the_items(images, endpoint):
    parts = [synthesize("visual-context", ["pics"], "vc", images, endpoint=endpoint.url, shard=f"{i}/2") for i in range(2)]
    assert sum(p.items for p in parts) == 6 and all(p.rejected == 0 for p in parts)
    assert rows(images, "SELECT count(*) AS n FROM vc") == [{"n": 6}]


def test_bad_requests(images, endpoint):
    with pytest.raises(InputError, match="--type"):
        synthesize("poems", ["pics"], "x", images, endpoint=endpoint.url)
    with pytest.raises(InputError, match="audio sources"):
        synthesize("multi-audio", ["pics"], "x", images, endpoint=endpoint.url)
    with pytest.raises(InputError, match="no endpoint"):
        synthesize("multi-image", ["pics"], "x", images, endpoint=None)


def test_synthesize_command(images, endpoint):
    runner = CliRunner()
    dry = runner.invoke(
        app,
        [
            "--store",
            str(images.root),
            "synthesize",
            "--type",
            "multi-image",
            "--from",
            "pics",
            "--into",
            "mi",
            "--endpoint",
            endpoint.url,
            "--dry-run",
        ],
    )
    assert dry.exit_code == 0 and "Picture 1" in dry.output and endpoint.requests == 0
    real = runner.invoke(
        app,
        [
            "--store",
            str(images.root),
            "synthesize",
            "--type",
            "multi-image",
            "--from",
            "pics",
            "--into",
            "mi",
            "--endpoint",
            endpoint.url,
            "--model",
            "m",
            "--items",
            "3",
        ],
    )
    assert real.exit_code == 0, real.output
    assert "mi: 2 items -> 2 conversations" in real.output
