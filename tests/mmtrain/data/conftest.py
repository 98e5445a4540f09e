"""A tiny mmtrain export (train/test JSONL, manifest, PNG/WAV/Opus media) and the tiny processing parts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mmtrain.tokens import SPECIAL_TOKENS, MediaLayout

RATE = 16000


def write_wav(path: Path, seconds: float, rate: int = RATE) -> None:
    import soundfile

    t = np.arange(int(round(seconds * rate))) / rate
    soundfile.write(str(path), 0.3 * np.sin(2 * np.pi * 440 * t), rate)


def write_opus(path: Path, seconds: float, rate: int = 48000) -> None:
    """An Ogg/Opus file, what mmdata stores audio as."""
    import av

    x = (0.3 * np.sin(2 * np.pi * 330 * np.arange(int(seconds * rate)) / rate)).astype(np.float32)
    with av.open(str(path), "w", format="ogg") as container:
        stream = container.add_stream("libopus", rate=rate)
        stream.layout = "mono"
        for i in range(0, len(x), 960):
            frame = av.AudioFrame.from_ndarray(x[None, i : i + 960], format="flt", layout="mono")
            frame.sample_rate, frame.pts = rate, i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def user(text):
    return {"role": "user", "content": text}


def assistant(text):
    return {"role": "assistant", "content": text}


MULTI = {
    "id": "multi",
    "kind": "conversation",
    "language": "en",
    "messages": [
        user("<image> What colour? <audio>"),
        assistant("The first is red."),
        user("And this <audio> with <image>?"),
        assistant("Blue, and a short beep."),
    ],
    "images": ["media/red.png", "media/blue.png"],
    "audios": ["media/three.wav", "media/short.wav"],
    "source": "demo@1",
}
TEXT = {
    "id": "text",
    "kind": "conversation",
    "language": "ms",
    "messages": [{"role": "system", "content": "Jawab ringkas."}, user("Apa khabar?"), assistant("Baik, terima kasih.")],
    "images": [],
    "audios": [],
    "source": "demo@1",
}
LONG = {
    "id": "long",
    "kind": "audio",
    "language": "en",
    "messages": [user("<audio> Transcribe."), assistant("A long tone.")],
    "images": [],
    "audios": ["media/long.ogg"],
    "source": "demo@1",
}


def write_export(folder: Path, train: list, test: list = ()) -> Path:
    """An export folder as `mmdata export --format mmtrain` lays it out; rows may be dicts or raw lines."""
    folder.mkdir(parents=True, exist_ok=True)
    for split, rows in (("train", train), ("test", test)):
        lines = [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in rows]
        (folder / f"{split}.jsonl").write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    (folder / "mmdata.json").write_text(
        json.dumps(
            {
                "dataset": "demo",
                "version": 1,
                "record_kind": "conversation",
                "records": len(train) + len(test),
                "format": "mmtrain",
                "splits": {"train": len(train), "test": len(test)},
                "schema": "training-record.json",
            }
        )
    )
    media = folder / "media"
    if not media.exists():
        media.mkdir()
        Image.new("RGB", (40, 30), (255, 0, 0)).save(media / "red.png")
        Image.new("RGB", (24, 48), (0, 0, 255)).save(media / "blue.png")
        write_wav(media / "three.wav", 3.0)
        write_wav(media / "short.wav", 0.3)
        write_opus(media / "long.ogg", 7.0)
    return folder


@pytest.fixture(scope="session")
def export(tmp_path_factory) -> Path:
    return write_export(tmp_path_factory.mktemp("export"), [MULTI, TEXT, LONG], [TEXT])


@pytest.fixture(scope="session")
def tokenizer():
    from mmtrain.tiny import build_tiny_tokenizer

    tok = build_tiny_tokenizer()
    tok.add_special_tokens({"additional_special_tokens": SPECIAL_TOKENS})
    return tok


@pytest.fixture(scope="session")
def layout() -> MediaLayout:
    return MediaLayout(image_tokens=16, max_source_positions=150, kernel=40, stride=3)


@pytest.fixture(scope="session")
def image_processor():
    from transformers import SiglipImageProcessor

    return SiglipImageProcessor(size={"height": 32, "width": 32}, image_mean=[0.5] * 3, image_std=[0.5] * 3)


@pytest.fixture(scope="session")
def feature_extractor():
    from transformers import WhisperFeatureExtractor

    # chunk_length=3: one window is 3 s = 300 mel frames, what max_source_positions=150 takes.
    return WhisperFeatureExtractor(feature_size=80, sampling_rate=RATE, hop_length=160, chunk_length=3, n_fft=400)
