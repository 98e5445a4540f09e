"""Projectors from encoder features to the LLM's hidden size (the reference model's shapes)."""

from __future__ import annotations

import torch
from torch import nn


class VisionProjector(nn.Module):
    """Linear(d_vision -> H) -> GELU -> Linear(H -> H), applied to every patch feature."""

    def __init__(self, d_vision: int, hidden: int):
        super().__init__()
        self.linear_1 = nn.Linear(d_vision, hidden)
        self.act = nn.GELU()
        self.linear_2 = nn.Linear(hidden, hidden)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """(N, patches, d_vision) -> (N, patches, H)."""
        return self.linear_2(self.act(self.linear_1(features)))


class AudioProjector(nn.Module):
    """Conv1d(d_audio -> H, kernel, stride) over encoder frames -> GELU -> Linear(H -> H).

    ``frames`` encoder frames give ``(frames - kernel) // stride + 1`` LLM positions
    (``mmtrain.tokens.window_tokens`` counts the same way).
    """

    def __init__(self, d_audio: int, hidden: int, kernel: int = 40, stride: int = 3):
        super().__init__()
        self.conv = nn.Conv1d(d_audio, hidden, kernel_size=kernel, stride=stride)
        self.act = nn.GELU()
        self.linear = nn.Linear(hidden, hidden)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        """(N, frames, d_audio) -> (N, tokens, H)."""
        x = self.conv(frames.transpose(1, 2)).transpose(1, 2)
        return self.linear(self.act(x))
