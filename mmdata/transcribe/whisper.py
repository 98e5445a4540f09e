"""faster-whisper, driven chunk by chunk: language detection and forced-language passes, batched."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mmdata.audio import SAMPLE_RATE
from mmdata.errors import MmdataError
from mmdata.transcribe.quality import compression_ratio, repeated_ngram


@dataclass
class Pass:
    """One chunk transcribed in one language."""

    text: str | None  # None when the model produced nothing
    avg_logprob: float | None
    no_speech_prob: float | None
    compression_ratio: float
    repeated_ngram: bool


def load_model(name: str, device: str = "auto", compute_type: str = "default"):
    """A WhisperModel from a faster-whisper name (downloaded once by faster-whisper) or a local CTranslate2 folder."""
    from faster_whisper import WhisperModel

    try:
        return WhisperModel(name, device=device, compute_type=compute_type, local_files_only=Path(name).is_dir())
    except Exception as exc:  # ctranslate2 / huggingface_hub raise many kinds for a bad model
        raise MmdataError(f"cannot load Whisper model {name!r} on {device} ({compute_type}): {exc}") from exc


def detect_languages(model, samples: np.ndarray, chunks: list[tuple[float, float]], batch_size: int) -> list[tuple[str, float]]:
    """(language, probability) per chunk, from one encoder pass per chunk, in batches."""
    from faster_whisper.audio import pad_or_trim

    found = []
    for i in range(0, len(chunks), batch_size):
        features = np.stack(
            [
                pad_or_trim(model.feature_extractor(samples[int(s * SAMPLE_RATE) : int(e * SAMPLE_RATE)])[..., :-1])
                for s, e in chunks[i : i + batch_size]
            ]
        )
        for results in model.model.detect_language(model.encode(features)):
            token, probability = results[0]
            found.append((token[2:-2], float(probability)))
    return found


def transcribe_chunks(
    pipeline, samples: np.ndarray, chunks: list[tuple[float, float]], language: str, batch_size: int, beam_size: int
) -> list[Pass]:
    """Each chunk decoded with ``language`` forced, through faster-whisper's batched pipeline.

    The pipeline reports every segment with the ``seek`` (frame offset) of the chunk it came
    from, which is how segments are given back to their chunk, whatever the model emits.
    """
    clips = [{"start": s, "end": e} for s, e in chunks]
    segments, _ = pipeline.transcribe(
        samples,
        language=language,
        clip_timestamps=clips,
        vad_filter=False,
        batch_size=batch_size,
        beam_size=beam_size,
        without_timestamps=True,
        temperature=0.0,
        log_progress=False,
    )
    fps = pipeline.model.frames_per_second
    index = {int(s * fps): i for i, (s, _) in enumerate(chunks)}
    texts: list[list[str]] = [[] for _ in chunks]
    scores: list[tuple[float, float] | None] = [None] * len(chunks)
    for segment in segments:
        i = index[segment.seek]
        texts[i].append(segment.text)
        scores[i] = (segment.avg_logprob, segment.no_speech_prob)  # per chunk: the same on each of its segments
    passes = []
    for words, score in zip(texts, scores):
        text = " ".join(t.strip() for t in words).strip()
        avg_logprob, no_speech = score or (None, None)
        passes.append(Pass(text or None, avg_logprob, no_speech, round(compression_ratio(text), 4), repeated_ngram(text)))
    return passes
