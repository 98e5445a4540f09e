"""MmForCausalLM: placeholder tokens, features at the pad positions, audio windows, packing, training."""

from __future__ import annotations

import math

import pytest
import torch

from mmtrain.errors import ConfigError, DataError
from mmtrain.model.modeling import MmForCausalLM, set_trainable
from mmtrain.tiny import build_tiny_model, build_tiny_tokenizer
from mmtrain.tokens import AUDIO, IMAGE, IMAGE_PAD, SPECIAL_TOKENS, window_tokens
from tests.mmtrain.model.conftest import batch


def test_tokens_added_ids_looked_up_and_embeddings_grown(tiny):
    model, tok, _, _ = tiny
    ids = model.config.token_ids()
    assert ids == {t: tok.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS}
    assert len(set(ids.values())) == 6 and all(i is not None for i in ids.values())
    assert model.get_input_embeddings().num_embeddings == len(tok) == model.config.text_config.vocab_size
    assert model.get_output_embeddings().weight.shape[0] == len(tok)
    assert tok(IMAGE + IMAGE_PAD * 3)["input_ids"] == [ids[IMAGE]] + [ids[IMAGE_PAD]] * 3  # never split
    for part in (model.language_model, model.vision_tower, model.audio_encoder):  # else no causal mask at all
        assert part.config._attn_implementation is not None

    # another vocabulary: other ids, looked up rather than assumed
    other = build_tiny_tokenizer(vocab_size=380)
    model2, other = MmForCausalLM.from_components(model.language_model, model.vision_tower, model.audio_encoder, tokenizer=other)
    assert model2.config.image_pad_token_id == other.convert_tokens_to_ids(IMAGE_PAD) != ids[IMAGE_PAD]


def _capture(model):
    seen = {"vision": [], "audio": [], "embeds": []}
    model.vision_projector.register_forward_hook(lambda m, i, o: seen["vision"].append(o.detach().flatten(0, 1)))
    model.audio_projector.register_forward_hook(lambda m, i, o: seen["audio"].append((i[0].shape[1], o.detach())))
    model.language_model.register_forward_pre_hook(
        lambda m, a, kw: seen["embeds"].append(kw["inputs_embeds"].detach()), with_kwargs=True
    )
    return seen


def test_features_land_at_pad_positions_in_order(tiny):
    model, tok, _, fe = tiny
    layout = model.config.media_layout()
    turns = [
        {"role": "user", "content": f"{IMAGE} describe {AUDIO}"},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": f"and {AUDIO} with {IMAGE}?"},
        {"role": "assistant", "content": "yes"},
    ]
    text = tok.apply_chat_template(turns, tokenize=False)
    clips = [20000, 64000]  # the second clip spans two windows
    inputs = batch(tok, fe, layout, [text], n_images=2, clips=clips)
    seen = _capture(model)
    with torch.no_grad():
        model(**inputs)
    embeds, ids = seen["embeds"][0][0], inputs["input_ids"][0]
    image_pos = (ids == model.config.image_pad_token_id).nonzero().squeeze(1)
    audio_pos = (ids == model.config.audio_pad_token_id).nonzero().squeeze(1)
    assert len(image_pos) == 2 * layout.image_tokens and len(audio_pos) == sum(map(layout.audio_tokens, clips))
    torch.testing.assert_close(embeds[image_pos], seen["vision"][0])
    # windows are [20000] [48000, 16000]; windows with the same length go through the projector together
    by_len = {length: out for length, out in seen["audio"]}
    expected = torch.cat([by_len[63][0], by_len[150][0], by_len[50][0]])
    torch.testing.assert_close(embeds[audio_pos], expected)
    # every other position is the plain token embedding
    rest = torch.ones_like(ids, dtype=torch.bool)
    rest[image_pos] = rest[audio_pos] = False
    torch.testing.assert_close(embeds[rest], model.get_input_embeddings()(ids)[rest])


@pytest.mark.parametrize("samples", [1, 1600, 12800, 16000, 47999, 48000, 64000, 112000, 150000])
def test_audio_tokens_per_window_match_the_layout(tiny, samples):
    model, tok, _, fe = tiny
    layout = model.config.media_layout()
    inputs = batch(tok, fe, layout, [AUDIO], clips=[samples])
    with torch.no_grad():
        out = model.audio_embeddings(inputs["audio_features"], inputs["audio_window_samples"])
    k, s = model.config.audio_kernel, model.config.audio_stride
    windows = layout.windows(samples)
    assert len(windows) == math.ceil(samples / 48000) == inputs["audio_features"].shape[0]
    assert out.shape == (sum(window_tokens(w, k, s) for w in windows), 64) == (layout.audio_tokens(samples), 64)
    assert window_tokens(48000, k, s) == 37 and window_tokens(16000, k, s) == 4  # proportional, short clips cheap


