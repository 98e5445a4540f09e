"""A tiny random-weight Whisper in CTranslate2 form, built from a config with no download.

For tests, benchmarks and trying the pipeline offline: it runs the real faster-whisper code
paths in milliseconds, and its transcripts are noise. ``d_model`` and layer counts can be set
to real sizes (e.g. large-v3: 1280, 32 layers, 20 heads, 128 mel bins) for speed runs.
Needs transformers, torch and ctranslate2 (``pip install 'mmdata[dev]'``).
"""

from __future__ import annotations

import json
from pathlib import Path


def build_tiny_whisper(
    out: str | Path,
    d_model: int = 32,
    layers: int = 2,
    heads: int = 2,
    ffn: int = 64,
    n_mels: int = 80,
    quantization: str = "int8",
    seed: int = 0,
) -> Path:
    """Write a multilingual random Whisper to ``out`` (a faster-whisper model folder) and return it."""
    import ctranslate2
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast, WhisperConfig, WhisperFeatureExtractor, WhisperForConditionalGeneration
    from transformers.models.whisper.tokenization_whisper import LANGUAGES

    out = Path(out)
    hf = out.parent / f"{out.name}-hf"
    # Byte-level vocabulary plus Whisper's special tokens in Whisper's order. ctranslate2 takes a
    # model for multilingual only if "" is in the vocabulary; the converter adds 1501 timestamps.
    vocab = {ch: i for i, ch in enumerate(sorted(pre_tokenizers.ByteLevel.alphabet()))}
    vocab[""] = len(vocab)
    languages = [f"<|{code}|>" for code in LANGUAGES]
    specials = [
        "<|endoftext|>",
        "<|startoftranscript|>",
        *languages,
        "<|translate|>",
        "<|transcribe|>",
        "<|startoflm|>",
        "<|startofprev|>",
        "<|nocaptions|>",
        "<|notimestamps|>",
    ]
    for token in specials:
        vocab[token] = len(vocab)
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.add_special_tokens(specials)
    PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token="<|endoftext|>",
        eos_token="<|endoftext|>",
        pad_token="<|endoftext|>",
        unk_token="<|endoftext|>",
    ).save_pretrained(hf)
    end, start = vocab["<|endoftext|>"], vocab["<|startoftranscript|>"]
    config = WhisperConfig(
        vocab_size=len(vocab) + 1501,
        d_model=d_model,
        encoder_layers=layers,
        decoder_layers=layers,
        encoder_attention_heads=heads,
        decoder_attention_heads=heads,
        encoder_ffn_dim=ffn,
        decoder_ffn_dim=ffn,
        num_mel_bins=n_mels,
        max_source_positions=1500,
        max_target_positions=448,
        pad_token_id=end,
        bos_token_id=end,
        eos_token_id=end,
        decoder_start_token_id=start,
        suppress_tokens=[],
        begin_suppress_tokens=[],
    )
    torch.manual_seed(seed)
    WhisperForConditionalGeneration(config).save_pretrained(hf)
    WhisperFeatureExtractor(feature_size=n_mels, sampling_rate=16000).save_pretrained(hf)
    ctranslate2.converters.TransformersConverter(str(hf), copy_files=["tokenizer.json", "preprocessor_config.json"]).convert(
        str(out), quantization=quantization, force=True
    )
    # The converter finds language tokens through generation settings a random model lacks.
    settings = json.loads((out / "config.json").read_text())
    settings["lang_ids"] = sorted(vocab[token] for token in languages)
    (out / "config.json").write_text(json.dumps(settings))
    return out
