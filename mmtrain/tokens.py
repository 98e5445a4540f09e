"""The placeholder tokens and how many positions a medium takes: the one place data and model agree on it.

A record's text says ``<image>`` / ``<audio>`` where a medium stands (in media-list order). For
training and generation each becomes ``<image>`` + N x ``<|image_pad|>`` + ``</image>`` (likewise for
audio), so the sequence length is known before the model runs (packing needs it) and the model
writes the projected features over the pad positions in order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from mmdata.records import PLACEHOLDERS

IMAGE, IMAGE_END, IMAGE_PAD = PLACEHOLDERS["image"], "</image>", "<|image_pad|>"
AUDIO, AUDIO_END, AUDIO_PAD = PLACEHOLDERS["audio"], "</audio>", "<|audio_pad|>"
SPECIAL_TOKENS = [IMAGE, IMAGE_END, IMAGE_PAD, AUDIO, AUDIO_END, AUDIO_PAD]

SAMPLE_RATE = 16000
HOP_LENGTH = 160  # Whisper's mel hop: 100 mel frames per second; the encoder halves it to 50 per second


def window_samples(max_source_positions: int) -> int:
    """Audio samples one encoder window holds (480,000 = 30 s for the real Whisper, 1500 positions)."""
    return 2 * max_source_positions * HOP_LENGTH


def audio_windows(num_samples: int, max_source_positions: int) -> list[int]:
    """Valid samples in each encoder window of a clip: longer clips are split, never truncated."""
    size = window_samples(max_source_positions)
    full, rest = divmod(max(num_samples, 1), size)
    return [size] * full + ([rest] if rest else [])


def window_tokens(valid_samples: int, kernel: int, stride: int) -> int:
    """LLM positions one window's audio takes after the Conv1d projector: proportional to its length.

    The encoder gives one frame per 320 samples (20 ms); only the frames of real audio go through
    the projector (at least ``kernel`` of them, so a very short clip still yields one token).
    """
    frames = max(math.ceil(valid_samples / (2 * HOP_LENGTH)), kernel)
    return (frames - kernel) // stride + 1


def audio_tokens(num_samples: int, max_source_positions: int, kernel: int, stride: int) -> int:
    """LLM positions a whole clip takes: the sum over its windows."""
    return sum(window_tokens(v, kernel, stride) for v in audio_windows(num_samples, max_source_positions))


@dataclass(frozen=True)
class MediaLayout:
    """How many LLM positions each medium takes, read from a model's config by ``MmConfig.media_layout()``."""

    image_tokens: int
    max_source_positions: int
    kernel: int
    stride: int

    def windows(self, num_samples: int) -> list[int]:
        return audio_windows(num_samples, self.max_source_positions)

    def audio_tokens(self, num_samples: int) -> int:
        return audio_tokens(num_samples, self.max_source_positions, self.kernel, self.stride)