def test_pad_count_mismatch_raises_data_error(tiny):
    model, tok, _, fe = tiny
    layout = model.config.media_layout()
    inputs = batch(tok, fe, layout, [f"{IMAGE} {AUDIO}"], n_images=1, clips=[16000])
    ids = inputs["input_ids"]
    first_pad = (ids[0] == model.config.image_pad_token_id).nonzero()[0, 0]
    ids[0, first_pad] = tok.pad_token_id
    n = layout.image_tokens
    with pytest.raises(DataError, match=f"{n - 1} image pad positions .* {n} image"):
        model(**inputs)
    inputs = batch(tok, fe, layout, [f"{AUDIO}"], clips=[16000])
    inputs["audio_window_samples"] = torch.tensor([48000])  # claims more audio than the text made room for
    with pytest.raises(DataError, match="4 audio pad positions .* 37 audio"):
        model(**inputs)


@pytest.mark.parametrize("family", ["qwen2", "llama", "mistral"])
def test_families_forward_backward(family):
    model, tok, _, fe = build_tiny_model(family=family)
    model.train()
    set_trainable(model, {"llm", "vision_projector", "audio_projector"})
    layout = model.config.media_layout()
    inputs = batch(tok, fe, layout, [f"{IMAGE} hello {AUDIO}", f"terima kasih {IMAGE}"], n_images=2, clips=[30000])
    out = model(**inputs)
    assert out.logits.shape[:2] == inputs["input_ids"].shape and torch.isfinite(out.loss)
    out.loss.backward()
    for part in (model.vision_projector, model.audio_projector, model.language_model):
        assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in part.parameters() if p.requires_grad)
    assert all(p.grad is None for p in model.vision_tower.parameters())


@pytest.mark.parametrize("attn", ["eager", "sdpa"])
def test_packed_row_equals_separate_rows(tiny, attn):
    model, tok, _, fe = tiny
    model.set_attn_implementation(attn)
    layout = model.config.media_layout()
    first = batch(tok, fe, layout, [f"look {IMAGE} here"], n_images=1, seed=1)
    second = batch(tok, fe, layout, [f"dengar {AUDIO} dan {IMAGE}"], n_images=1, clips=[20000], seed=2)
    third = batch(tok, fe, layout, ["just text"])
    parts = [first, second, third]
    with torch.no_grad():
        alone = [
            model(input_ids=p["input_ids"], **{k: v for k, v in p.items() if k.startswith(("pixel", "audio"))}).logits[0]
            for p in parts
        ]
        packed = model(
            input_ids=torch.cat([p["input_ids"] for p in parts], 1),
            position_ids=torch.cat([torch.arange(p["input_ids"].shape[1]) for p in parts])[None],
            attention_mask=None,
            pixel_values=torch.cat([first["pixel_values"], second["pixel_values"]]),
            audio_features=second["audio_features"],
            audio_window_samples=second["audio_window_samples"],
        ).logits[0]
    torch.testing.assert_close(packed, torch.cat(alone), atol=1e-4, rtol=0)


def test_set_trainable_freezes_everything_else(tiny):
    model, tok, _, fe = tiny
    counts = set_trainable(model, {"vision_projector"})
    assert counts["vision_projector"] == sum(p.numel() for p in model.vision_projector.parameters()) > 0
    assert all(counts[p] == 0 for p in ("llm", "vision_tower", "audio_encoder", "audio_projector"))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model.train()
    out = model(**batch(tok, fe, model.config.media_layout(), [f"{IMAGE} {AUDIO} x"], n_images=1, clips=[9000]))
    out.loss.backward()
    torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1).step()
    changed = {k.split(".")[0] for k, v in model.state_dict().items() if not torch.equal(v, before[k])}
    assert changed == {"vision_projector"}
    with pytest.raises(ConfigError, match="projector_typo"):
        set_trainable(model, {"projector_typo"})


def test_batch_without_media_still_gives_projector_gradients(tiny):
    model, tok, _, fe = tiny
    set_trainable(model, {"llm", "vision_projector", "audio_projector"})
    model.train()
    out = model(**batch(tok, fe, model.config.media_layout(), ["just text, no media", "more"]))
    out.loss.backward()
    for proj in (model.vision_projector, model.audio_projector):
        assert all(p.grad is not None and not p.grad.any() for p in proj.parameters())
    # media present: the real gradient, no dummy needed
    model.zero_grad(set_to_none=True)
    model(**batch(tok, fe, model.config.media_layout(), [f"{IMAGE} x"], n_images=1)).loss.backward()
    assert model.vision_projector.linear_1.weight.grad.abs().sum() > 0


@pytest.mark.filterwarnings("ignore:`gradient_checkpointing_enable` is deprecated:FutureWarning")
def test_gradient_checkpointing_goes_to_the_llm(tiny):
    model, tok, _, fe = tiny
    model.gradient_checkpointing_enable()  # what the Trainer calls (transformers 5 also has activation_...)
    assert model.language_model.model.layers[0].gradient_checkpointing
    assert not model.vision_tower.encoder.gradient_checkpointing
    set_trainable(model, {"llm", "vision_projector", "audio_projector"})
    model.train()
    model(**batch(tok, fe, model.config.media_layout(), [f"{IMAGE} x"], n_images=1)).loss.backward()
    assert model.vision_projector.linear_1.weight.grad is not None
