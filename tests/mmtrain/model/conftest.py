"""Tiny composed models and batches with real placeholder layouts for the model tests."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mmtrain.tokens import AUDIO, AUDIO_END, AUDIO_PAD, IMAGE, IMAGE_END, IMAGE_PAD


@pytest.fixture
def tiny():
    """A fresh (model, tokenizer, image_processor, feature_extractor), qwen2 family."""
    from mmtrain.tiny import build_tiny_model

    return build_tiny_model()


def expand(text: str, layout, clips: list[int]) -> str:
    """Turn each <image>/<audio> of ``text`` into start + pads + end (audio lengths from ``clips``, in order)."""
    out, clips = [], list(clips)
    for piece in text.replace(IMAGE, "\0I\0").replace(AUDIO, "\0A\0").split("\0"):
        if piece == "I":
            out.append(IMAGE + IMAGE_PAD * layout.image_tokens + IMAGE_END)
        elif piece == "A":
            out.append(AUDIO + AUDIO_PAD * layout.audio_tokens(clips.pop(0)) + AUDIO_END)
        else:
            out.append(piece)
    return "".join(out)


def images(n: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(n, 3, 32, 32, generator=torch.Generator().manual_seed(seed))


def audio_inputs(clips: list[int], feature_extractor, layout, seed: int = 0):
    """Random clips of ``clips`` samples -> (audio_features, audio_window_samples), window after window."""
    rng = np.random.default_rng(seed)
    windows, valid = [], []
    for n in clips:
        wave, start = rng.standard_normal(n).astype(np.float32) * 0.1, 0
        for size in layout.windows(n):
            windows.append(wave[start : start + size]), valid.append(size)
            start += size
    feats = feature_extractor(windows, sampling_rate=16000, return_tensors="pt")["input_features"]
    return feats, torch.tensor(valid)


def batch(tokenizer, feature_extractor, layout, texts: list[str], n_images: int = 0, clips=(), seed: int = 0):
    """Right-padded rows of ``texts`` (placeholders expanded, media in order across rows) + media + labels."""
    clips = list(clips)
    rows, taken = [], 0
    for text in texts:
        here = text.count(AUDIO)
        rows.append(tokenizer(expand(text, layout, clips[taken : taken + here]))["input_ids"])
        taken += here
    width = max(map(len, rows))
    ids = torch.full((len(rows), width), tokenizer.pad_token_id)
    mask = torch.zeros_like(ids)
    for i, row in enumerate(rows):
        ids[i, : len(row)], mask[i, : len(row)] = torch.tensor(row), 1
    out = {"input_ids": ids, "attention_mask": mask, "labels": ids.masked_fill(mask == 0, -100)}
    if n_images:
        out["pixel_values"] = images(n_images, seed)
    if clips:
        out["audio_features"], out["audio_window_samples"] = audio_inputs(clips, feature_extractor, layout, seed)
    return out
