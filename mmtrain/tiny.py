"""Tiny random parts built from configs, for tests, benchmarks and the demo (no downloads).

``build_tiny_tokenizer`` trains a byte-level BPE in well under a second and gives it a ChatML
chat template (the Qwen2 family's), so every code path that real tokenizers take is exercised.
"""

from __future__ import annotations

from pathlib import Path

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
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(_CORPUS * 4, trainer)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                        bos_token=None, unk_token=None, chat_template=CHATML)
    if out_dir is not None:
        tokenizer.save_pretrained(str(out_dir))
    return tokenizer
