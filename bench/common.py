"""Helpers the benchmarks share: synthetic conversations and a peak-RSS reader."""

from __future__ import annotations

import json
import math
import random
import resource
import struct
import wave
from pathlib import Path

from PIL import Image


def machine() -> str:
    import os
    import platform

    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def peak_rss_children_mib() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def make_media(folder: Path, n: int = 16) -> tuple[list[str], list[str]]:
    """n small PNGs and n short WAVs; returns their paths relative to ``folder``."""
    images, audios = [], []
    (folder / "img").mkdir(parents=True, exist_ok=True)
    (folder / "aud").mkdir(parents=True, exist_ok=True)
    for i in range(n):
        Image.new("RGB", (8, 8), (i * 13 % 256, 80, 160)).save(folder / "img" / f"{i}.png")
        with wave.open(str(folder / "aud" / f"{i}.wav"), "wb") as w:
            w.setnchannels(1), w.setsampwidth(2), w.setframerate(16000)
            w.writeframes(b"".join(struct.pack("<h", int(3000 * math.sin(n * (i + 1) / 50))) for n in range(1600)))
        images.append(f"img/{i}.png")
        audios.append(f"aud/{i}.wav")
    return images, audios


def conversation(rng: random.Random, i: int, images: list[str], audios: list[str]) -> dict:
    """One record in our own JSONL shape: 2-6 turns, 0-3 images, 0-2 audio clips, Malay on most turns."""
    picked_images = rng.sample(images, rng.randint(0, 3))
    picked_audios = rng.sample(audios, rng.randint(0, 2))
    turns = rng.choice([2, 4, 6])
    chat = []
    for t in range(turns):
        role = "user" if t % 2 == 0 else "assistant"
        text = f"{role} turn {t} of conversation {i}: " + " ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 40)))
        prefix = "<image>\n" * len(picked_images) + "<audio>\n" * len(picked_audios) if t == 0 else ""
        turn = {"role": role, "content": prefix + text}
        if rng.random() < 0.8:
            turn["content_ms"] = prefix + "ms " + text
        chat.append(turn)
    kinds = {(0, 0): "text", (1, 0): "image-instruction"}
    kind = kinds.get((len(picked_images), len(picked_audios))) or (
        "image-audio"
        if picked_images and picked_audios
        else "multi-image"
        if picked_images
        else "multi-audio"
        if len(picked_audios) > 1
        else "audio-instruction"
    )
    return {"kind": kind, "context": f"context {i}", "chat": chat, "images": picked_images, "audios": picked_audios}


WORDS = "nasi lemak teh tarik durian kampung pasar malam kuala lumpur penang laksa wau songket batik rumah".split()


def write_conversations(path: Path, n: int, images: list[str], audios: list[str], seed: int = 0) -> None:
    rng = random.Random(seed)
    with open(path, "w") as fh:
        for i in range(n):
            fh.write(json.dumps(conversation(rng, i, images, audios)) + "\n")
