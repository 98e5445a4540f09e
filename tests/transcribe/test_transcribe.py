import json
import signal
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from mmdata.cli import app
from mmdata.errors import InputError
from mmdata.querying import query
from mmdata.store.media import probe
from mmdata.transcribe import DEFAULT_FILTER, transcribe
from mmdata.transcribe.quality import compression_ratio, repeated_ngram
from mmdata.validation import validate
from tests.conftest import write_jsonl


def rows(store, sql):
    return query(sql, store).table.to_pylist()


def test_chunks_become_transcript_records_with_their_own_clips(speech_store, tiny_model):
    result = transcribe("speech", "speech_tx", speech_store, model=tiny_model, beam_size=1, batch_size=4)
    assert (result.transcribed, result.failed, result.version) == (3, 0, 1)
    assert result.chunks == 3 and result.real_time_factor > 0
    records = rows(speech_store, "SELECT * FROM speech_tx ORDER BY parent_audio_id")
    parents = {r["media_id"] for r in rows(speech_store, "SELECT media_id FROM speech")}
    assert {r["parent_audio_id"] for r in records} == parents
    for r in records:
        clip = probe(speech_store.media.path(r["media_id"]))
        assert clip.ext == ".ogg" and clip.sample_rate == 16000
        assert clip.duration_s == pytest.approx(r["end"] - r["start"], abs=0.05)
        assert r["model"] == tiny_model and json.loads(r["settings"])["languages"] == ["ms", "en"]
        assert r["language"] and 0 <= r["language_prob"] <= 1
        for lang in ("ms", "en"):  # one forced pass per language, each with its own scores
            assert r[f"avg_logprob_{lang}"] is not None and r[f"compression_ratio_{lang}"] is not None
            assert r[f"repeated_ngram_{lang}"] in (True, False)
    assert validate("speech_tx", speech_store).ok
    with speech_store.reader() as con:
        lineage = con.execute("SELECT parents FROM lake._versions WHERE dataset = 'speech_tx'").fetchone()
    assert lineage == (["speech@1"],)


def test_fixed_chunking_and_auto_language(speech_store, tiny_model):
    fixed = transcribe("speech", "fixed_tx", speech_store, model=tiny_model, chunking="fixed", max_chunk_seconds=2, beam_size=1)
    spans = rows(speech_store, 'SELECT start, "end" FROM fixed_tx')
    assert fixed.chunks == len(spans) > 3 and all(s["end"] - s["start"] == 2 for s in spans)
    auto = transcribe("speech", "auto_tx", speech_store, model=tiny_model, languages="auto", beam_size=1)
    assert auto.chunks == 3
    for r in rows(speech_store, "SELECT language, text_ms, text_en, extra FROM auto_tx"):
        # One pass, in the detected language; languages other than ms/en keep their text in extra.
        texts = {k: v for k, v in (json.loads(r["extra"]) if r["extra"] else {}).items() if k.startswith("text_")}
        texts.update({f"text_{lang}": r[f"text_{lang}"] for lang in ("ms", "en") if r[f"text_{lang}"] is not None})
        assert set(texts) <= {f"text_{r['language']}"}


def test_bad_and_silent_audio_are_recorded_not_fatal(speech_store, tiny_model, tmp_path):
    from tests.conftest import make_wav

    silent = tmp_path / "quiet"
    make_wav(silent / "silence.wav", seconds=2.0, freq=0.0)
    from mmdata.importing import import_

    import_(silent, "speech", speech_store)
    victims = rows(
        speech_store,
        "SELECT media_id FROM speech WHERE media_id IN (SELECT id FROM _media WHERE duration_s > 2.5) ORDER BY media_id LIMIT 2",
    )
    speech_store.media.path(victims[0]["media_id"]).write_bytes(b"garbage")
    speech_store.media.path(victims[1]["media_id"]).unlink()
    result = transcribe("speech", "tx", speech_store, model=tiny_model, beam_size=1)
    assert result.failures_by_reason == {"bad-audio": 2, "no-speech": 1} and result.transcribed == 1
    rejects = rows(speech_store, "SELECT rule FROM _rejects WHERE dataset = 'tx' ORDER BY rule")
    assert [r["rule"] for r in rejects] == ["bad-audio", "bad-audio", "no-speech"]


