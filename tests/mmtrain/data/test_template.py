import pytest

from mmtrain.data.template import IGNORE, encode_conversation, encode_prompt
from mmtrain.errors import ConfigError, DataError
from mmtrain.tokens import AUDIO_PAD, IMAGE, IMAGE_PAD

from .conftest import LONG, MULTI, TEXT

SAMPLES = [48000, 4800]  # MULTI's clips: 3 s and 0.3 s


def labelled_runs(ids, labels, tokenizer):
    """The decoded text of each run of consecutive labelled tokens."""
    runs, run = [], []
    for t, lab in zip(ids, labels):
        if lab != IGNORE:
            assert lab == t
            run.append(t)
        elif run:
            runs.append(run)
            run = []
    return [tokenizer.decode(r, skip_special_tokens=False) for r in runs + ([run] if run else [])]


def test_loss_only_on_assistant_replies_and_their_end(tokenizer, layout):
    ids, labels = encode_conversation(MULTI["messages"], tokenizer, layout, SAMPLES)
    assert len(ids) == len(labels)
    assert labelled_runs(ids, labels, tokenizer) == ["The first is red.<|im_end|>", "Blue, and a short beep.<|im_end|>"]
    ids, labels = encode_conversation(TEXT["messages"], tokenizer, layout, [])
    assert labelled_runs(ids, labels, tokenizer) == ["Baik, terima kasih.<|im_end|>"]


def test_train_on_all_learns_everything_but_media_pads(tokenizer, layout):
    ids, labels = encode_conversation(MULTI["messages"], tokenizer, layout, SAMPLES, train_on="all")
    pads = {tokenizer.convert_tokens_to_ids(IMAGE_PAD), tokenizer.convert_tokens_to_ids(AUDIO_PAD)}
    assert labels == [IGNORE if t in pads else t for t in ids]
    with pytest.raises(ConfigError, match="train_on"):
        encode_conversation(MULTI["messages"], tokenizer, layout, SAMPLES, train_on="user")


def test_pad_counts_follow_the_media(tokenizer, layout):
    ids, _ = encode_conversation(MULTI["messages"], tokenizer, layout, SAMPLES)
    text = tokenizer.decode(ids, skip_special_tokens=False)
    assert text.count(IMAGE_PAD) == 2 * 16 and ids.count(tokenizer.convert_tokens_to_ids(IMAGE)) == 2
    three, short = layout.audio_tokens(48000), layout.audio_tokens(4800)
    assert (three, short) == (37, 1)  # the 0.3 s clip is under one projector kernel: its minimum
    assert layout.audio_tokens(480000) == 10 * three  # a 3 s clip costs a tenth of a 30 s one
    assert text.count(AUDIO_PAD) == three + short
    # placeholders expand in order: the 3 s clip's run comes first
    first = text.index("<audio>")
    assert text[first:].startswith("<audio>" + AUDIO_PAD * three + "</audio>")
    ids, _ = encode_conversation(LONG["messages"], tokenizer, layout, [112000])  # 7 s: windows 3 + 3 + 1 s
    assert ids.count(tokenizer.convert_tokens_to_ids(AUDIO_PAD)) == 37 + 37 + layout.audio_tokens(16000)


def test_audio_lengths_must_match_placeholders(tokenizer, layout):
    with pytest.raises(DataError, match="2 <audio> placeholder"):
        encode_conversation(MULTI["messages"], tokenizer, layout, [48000])


def test_tokenizer_without_placeholder_tokens_is_refused(layout):
    from mmtrain.tiny import build_tiny_tokenizer

    with pytest.raises(DataError, match="SPECIAL_TOKENS"):
        encode_conversation(MULTI["messages"], build_tiny_tokenizer(), layout, SAMPLES)


def test_other_templates(tokenizer, layout):
    inst = (
        "{% for m in messages %}{% if m['role'] == 'user' %}[INST] {{ m['content'] }} [/INST]"
        "{% else %}{{ m['content'] }}<|endoftext|>{% endif %}{% endfor %}"
    )
    ids, labels = encode_conversation(MULTI["messages"], tokenizer, layout, SAMPLES, chat_template=inst)
    assert labelled_runs(ids, labels, tokenizer) == ["The first is red.<|endoftext|>", "Blue, and a short beep.<|endoftext|>"]
    inconsistent = "{% for m in messages %}{% if loop.last %}LAST {% endif %}{{ m['content'] }}\n{% endfor %}"
    with pytest.raises(ConfigError, match="prefixes"):
        encode_conversation(TEXT["messages"], tokenizer, layout, [], chat_template=inconsistent)


def test_prompt_for_generation(tokenizer, layout):
    ids = encode_prompt(MULTI["messages"][:3], tokenizer, layout, SAMPLES)
    text = tokenizer.decode(ids, skip_special_tokens=False)
    assert text.endswith("<|im_start|>assistant\n") and text.count(AUDIO_PAD) == 38
    full, _ = encode_conversation(MULTI["messages"], tokenizer, layout, SAMPLES)
    assert full[: len(ids)] == ids
