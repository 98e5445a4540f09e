"""Loading media for the encoders: images through the SigLIP processor, audio as 16 kHz mono windows."""

from __future__ import annotations

import numpy as np

from mmtrain.errors import ConfigError, DataError
from mmtrain.tokens import SAMPLE_RATE, MediaLayout, window_samples


def load_image(path: str, image_processor):
    """One image as the processor's ``(3, H, W)`` float tensor (RGB whatever the file's mode)."""
    from PIL import Image

    try:
        with Image.open(path) as img:
            rgb = img.convert("RGB")
    except Exception as exc:  # PIL raises several unrelated types for unreadable files
        raise DataError(f"{path}: cannot read image ({exc})") from exc
    return image_processor(images=rgb, return_tensors="pt")["pixel_values"][0]


def load_audio(path: str) -> np.ndarray:
    """Any audio file PyAV can decode, as float32 mono samples at 16 kHz (mmdata's decoder, with
    this package's error)."""
    from mmdata.audio import load_16k_mono
    from mmdata.errors import MediaError

    try:
        return load_16k_mono(path)
    except MediaError as exc:
        raise DataError(str(exc)) from exc


def audio_features(samples: np.ndarray, feature_extractor, layout: MediaLayout):
    """Log-mel features of a clip split into encoder windows, and the valid samples of each window.

    Returns ``(features (n_win, n_mels, 2 * max_source_positions), window_samples list)``; each
    window is padded on its own, as Whisper was trained, and nothing is cut.
    """
    size = window_samples(layout.max_source_positions)
    windows = layout.windows(len(samples))
    starts = np.cumsum([0] + windows[:-1])
    chunks = [samples[s : s + n] for s, n in zip(starts, windows)]
    feats = feature_extractor(
        chunks, sampling_rate=SAMPLE_RATE, max_length=size, padding="max_length", truncation=True, return_tensors="pt"
    )["input_features"]
    if feats.shape[-1] != 2 * layout.max_source_positions:
        raise ConfigError(
            f"the feature extractor gives {feats.shape[-1]} mel frames per window, the audio encoder "
            f"expects {2 * layout.max_source_positions}; check its hop_length"
        )
    return feats, windows


def media_inputs(images: list[str], audios: list[str], image_processor, feature_extractor, layout: MediaLayout):
    """Model inputs for one conversation's media, in placeholder order; and each clip's sample count.

    Returns ``(inputs, audio_samples)``: ``inputs`` holds ``pixel_values`` and/or ``audio_features`` +
    ``audio_window_samples`` (absent when there is no such medium).
    """
    import torch

    inputs, samples, feats, windows = {}, [], [], []
    if images:
        inputs["pixel_values"] = torch.stack([load_image(p, image_processor) for p in images])
    for path in audios:
        clip = load_audio(path)
        samples.append(len(clip))
        f, w = audio_features(clip, feature_extractor, layout)
        feats.append(f)
        windows += w
    if feats:
        inputs["audio_features"] = torch.cat(feats)
        inputs["audio_window_samples"] = torch.tensor(windows, dtype=torch.long)
    return inputs, samples
