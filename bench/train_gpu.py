"""Stage-2 training throughput on a GPU: random weights with the shapes of Qwen2-0.5B + SigLIP-base-384
+ Whisper-small's encoder, packed rows of 8,192, bf16, AdamW; tokens/s and model FLOPs utilisation.

The baseline, in the same process: the same samples the way the reference fed them (right-padded
batches, every clip padded to 30 s, a dummy image + 10 s silence prefix on each sample); both
report *real* tokens per second (a sample's text, 576 per image, its audio's proportional tokens).

    python bench/train_gpu.py                  # on a GPU (nothing is downloaded: configs only)
    python bench/train_gpu.py --shapes tiny    # a quick check of the script on the CPU
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PEAK_BF16_TFLOPS = {"H100": 989.0, "H200": 989.0, "A100": 312.0, "L40S": 362.0, "A10": 125.0}


def build(shapes: str):
    import torch
    import transformers
    from transformers import SiglipVisionConfig, SiglipVisionModel, WhisperConfig
    from transformers.models.whisper.modeling_whisper import WhisperEncoder

    from mmtrain.model.modeling import MmForCausalLM
    from mmtrain.tiny import build_tiny_model, build_tiny_tokenizer

    if shapes == "tiny":
        return build_tiny_model()[0]
    attn = "flash_attention_2" if _has_flash() else "sdpa"
    tokenizer = build_tiny_tokenizer()
    llm = transformers.AutoModelForCausalLM.from_config(
        transformers.Qwen2Config(
            vocab_size=151936,
            hidden_size=896,
            intermediate_size=4864,
            num_hidden_layers=24,
            num_attention_heads=14,
            num_key_value_heads=2,
            max_position_embeddings=32768,
            tie_word_embeddings=True,
            rope_theta=1e6,
        ),
        attn_implementation=attn,
        dtype=torch.bfloat16,
    )
    vision = SiglipVisionModel(
        SiglipVisionConfig(
            hidden_size=768,
            intermediate_size=3072,
            num_hidden_layers=12,
            num_attention_heads=12,
            image_size=384,
            patch_size=16,
            vision_use_head=False,
        )
    )
    audio = WhisperEncoder(
        WhisperConfig(
            d_model=768,
            encoder_layers=12,
            encoder_attention_heads=12,
            encoder_ffn_dim=3072,
            num_mel_bins=80,
            max_source_positions=1500,
        )
    )
    model, _ = MmForCausalLM.from_components(llm, vision.to(torch.bfloat16), audio.to(torch.bfloat16), tokenizer=tokenizer)
    return model


def _has_flash() -> bool:
    try:
        import flash_attn  # noqa: F401

        return True
    except ImportError:
        return False


def samples(model, n: int, seed: int = 0) -> list[dict]:
    """Reference-shaped samples: kind mix, images, clip lengths (samples), text tokens."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from train import synthetic_mixture

    scale = 1 if model.config.media_layout().max_source_positions == 1500 else 0.1
    out = []
    for s in synthetic_mixture(n, seed):
        s = dict(s, text=max(8, int(s["text"] * scale)), clips=[max(1600, int(c * scale)) for c in s["clips"]])
        out.append(s)
    return out


def sample_ids(model, s: dict, fixed_audio: bool, prefix: bool) -> tuple[list[int], int, list[int]]:
    """Token ids of one sample (random text ids, the media's start/pad/end tokens), images, clip samples."""
    c, layout = model.config, model.config.media_layout()
    rng = random.Random(s["text"])
    window = 2 * layout.max_source_positions * 160
    clips = [window if fixed_audio else n for n in s["clips"]]
    images = s["images"] + (1 if prefix else 0)
    if prefix:
        clips = [window // 3] + clips  # the reference's 10 s of silence
    ids = []
    for _ in range(images):
        ids += [c.image_token_id] + [c.image_pad_token_id] * layout.image_tokens + [c.image_end_token_id]
    for n in clips:
        ids += [c.audio_token_id] + [c.audio_pad_token_id] * layout.audio_tokens(n) + [c.audio_end_token_id]
    ids += [rng.randrange(10, 300) for _ in range(s["text"])]
    return ids, images, clips


def batch_for(model, group: list[dict], packed: bool, fixed_audio: bool, prefix: bool, device):
    import torch

    layout = model.config.media_layout()
    rows, n_images, clips, real = [], 0, [], 0
    for s in group:
        ids, images, c = sample_ids(model, s, fixed_audio, prefix)
        rows.append(ids)
        n_images += images
        clips += c
        real += len(sample_ids(model, s, False, False)[0])
    if packed:
        input_ids = torch.tensor([sum(rows, [])])
        position_ids = torch.cat([torch.arange(len(r)) for r in rows]).unsqueeze(0)
        extra = {"position_ids": position_ids}
    else:
        width = max(len(r) for r in rows)
        input_ids = torch.tensor([r + [0] * (width - len(r)) for r in rows])
        extra = {"attention_mask": torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in rows])}
    size = model.config.vision_config.image_size
    windows = [w for n in clips for w in layout.windows(n)]
    labels = input_ids.masked_fill(extra["attention_mask"] == 0, -100) if "attention_mask" in extra else input_ids.clone()
    batch = {"input_ids": input_ids, "labels": labels, **extra}
    if n_images:
        batch["pixel_values"] = torch.randn(n_images, 3, size, size, dtype=torch.bfloat16)
    if windows:
        batch["audio_features"] = torch.randn(len(windows), 80, 2 * layout.max_source_positions, dtype=torch.bfloat16)
        batch["audio_window_samples"] = torch.tensor(windows)
    return {k: v.to(device) for k, v in batch.items()}, real, input_ids.numel()


