"""Tiny random parts built from configs, for tests, benchmarks and the demo (no downloads).

``build_tiny_tokenizer`` trains a byte-level BPE in well under a second and gives it a ChatML
chat template (the Qwen2 family's), so every code path that real tokenizers take is exercised.
"""

from __future__ import annotations

from pathlib import Path

from mmtrain.errors import ConfigError

CHATML = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

_CORPUS = [
    "Describe the picture. The picture shows a plate of nasi lemak with sambal, egg and peanuts.",
    "Apakah yang anda dengar dalam audio ini? Seorang lelaki bercakap tentang cuaca di Kuala Lumpur.",
    "What is the relationship between the two images? Both show the Petronas towers at night.",
    "Terangkan gambar ini. Gambar ini menunjukkan pasar malam yang sibuk dengan orang ramai.",
    "user assistant system hello world terima kasih thank you",
]


def build_tiny_tokenizer(out_dir: str | Path | None = None, vocab_size: int = 400):
    """A small ``PreTrainedTokenizerFast`` with ChatML tokens, a pad token and the ChatML template.

    The media placeholder tokens are *not* added here: the model adds them (as it does to any
    real tokenizer). ``out_dir`` also saves it there.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False
    )
    tok.train_from_iterator(_CORPUS * 4, trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        bos_token=None,
        unk_token=None,
        chat_template=CHATML,
    )
    if out_dir is not None:
        tokenizer.save_pretrained(str(out_dir))
    return tokenizer


_LLM_CONFIGS = {"qwen2": "Qwen2Config", "llama": "LlamaConfig", "mistral": "MistralConfig"}


def build_tiny_model(out_dir: str | Path | None = None, family: str = "qwen2", seed: int = 0):
    """A random ``MmForCausalLM`` small enough for unit tests; returns
    ``(model, tokenizer, image_processor, feature_extractor)``.

    LLM (``family``: qwen2, llama or mistral) hidden 64, 2 layers; SigLIP 32x32 images in 8x8 patches
    (16 image tokens); Whisper encoder d_model 32 with ``max_source_positions=150``, so one audio
    window is 3 s (48,000 samples, 300 mel frames) and multi-window clips stay cheap. ``out_dir``
    also saves everything there (``mmtrain.model.modeling.save_parts`` layout).
    """
    import torch
    import transformers
    from transformers import SiglipVisionConfig, SiglipVisionModel, WhisperConfig, WhisperFeatureExtractor
    from transformers.models.whisper.modeling_whisper import WhisperEncoder

    from mmtrain.model.modeling import MmForCausalLM, image_processor_class, save_parts

    if family not in _LLM_CONFIGS:
        raise ConfigError(f"family must be one of {sorted(_LLM_CONFIGS)}, not {family!r}")
    torch.manual_seed(seed)
    tokenizer = build_tiny_tokenizer()
    text_config = getattr(transformers, _LLM_CONFIGS[family])(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=None,
        tie_word_embeddings=False,
    )
    llm = transformers.AutoModelForCausalLM.from_config(text_config)
    vision = SiglipVisionModel(
        SiglipVisionConfig(
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=2,
            num_attention_heads=2,
            image_size=32,
            patch_size=8,
            vision_use_head=False,
        )
    )
    # a small vocabulary: Whisper's default special-token ids (50256+) must be set to fit it
    audio = WhisperEncoder(
        WhisperConfig(
            d_model=32,
            encoder_layers=2,
            encoder_attention_heads=2,
            encoder_ffn_dim=64,
            decoder_layers=1,
            decoder_attention_heads=2,
            decoder_ffn_dim=64,
            num_mel_bins=80,
            max_source_positions=150,
            vocab_size=64,
            pad_token_id=0,
            bos_token_id=1,
            eos_token_id=2,
            decoder_start_token_id=1,
            begin_suppress_tokens=None,
            suppress_tokens=None,
        )
    )
    model, tokenizer = MmForCausalLM.from_components(llm, vision, audio, tokenizer=tokenizer)
    model.eval()
    image_processor = image_processor_class()(size={"height": 32, "width": 32}, image_mean=[0.5] * 3, image_std=[0.5] * 3)
    # chunk_length=3 s -> n_samples 48,000 and nb_max_frames 300 = 2 x max_source_positions
    feature_extractor = WhisperFeatureExtractor(feature_size=80, sampling_rate=16000, hop_length=160, chunk_length=3)
    if out_dir is not None:
        save_parts(model, tokenizer, image_processor, feature_extractor, out_dir)
    return model, tokenizer, image_processor, feature_extractor
