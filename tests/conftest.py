"""Shared fixtures: a fresh store per test, small real media made on the spot, JSONL writers."""

from __future__ import annotations

import json
import math
import struct
import subprocess
import sys
import wave
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from PIL import Image

from mmdata.store.lake import Store

SAMPLES = Path(__file__).resolve().parents[1] / "mmdata" / "samples"


def make_wav(path: Path, seconds: float = 0.5, freq: float = 440.0, rate: int = 16000) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(rate)
        w.writeframes(
            b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * freq * n / rate))) for n in range(int(seconds * rate)))
        )
    return path


def make_mp3(path: Path, seconds: float = 0.4, freq: float = 300.0, rate: int = 44100) -> Path:
    """A stereo MP3 at 44.1 kHz (what a download looks like before we normalise it)."""
    import av
    import numpy as np

    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libmp3lame", rate=rate)
        stream.layout = "stereo"
        wave_ = (np.sin(2 * np.pi * freq * np.arange(int(rate * seconds)) / rate) * 0.3).astype(np.float32)
        frame = av.AudioFrame.from_ndarray(np.stack([wave_, wave_]), format="fltp", layout="stereo")
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def make_speech(path: Path, text: str, pause_s: float = 0.0) -> Path:
    """Real synthetic speech from espeak-ng (``make test`` installs it), optionally followed by silence."""
    import shutil

    assert shutil.which("espeak-ng"), "espeak-ng is needed for speech fixtures (make test installs it)"
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["espeak-ng", "-w", str(path), "-s", "150", text], check=True, capture_output=True)
    if pause_s:
        with wave.open(str(path), "rb") as w:
            params, frames = w.getparams(), w.readframes(w.getnframes())
        with wave.open(str(path), "wb") as w:
            w.setparams(params)
            w.writeframes(frames + b"\x00\x00" * int(params.framerate * pause_s))
    return path


def make_png(path: Path, colour: str = "red", size: tuple[int, int] = (16, 12)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path)
    return path


def write_jsonl(path: Path, rows: list) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in rows))
    return path


def chat(*pairs: tuple[str, str], ms: bool = True) -> list[dict]:
    """user/assistant turns from (question, answer) pairs, with a Malay side when ``ms``."""
    turns = []
    for question, answer in pairs:
        turns.append({"role": "user", "content": question, **({"content_ms": f"[ms] {question}"} if ms else {})})
        turns.append({"role": "assistant", "content": answer, **({"content_ms": f"[ms] {answer}"} if ms else {})})
    return turns


@contextmanager
def hold_write_lock(root: Path, seconds: float = 30) -> Iterator[subprocess.Popen]:
    """Another process that holds the store's write lock (for ``seconds``, or until we leave)."""
    root.mkdir(parents=True, exist_ok=True)
    code = (
        f"import time; from pathlib import Path; from mmdata.store.lock import write_lock\n"
        f"with write_lock(Path({str(root / 'write.lock')!r})):\n"
        f"    print('locked', flush=True); time.sleep({seconds})"
    )
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        yield holder
    finally:
        holder.kill()
        holder.wait()


def pytest_generate_tests(metafunc):
    # Modules marked ``both_stores`` run every test that uses ``store`` on a local and a team store.
    if "store" in metafunc.fixturenames and metafunc.definition.get_closest_marker("both_stores"):
        metafunc.parametrize("store", ["local", "team"], indirect=True)


@pytest.fixture(scope="session")
def postgres():
    """A throwaway PostgreSQL cluster (unix socket only) for the whole run; skips without PostgreSQL."""
    from tests.servers import start_postgres, stop_postgres

    try:
        server = start_postgres()
    except (RuntimeError, OSError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", "") or exc
        pytest.skip(f"no PostgreSQL for team-store tests: {detail}")
    yield server
    stop_postgres(server)


@pytest.fixture(scope="session")
def s3():
    """moto's S3 server on loopback, reached through the standard AWS environment variables."""
    import os

    from tests.servers import S3_ENV, start_s3

    try:
        server = start_s3()
    except RuntimeError as exc:
        pytest.skip(f"no S3 server for team-store tests: {exc}")
    saved = {k: os.environ.get(k) for k in [*S3_ENV, "AWS_ENDPOINT_URL"]}
    os.environ.update({**S3_ENV, "AWS_ENDPOINT_URL": server.endpoint})
    yield server
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    server.process.kill()
    server.process.wait()


@pytest.fixture
def team_store(tmp_path, postgres, s3) -> Store:
    """A fresh team store: a new PostgreSQL database as its catalog, a new bucket for data and media."""
    from mmdata.stores import init_store

    return init_store(tmp_path / "store", catalog=f"postgres:{postgres.database()}", data=f"s3://{s3.bucket()}/lake/")


@pytest.fixture
def store(request, tmp_path) -> Store:
    if getattr(request, "param", "local") == "team":
        return request.getfixturevalue("team_store")
    return Store(tmp_path / "store")


@pytest.fixture
def media(tmp_path) -> Path:
    """A folder with two images and two audio clips, as relative paths beside the input files."""
    root = tmp_path / "input"
    make_png(root / "img" / "a.png", "red")
    make_png(root / "img" / "b.png", "blue")
    make_wav(root / "aud" / "x.wav", 0.5, 440)
    make_wav(root / "aud" / "y.wav", 0.7, 660)
    return root


@pytest.fixture
def audio_instruction_file(media) -> Path:
    return write_jsonl(
        media / "audio.jsonl",
        [
            {"context": "ctx one", "filename": "aud/x.wav", "chat": chat(("What is said?", "Hello."))},
            {"context": "ctx two", "filename": "aud/y.wav", "chat": chat(("Who speaks?", "A trader."), ("Where?", "A market."))},
        ],
    )