def run(model, batches, steps: int, device) -> tuple[float, int, int]:
    import torch

    from mmtrain.model.modeling import set_trainable

    set_trainable(model, {"llm", "vision_projector", "audio_projector"})
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=2e-5)
    model.train()
    real = positions = 0
    for i, (batch, r, p) in enumerate(batches):
        if i == 2:  # two warm-up steps (kernels, allocator)
            if device == "cuda":
                torch.cuda.synchronize()
            start, real, positions = time.perf_counter(), 0, 0
        model(**batch).loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        real, positions = real + r, positions + p
        if i + 1 == steps + 2:
            break
    if device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start, real, positions


def main() -> None:
    import torch

    from mmtrain.data.packing import pack

    parser = argparse.ArgumentParser()
    parser.add_argument("--shapes", choices=["qwen2-0.5b", "tiny"], default="qwen2-0.5b")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--max-length", type=int, default=8192)
    parser.add_argument("--batch", type=int, default=12, help="the reference's batch (samples per padded batch)")
    args = parser.parse_args()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    name = torch.cuda.get_device_name() if device == "cuda" else "CPU"
    model = build(args.shapes).to(device)
    if device == "cuda":
        model.to(torch.bfloat16)
    getattr(model, "activation_checkpointing_enable", model.gradient_checkpointing_enable)()
    max_length = args.max_length if args.shapes != "tiny" else 1024
    pool = samples(model, 4000)
    lengths = [len(sample_ids(model, s, False, False)[0]) for s in pool]
    bins, _ = pack(lengths, max_length)
    llm = model.language_model
    n_params = sum(p.numel() for n, p in llm.named_parameters() if "embed" not in n)
    layers, hidden = llm.config.num_hidden_layers, llm.config.hidden_size
    print(
        f"# stage-2 step on {name}, shapes {args.shapes}, LLM {n_params / 1e6:.0f} M non-embedding parameters, "
        f"attention {llm.config._attn_implementation}, bf16={device == 'cuda'}"
    )

    packed_batches = (batch_for(model, [pool[i] for i in b], True, False, False, device) for b in bins)
    seconds, real, positions = run(model, packed_batches, args.steps, device)
    ours = real / seconds
    # model FLOPs: 6 N per LLM token plus causal attention per sample, over the computed positions
    attention = sum(6 * layers * hidden * lengths[i] ** 2 for b in bins[2 : 2 + args.steps] for i in b)
    flops = (6 * n_params * positions + attention) / seconds
    peak = next((v for k, v in PEAK_BF16_TFLOPS.items() if k in name), None)
    mfu = f", MFU {flops / (peak * 1e12):.1%} of {peak:.0f} TFLOPS" if peak else ""
    print(
        f"mmtrain packed rows of {max_length}: {ours:,.0f} real tokens/s, {positions / seconds:,.0f} positions/s, "
        f"{flops / 1e12:.1f} model TFLOPS{mfu}"
    )
    order = list(range(len(pool)))
    random.Random(1).shuffle(order)
    groups = [[pool[i] for i in order[j : j + args.batch]] for j in range(0, len(order), args.batch)]
    padded_batches = (batch_for(model, g, False, True, True, device) for g in groups)
    seconds, real, positions = run(model, padded_batches, max(2, args.steps // 2), device)
    theirs = real / seconds
    print(
        f"reference padded batches of {args.batch} (30 s audio, dummy prefix): {theirs:,.0f} real tokens/s, "
        f"{positions / seconds:,.0f} positions/s | ratio {ours / theirs:.2f}"
    )
    if device == "cuda":
        print(f"peak GPU memory {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB")


if __name__ == "__main__":
    main()
