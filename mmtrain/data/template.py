"""From a conversation to token ids and labels, through the tokenizer's own chat template.

Placeholders are expanded in the text *before* rendering, so the template never needs to know
about media. Assistant spans are found by rendering prefixes of the conversation and comparing
character offsets, which works for any template whose renderings extend each other (ChatML,
Llama 3, Mistral, ...) without hard-coding its markers.
"""

from __future__ import annotations

import re

import numpy as np

from mmtrain.errors import ConfigError, DataError
from mmtrain.tokens import AUDIO, AUDIO_END, AUDIO_PAD, IMAGE, IMAGE_END, IMAGE_PAD, MediaLayout

IGNORE = -100
_PLACEHOLDER = re.compile(f"({re.escape(IMAGE)}|{re.escape(AUDIO)})")


def expand_placeholders(messages: list[dict], layout: MediaLayout, audio_samples: list[int]) -> tuple[list[dict], int, int]:
    """Messages with every ``<image>`` / ``<audio>`` widened to its pad run; also the image and audio pad totals.

    The i-th ``<audio>`` across all turns takes ``audio_samples[i]`` samples (its token count).
    """
    n_audio = sum(m["content"].count(AUDIO) for m in messages)
    if n_audio != len(audio_samples):
        raise DataError(f"{n_audio} {AUDIO} placeholder(s) but {len(audio_samples)} audio length(s)")
    audio_iter = iter(audio_samples)
    pads = {IMAGE: 0, AUDIO: 0}

    def widen(match: re.Match) -> str:
        if match.group(0) == IMAGE:
            n = layout.image_tokens
            pads[IMAGE] += n
            return IMAGE + IMAGE_PAD * n + IMAGE_END
        n = layout.audio_tokens(next(audio_iter))
        pads[AUDIO] += n
        return AUDIO + AUDIO_PAD * n + AUDIO_END

    out = [{**m, "content": _PLACEHOLDER.sub(widen, m["content"])} for m in messages]
    return out, pads[IMAGE], pads[AUDIO]


def _render(tokenizer, messages: list[dict], generation: bool, chat_template: str | None) -> str:
    if chat_template is None and not getattr(tokenizer, "chat_template", None):
        raise ConfigError("the tokenizer has no chat template; set one (chat_template) in the training config")
    try:
        return tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=generation, chat_template=chat_template
        )
    except Exception as exc:  # jinja raises its own errors (raise_exception in templates, undefined names)
        raise ConfigError(f"the chat template failed to render a conversation: {exc}") from exc


def _tokenize(tokenizer, text: str, image_pads: int, audio_pads: int, offsets: bool = False) -> dict:
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=offsets, verbose=False)
    ids = enc["input_ids"]
    for tok, want in ((IMAGE_PAD, image_pads), (AUDIO_PAD, audio_pads)):
        got = ids.count(tokenizer.convert_tokens_to_ids(tok))
        if got != want:
            # The model splices features over the pad positions: any other count misplaces them.
            raise DataError(
                f"expected {want} {tok} tokens but the tokenizer gave {got}; add mmtrain.tokens."
                "SPECIAL_TOKENS to the tokenizer as special tokens"
            )
    return enc


def assistant_spans(messages: list[dict], tokenizer, chat_template: str | None = None) -> tuple[str, list[tuple[int, int]]]:
    """The rendered conversation and the character spans of each assistant reply (its end-of-turn token included)."""
    full = _render(tokenizer, messages, False, chat_template)
    spans = []
    for i, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        before = _render(tokenizer, messages[:i], True, chat_template)
        upto = _render(tokenizer, messages[: i + 1], False, chat_template)
        if not (upto.startswith(before) and full.startswith(upto)):
            raise ConfigError(
                "the chat template renders a conversation differently from its prefixes, so "
                "assistant turns cannot be located; use a template whose renderings extend each other"
            )
        # Whitespace after the end-of-turn token is template layout, not something to learn.
        spans.append((len(before), len(upto.rstrip())))
    return full, spans


def encode_conversation(
    messages: list[dict],
    tokenizer,
    layout: MediaLayout,
    audio_samples: list[int],
    train_on: str = "assistant",
    chat_template: str | None = None,
) -> tuple[list[int], list[int]]:
    """Token ids and labels (``-100`` = no loss) of one conversation with its media expanded.

    ``train_on="assistant"``: loss on the assistant replies and their end-of-turn token only;
    ``"all"``: on every token. Media pad tokens never carry loss (their targets are fixed filler).
    """
    if train_on not in ("assistant", "all"):
        raise ConfigError(f"train_on must be 'assistant' or 'all', not {train_on!r}")
    expanded, image_pads, audio_pads = expand_placeholders(messages, layout, audio_samples)
    full, spans = assistant_spans(expanded, tokenizer, chat_template)
    enc = _tokenize(tokenizer, full, image_pads, audio_pads, offsets=True)
    ids = np.asarray(enc["input_ids"], dtype=np.int64)
    if train_on == "all":
        learnt = np.ones(len(ids), dtype=bool)
    else:
        # A token is learnt when it overlaps a reply, so one merged across the reply's start still counts.
        offsets = np.asarray(enc["offset_mapping"], dtype=np.int64).reshape(-1, 2)
        learnt = np.zeros(len(ids), dtype=bool)
        for s, e in spans:
            learnt |= (offsets[:, 0] < e) & (offsets[:, 1] > s)
    pad_ids = [tokenizer.convert_tokens_to_ids(IMAGE_PAD), tokenizer.convert_tokens_to_ids(AUDIO_PAD)]
    labels = np.where(learnt & ~np.isin(ids, pad_ids), ids, IGNORE)
    return ids.tolist(), labels.tolist()


def encode_prompt(
    messages: list[dict], tokenizer, layout: MediaLayout, audio_samples: list[int], chat_template: str | None = None
) -> list[int]:
    """Token ids of a conversation up to the assistant's turn, for generation."""
    expanded, image_pads, audio_pads = expand_placeholders(messages, layout, audio_samples)
    text = _render(tokenizer, expanded, True, chat_template)
    return list(_tokenize(tokenizer, text, image_pads, audio_pads)["input_ids"])