KILL_AFTER_FIRST = """
import os, signal, sys
from mmdata.transcribe import transcribe
calls = []
def progress(task, done, total=None):
    calls.append(done)
    if len(calls) == 1:
        os.kill(os.getpid(), signal.SIGKILL)
transcribe("speech", "tx", sys.argv[1], model=sys.argv[2], beam_size=1, progress=progress)
"""


def test_killed_transcription_resumes_per_audio_item(speech_store, tiny_model):
    proc = subprocess.run([sys.executable, "-c", KILL_AFTER_FIRST, str(speech_store.root), tiny_model])
    assert proc.returncode == -signal.SIGKILL
    resumed = transcribe("speech", "tx", speech_store, model=tiny_model, beam_size=1)
    assert (resumed.already, resumed.transcribed) == (1, 2)
    assert rows(speech_store, "SELECT count(DISTINCT parent_audio_id) AS n FROM tx") == [{"n": 3}]
    again = transcribe("speech", "tx", speech_store, model=tiny_model, beam_size=1)
    assert (again.already, again.transcribed, again.version) == (3, 0, None)


def test_shards_partition_the_audio(speech_store, tiny_model):
    for i in range(2):
        transcribe("speech", "sharded", speech_store, model=tiny_model, beam_size=1, shard=f"{i}/2")
    parents = rows(speech_store, "SELECT parent_audio_id AS p FROM sharded ORDER BY p")
    assert [r["p"] for r in parents] == [r["m"] for r in rows(speech_store, "SELECT media_id AS m FROM speech ORDER BY m")]


def test_wrong_inputs(speech_store, tiny_model, tmp_path):
    with pytest.raises(InputError, match="--chunking"):
        transcribe("speech", "x", speech_store, model=tiny_model, chunking="words")
    with pytest.raises(InputError, match="--max-chunk-seconds"):
        transcribe("speech", "x", speech_store, model=tiny_model, max_chunk_seconds=45)
    from mmdata.importing import import_

    import_(
        write_jsonl(
            tmp_path / "c.jsonl",
            [{"kind": "text", "chat": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}],
        ),
        "chats",
        speech_store,
    )
    with pytest.raises(InputError, match="holds conversation records"):
        transcribe("chats", "x", speech_store, model=tiny_model)


def test_quality_signals_and_default_filter(speech_store, tiny_model):
    assert repeated_ngram("saya suka makan nasi " * 5) and not repeated_ngram("saya suka makan nasi lemak")
    assert compression_ratio("ha " * 100) > 2.4 > compression_ratio("Selamat pagi, apa khabar semua?")
    transcribe("speech", "tx", speech_store, model=tiny_model, beam_size=1)
    kept = rows(speech_store, f"SELECT count(*) AS n FROM tx WHERE {DEFAULT_FILTER.sql('ms')}")
    assert kept == [{"n": 0}]  # a random model's noise passes none of the bounds


def test_transcribe_command(speech_store, tiny_model):
    result = CliRunner().invoke(
        app,
        [
            "--store",
            str(speech_store.root),
            "transcribe",
            "speech",
            "--into",
            "tx",
            "--model",
            tiny_model,
            "--beam-size",
            "1",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["chunks"] == 3
    missing = CliRunner().invoke(
        app, ["--store", str(speech_store.root), "transcribe", "speech", "--into", "tx2", "--model", "/no/such/model"]
    )
    assert missing.exit_code == 1 and "cannot load Whisper model" in missing.output


def test_without_faster_whisper_the_error_says_what_to_install(speech_store, monkeypatch):
    from mmdata.errors import MmdataError

    monkeypatch.setitem(sys.modules, "faster_whisper", None)  # what an import finds when the package is missing
    with pytest.raises(MmdataError, match=r"pip install 'mmdata\[transcribe\]'"):
        transcribe("speech", "tx", speech_store)


def test_docstring_examples_run():
    import doctest

    from mmdata.transcribe import quality

    assert doctest.testmod(quality).failed == 0
