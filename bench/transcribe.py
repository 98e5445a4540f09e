"""Transcription speed on one tiny random Whisper and the same audio, three ways, plus crawl overhead.

1. sequential ``WhisperModel.transcribe`` (one 30 s window after another),
2. faster-whisper's ``BatchedInferencePipeline`` (what ``mmdata transcribe`` drives),
3. plain transformers ``generate`` over 30 s windows, same architecture and weights (for scale),
all with greedy decoding and the same cap on new tokens (a random model never stops by itself).
Figures: audio-seconds per wall-second, and ratios to (1). Then ``mmdata crawl`` per item vs bare
yt-dlp downloading the same local files.

    python bench/transcribe.py [--audio-seconds 120] [--items 20]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine  # noqa: E402

SENTENCES = [
    "Selamat pagi semua, hari ini kita belajar sejarah Malaysia.",
    "The weather in Kuala Lumpur is hot and humid today.",
    "Harga durian di pasar malam naik lagi minggu ini.",
    "Nasi lemak and teh tarik make a classic Malaysian breakfast.",
]
MAX_NEW_TOKENS = 48
SHAPES = {
    "test": dict(d_model=32, layers=2, heads=2, ffn=64, n_mels=80),
    "whisper-tiny": dict(d_model=384, layers=4, heads=6, ffn=1536, n_mels=80),
    "large-v3": dict(d_model=1280, layers=32, heads=20, ffn=5120, n_mels=128, quantization="float16"),
}


def speech(folder: Path, seconds: float) -> np.ndarray:
    from mmdata.audio import SAMPLE_RATE, load_16k_mono

    parts, total, i = [], 0, 0
    while total < seconds * SAMPLE_RATE:
        path = folder / f"s{i % len(SENTENCES)}.wav"
        if not path.exists():
            subprocess.run(["espeak-ng", "-w", str(path), SENTENCES[i % len(SENTENCES)]], check=True)
        parts += [load_16k_mono(path), np.zeros(int(0.8 * SAMPLE_RATE), np.float32)]
        total += parts[-2].size + parts[-1].size
        i += 1
    return np.concatenate(parts)[: int(seconds * SAMPLE_RATE)]


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def transcription(model_dir: Path, audio: np.ndarray, batch_size: int) -> None:
    from faster_whisper import BatchedInferencePipeline, WhisperModel

    seconds = audio.size / 16000
    model = WhisperModel(str(model_dir), device="cpu", compute_type="int8")
    # The same 30 s windows for all three, so each decodes the same number of windows.
    clips = [{"start": float(s), "end": float(min(s + 30, seconds))} for s in range(0, int(seconds), 30)]
    common = dict(
        language="ms", beam_size=1, temperature=0.0, without_timestamps=True, max_new_tokens=MAX_NEW_TOKENS, vad_filter=False
    )
    seeks: set[int] = set()
    sequential = timed(
        lambda: seeks.update(seg.seek for seg in model.transcribe(audio, condition_on_previous_text=False, **common)[0])
    )
    batched_pipeline = BatchedInferencePipeline(model)
    batched = timed(lambda: list(batched_pipeline.transcribe(audio, batch_size=batch_size, clip_timestamps=clips, **common)[0]))

    import torch
    from transformers import WhisperFeatureExtractor, WhisperForConditionalGeneration

    hf_dir = model_dir.parent / f"{model_dir.name}-hf"
    hf_model = WhisperForConditionalGeneration.from_pretrained(hf_dir).eval()
    extractor = WhisperFeatureExtractor.from_pretrained(hf_dir)
    windows = [audio[i : i + 30 * 16000] for i in range(0, audio.size, 30 * 16000)]

    def plain_transformers():
        with torch.inference_mode():
            for i in range(0, len(windows), batch_size):
                features = extractor(windows[i : i + batch_size], sampling_rate=16000, return_tensors="pt").input_features
                hf_model.generate(features, max_new_tokens=MAX_NEW_TOKENS, do_sample=False, num_beams=1)

    plain = timed(plain_transformers)
    print(
        f"{seconds:.0f} s of speech in {len(clips)} windows of 30 s, batch size {batch_size}, greedy, "
        f"<= {MAX_NEW_TOKENS} new tokens per window"
    )
    print(
        f"  (the sequential loop made {len(seeks)} decoding passes for {len(clips)} windows: random weights emit "
        f"timestamp tokens, and it seeks from the last one, as it would on real speech with timestamps)"
    )
    for name, wall in [
        ("faster-whisper sequential", sequential),
        ("faster-whisper batched", batched),
        ("transformers generate", plain),
    ]:
        print(f"  {name:28s} {wall:6.2f} s  {seconds / wall:8.1f} audio-s/s  ratio to sequential {sequential / wall:5.2f}")


def crawl_overhead(folder: Path, items: int) -> None:
    import yt_dlp

    from mmdata.crawl import crawl
    from tests.conftest import make_mp3

    files = [make_mp3(folder / "www" / f"clip-{i}.mp3", seconds=5.0, freq=200 + 10 * i) for i in range(items)]
    urls = [f"file://{f}" for f in files]
    options = {
        "quiet": True,
        "noprogress": True,
        "enable_file_urls": True,
        "format": "bestaudio/best",
        "outtmpl": str(folder / "bare" / "%(id)s.%(ext)s"),
    }
    with yt_dlp.YoutubeDL(options) as ydl:
        bare = timed(lambda: [ydl.extract_info(u, download=True) for u in urls])
    ours = timed(lambda: crawl(urls, "bench", folder / "store", checkpoint=0))
    print(
        f"crawl of {items} local 5 s MP3s: bare yt-dlp {bare / items * 1000:.0f} ms/item, mmdata crawl "
        f"{ours / items * 1000:.0f} ms/item (listing, download, decode, 16 kHz Opus, journal, one commit), "
        f"overhead {(ours - bare) / items * 1000:.0f} ms/item, ratio {ours / bare:.1f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--audio-seconds", type=float, default=120)
    parser.add_argument("--items", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument(
        "--shape",
        choices=sorted(SHAPES),
        default="whisper-tiny",
        help="test: d_model 32, 2 layers; whisper-tiny: 384, 4 layers; large-v3: 1280, 32 layers (GPU)",
    )
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from mmdata.transcribe.tiny import build_tiny_whisper

    print(f"# transcription benchmark on {machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        model = build_tiny_whisper(tmp / "tiny", **SHAPES[args.shape])
        print(f"random Whisper of shape {args.shape}: {SHAPES[args.shape]}")
        transcription(model, speech(tmp, args.audio_seconds), args.batch_size)
        if shutil.which("espeak-ng"):
            crawl_overhead(tmp, args.items)


if __name__ == "__main__":
    main()
