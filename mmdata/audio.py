"""Audio in and out with PyAV: any input decoded to 16 kHz mono, and stored as Opus in Ogg.

Why Opus at 32 kbit/s: Whisper hears 16 kHz mono; Opus is built for speech at that rate and is
transparent for ASR at 24-32 kbit/s, a quarter of the reference's 64-128 kbit/s MP3 and a
twentieth of 16-bit PCM. libsndfile (soundfile), PyAV, torchcodec and browsers all decode it.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from mmdata.errors import MediaError

SAMPLE_RATE = 16000
OPUS_BITRATE = 32000


def decode_to_end(container, stream) -> Iterator:
    """The frames of ``stream`` until its data ends or stops decoding.

    A file cut short (an interrupted download) decodes up to the cut and then errors: what
    decoded is kept, so the file counts for what it really holds. An error before any frame
    is raised: that file holds nothing.
    """
    import av

    decoded = False
    try:
        for frame in container.decode(stream):
            decoded = True
            yield frame
    except av.FFmpegError:
        if not decoded:
            raise


def load_16k_mono(path: str | Path) -> np.ndarray:
    """Decode any audio (or video's audio) to float32 samples at 16 kHz, mono."""
    import av

    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise MediaError(f"{path}: no audio stream")
            resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
            chunks = []
            for frame in decode_to_end(container, container.streams.audio[0]):
                chunks += [f.to_ndarray().reshape(-1) for f in resampler.resample(frame)]
            chunks += [f.to_ndarray().reshape(-1) for f in resampler.resample(None)]
    except MediaError:
        raise
    except Exception as exc:  # PyAV raises many types for bad input; all mean "does not decode"
        raise MediaError(f"{path}: audio does not decode ({exc})") from exc
    samples = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
    if samples.size == 0:
        raise MediaError(f"{path}: audio has no samples")
    return samples.astype(np.float32, copy=False)


def encode_opus(samples: np.ndarray, bitrate: int = OPUS_BITRATE) -> bytes:
    """16 kHz mono float32 samples -> Ogg/Opus bytes."""
    import av

    buffer = io.BytesIO()
    # bitexact: no random Ogg stream serial or encoder tag, so the same samples always give the
    # same bytes, hence the same media id (re-crawls and re-transcriptions deduplicate).
    with av.open(buffer, "w", format="ogg", options={"fflags": "+bitexact"}) as container:
        stream = container.add_stream("libopus", rate=SAMPLE_RATE)
        stream.layout = "mono"
        stream.bit_rate = bitrate
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples, np.float32).reshape(1, -1), format="flt", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return buffer.getvalue()
