"""mmtrain's packing vs the reference's right-padded batches, and CPU tokens/s of the tiny model.

Part 1 (no model, pure accounting) on a synthetic stage-2 mixture shaped like the reference's
(shares, media per record, turns and answer lengths from the seed system's data sections):
positions computed per epoch by
  - the reference: right-padded batches of 12 samples, every audio clip padded to 30 s (487
    tokens), a dummy image + 10 s silence prefix (1,065 positions) on every sample;
  - mmtrain: samples packed into rows of 8,192, audio tokens proportional to clip length, no prefix.
"Real" tokens are what a sample needs: its text, 576 per image, its audio's proportional tokens.

Part 2: the tiny random model trained on the CPU over the same samples (scaled down), packed
rows vs right-padded batches, real tokens per second of each, in the same process.

    python bench/train.py [N_SAMPLES]
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import machine  # noqa: E402

from mmtrain.data.packing import pack  # noqa: E402
from mmtrain.tokens import audio_tokens  # noqa: E402

IMAGE_TOKENS, FIXED_AUDIO_TOKENS, DUMMY_PREFIX, BATCH, MAX_LENGTH = 576, 487, 1065, 12, 8192
SAMPLE_RATE = 16000

# kind: (share, images, audios, question/answer pairs, answer tokens (mean)) -- the reference's stage-2 data
SHAPES = {
    "audio-instruction": (0.45, 0, 1, (1, 3), 220),
    "multi-image": (0.15, 2, 0, (1, 1), 160),
    "image-audio": (0.09, 1, 1, (1, 1), 160),
    "multi-audio": (0.04, 0, 2, (1, 1), 160),
    "llava-instruct": (0.22, 1, 0, (2, 5), 90),
    "visual-context": (0.01, 1, 0, (3, 5), 120),
    "text": (0.04, 0, 0, (1, 3), 200),
}


def synthetic_mixture(n: int, seed: int = 0, clip_seconds=None) -> list[dict]:
    """Sample shapes: text tokens, image count, clip lengths in samples."""
    rng = random.Random(seed)
    kinds = list(SHAPES)
    weights = [SHAPES[k][0] for k in kinds]
    out = []
    for _ in range(n):
        kind = rng.choices(kinds, weights)[0]
        _, images, audios, (low, high), answer = SHAPES[kind]
        pairs = rng.randint(low, high)
        text = 12 + sum(rng.randint(8, 40) + 10 + max(5, int(rng.expovariate(1 / answer))) for _ in range(pairs))
        # speech segments from VAD: mostly 5-20 s, capped at 30 s (the reference cut fixed 30 s chunks)
        clips = [int(SAMPLE_RATE * (clip_seconds or min(30.0, max(1.0, rng.lognormvariate(2.4, 0.5))))) for _ in range(audios)]
        out.append({"kind": kind, "text": text, "images": images, "clips": clips})
    return out


def real_tokens(s: dict) -> int:
    return s["text"] + IMAGE_TOKENS * s["images"] + sum(audio_tokens(c, 1500, 40, 3) for c in s["clips"])


def reference_tokens(s: dict) -> int:
    return DUMMY_PREFIX + s["text"] + IMAGE_TOKENS * s["images"] + FIXED_AUDIO_TOKENS * len(s["clips"])


def accounting(samples: list[dict], label: str) -> None:
    rng = random.Random(1)
    order = list(range(len(samples)))
    rng.shuffle(order)  # the reference streamed shuffled shards
    real = [real_tokens(samples[i]) for i in order]
    ref = [reference_tokens(samples[i]) for i in order]
    ref_positions = sum(len(b) * max(b) for b in (ref[i : i + BATCH] for i in range(0, len(ref), BATCH)))
    bins, overlong = pack(real, MAX_LENGTH)
    ours_positions = len(bins) * MAX_LENGTH
    packed_real = sum(real[i] for b in bins for i in b)
    # the steps one at a time: what each fix saves on its own
    no_prefix = [r - DUMMY_PREFIX for r in ref]
    no_prefix_positions = sum(len(b) * max(b) for b in (no_prefix[i : i + BATCH] for i in range(0, len(no_prefix), BATCH)))
    padded_real_positions = sum(len(b) * max(b) for b in (real[i : i + BATCH] for i in range(0, len(real), BATCH)))
    total_real = sum(real)
    print(f"\n## {label}: {len(samples):,} samples, {total_real:,} real tokens ({total_real / len(samples):,.0f} per sample)")
    print(
        f"reference (padded batches of {BATCH}, 30 s audio, dummy prefix): {ref_positions:,} positions, "
        f"real/computed {total_real / ref_positions:.3f}"
    )
    print(f"  without the dummy prefix:                {no_prefix_positions:,} positions")
    print(f"  + proportional audio (still padded):     {padded_real_positions:,} positions")
    print(
        f"mmtrain (packed into {MAX_LENGTH}, proportional audio, no prefix): {ours_positions:,} positions in {len(bins):,} rows, "
        f"real/computed {packed_real / ours_positions:.3f}"
        + (f", {len(overlong)} samples over {MAX_LENGTH} left out" if overlong else "")
    )
    print(
        f"compute saved: the reference computes {ref_positions / ours_positions:.2f}x the positions mmtrain does "
        f"({1 - ours_positions / ref_positions:.0%} less)"
    )


def tiny_throughput(n: int) -> None:
    """Real tokens/s of the tiny model on the CPU: packed rows vs right-padded batches, same samples."""
    import numpy as np
    import torch

    from mmtrain.data.dataset import PackedDataset, collate
    from mmtrain.data.records import read_records
    from mmtrain.tiny import build_tiny_model
    from tests.mmtrain.data.conftest import write_export

    torch.manual_seed(0)
    rng = random.Random(2)
    rows = []
    for i in range(n):
        kind = rng.choices(list(SHAPES), [s[0] for s in SHAPES.values()])[0]
        _, images, audios, (low, high), _ = SHAPES[kind]
        media = " ".join(["<image>"] * images + ["<audio>"] * audios)
        pairs = rng.randint(low, high)
        messages = []
        for p in range(pairs):
            messages.append(
                {"role": "user", "content": (media + " " if p == 0 and media else "") + "apa ini? " * rng.randint(2, 8)}
            )
            messages.append({"role": "assistant", "content": "ini nasi lemak. " * max(1, int(rng.expovariate(1 / 12)))})
        rows.append(
            {
                "id": f"r{i}",
                "kind": kind,
                "language": "ms",
                "messages": messages,
                "images": ["media/red.png", "media/blue.png"][:images],
                "audios": ["media/three.wav", "media/long.ogg"][:audios],
            }
        )
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_export(Path(tmp) / "export", rows)
        model, tokenizer, image_processor, feature_extractor = build_tiny_model()
        records = read_records(folder)
        packed = PackedDataset(
            records, tokenizer, image_processor, feature_extractor, model.config.media_layout(), max_length=1024
        )
        singles = PackedDataset(
            records, tokenizer, image_processor, feature_extractor, model.config.media_layout(), max_length=1024
        )
        singles.bins = [[i] for i in range(len(records))]  # one sample per row, as the reference fed them
        model.train()
        optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)

        def epoch(batches):
            tokens, start = 0, time.perf_counter()
            for batch in batches:
                batch.pop("sample_ids")
                tokens += int((batch["input_ids"] != tokenizer.pad_token_id).sum())
                loss = model(**batch).loss
                loss.backward()
                optimizer.step()
                optimizer.zero_grad()
            return tokens, time.perf_counter() - start

        def padded_batches():
            for i in range(0, len(singles), BATCH):
                rows_ = [singles[j] for j in range(i, min(i + BATCH, len(singles)))]
                batch = collate(rows_, tokenizer.pad_token_id)
                # right padding with an attention mask, as the reference; the collate's padding-as-a-sample is not used
                lengths = [len(r["input_ids"]) for r in rows_]
                batch["attention_mask"] = torch.tensor(np.array([[1] * n + [0] * (max(lengths) - n) for n in lengths]))
                batch["position_ids"] = None
                yield batch

        packed_tokens, packed_s = epoch(collate([packed[i]], tokenizer.pad_token_id) for i in range(len(packed)))
        padded_tokens, padded_s = epoch(padded_batches())
        print(f"\n## tiny model on the CPU ({n} samples, rows of 1,024, hidden 64, 2 layers)")
        print(
            f"packed rows: {packed_tokens / packed_s:,.0f} real tokens/s ({len(packed)} rows, {packed_s:.1f} s) | "
            f"right-padded batches of {BATCH}: {padded_tokens / padded_s:,.0f} real tokens/s ({padded_s:.1f} s) | "
            f"ratio {(packed_tokens / packed_s) / (padded_tokens / padded_s):.2f}"
        )


def main(n: int) -> None:
    print(f"# training benchmark on {machine()}")
    accounting(synthetic_mixture(n), "stage-2 mixture, VAD speech segments (1-30 s)")
    accounting(synthetic_mixture(n, clip_seconds=30.0), "the same with every clip a full 30 s (the reference's fixed chunks)")
    tiny_throughput(min(n, 240))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
