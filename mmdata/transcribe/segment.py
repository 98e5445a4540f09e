"""Where to cut audio into chunks: at silences (VAD), or every 30 s as the reference did."""

from __future__ import annotations

import math

import numpy as np

from mmdata.audio import SAMPLE_RATE


def fixed_chunks(samples: np.ndarray, seconds: float = 30.0) -> list[tuple[float, float]]:
    """The reference's cuts: back-to-back windows of ``seconds``; a shorter tail is dropped, as it was."""
    duration = samples.size / SAMPLE_RATE
    return [(k * seconds, (k + 1) * seconds) for k in range(int(duration // seconds))]


def vad_chunks(
    samples: np.ndarray, max_seconds: float = 30.0, min_silence_ms: int = 500, speech_pad_ms: int = 200
) -> list[tuple[float, float]]:
    """Chunks of at most ``max_seconds`` made of whole speech regions, cut only in silences.

    Silero VAD (shipped inside faster-whisper) finds speech; consecutive regions are joined while
    the chunk stays within ``max_seconds``. A single region longer than that is split by the VAD
    itself at its quietest point before the limit. Silence-only audio gives no chunks.
    """
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    options = VadOptions(max_speech_duration_s=max_seconds, min_silence_duration_ms=min_silence_ms, speech_pad_ms=speech_pad_ms)
    regions = [(r["start"] / SAMPLE_RATE, r["end"] / SAMPLE_RATE) for r in get_speech_timestamps(samples, options)]
    chunks: list[list[float]] = []
    for start, end in regions:
        if chunks and end - chunks[-1][0] <= max_seconds:
            chunks[-1][1] = end
        else:
            chunks.append([start, end])
    # Whole milliseconds, never past the end of the audio (faster-whisper checks that).
    duration = math.floor(samples.size / SAMPLE_RATE * 1000) / 1000
    return [(math.floor(s * 1000) / 1000, min(math.floor(e * 1000) / 1000, duration)) for s, e in chunks]
