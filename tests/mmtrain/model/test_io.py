"""MmForCausalLM: composing from folders, one-folder save/load, generation, copying projectors."""

from __future__ import annotations

import json

import pytest
import torch
from transformers import (
    AutoModelForCausalLM,
    Qwen2Config,
    SiglipConfig,
    SiglipModel,
    SiglipTextConfig,
    WhisperForConditionalGeneration,
)

from mmtrain.errors import ConfigError
from mmtrain.model.modeling import MmForCausalLM, load_parts, load_projectors, save_parts
from mmtrain.model.projectors import VisionProjector
from mmtrain.tiny import build_tiny_model, build_tiny_tokenizer
from mmtrain.tokens import AUDIO, IMAGE
from tests.mmtrain.model.conftest import batch


def _generate(model, inputs):
    calls = []
    hook = model.vision_tower.register_forward_hook(lambda *a: calls.append(1))
    media = {k: v for k, v in inputs.items() if k.startswith(("pixel", "audio"))}
    with torch.no_grad():
        out = model.generate(
            input_ids=inputs["input_ids"],
            attention_mask=inputs["attention_mask"],
            **media,
            max_new_tokens=6,
            min_new_tokens=6,
            do_sample=False,
        )
    hook.remove()
    assert len(calls) == 1  # media encoded on the prefill step only
    return out[:, inputs["input_ids"].shape[1] :]


def test_save_load_parts_then_generate_the_same(tmp_path):
    model, tok, ip, fe = build_tiny_model(tmp_path / "m")
    inputs = batch(tok, fe, model.config.media_layout(), [f"{IMAGE} apa {AUDIO} ini"], n_images=1, clips=[40000])
    before = _generate(model, inputs)
    assert before.shape == (1, 6)

    files = {p.relative_to(tmp_path / "m").as_posix() for p in (tmp_path / "m").rglob("*") if p.is_file()}
    assert {
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "preprocessor_config.json",
        "audio_processor/preprocessor_config.json",
    } <= files
    assert json.loads((tmp_path / "m" / "config.json").read_text())["model_type"] == "mmtrain"

    model2, tok2, ip2, fe2 = load_parts(tmp_path / "m")
    assert model2.config.token_ids() == model.config.token_ids()
    assert model2.config.media_layout().__dict__ == model.config.media_layout().__dict__
    assert len(tok2) == len(tok) and tok2.chat_template == tok.chat_template
    assert ip2.size == {"height": 32, "width": 32} and fe2.nb_max_frames == 300 and fe2.n_samples == 48000
    for key, value in model.state_dict().items():
        assert torch.equal(value, model2.state_dict()[key]), key
    assert torch.equal(_generate(model2.eval(), inputs), before)
    assert isinstance(AutoModelForCausalLM.from_pretrained(str(tmp_path / "m")), MmForCausalLM)


def test_from_components_reads_folders(tmp_path):
    tok = build_tiny_tokenizer(tmp_path / "llm")
    llm = AutoModelForCausalLM.from_config(
        Qwen2Config(
            vocab_size=len(tok),
            hidden_size=64,
            intermediate_size=128,
            num_hidden_layers=2,
            num_attention_heads=4,
            num_key_value_heads=2,
            tie_word_embeddings=True,
        )
    )
    llm.save_pretrained(tmp_path / "llm")
    tiny, *_ = build_tiny_model()
    # a full SigLIP (text + vision) folder and a full Whisper folder, as on the hub
    siglip = SiglipModel(
        SiglipConfig(
            text_config=SiglipTextConfig(
                hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2, vocab_size=50
            ),
            vision_config=tiny.config.vision_config.to_dict() | {"vision_use_head": True},
        )
    )
    siglip.save_pretrained(tmp_path / "siglip")
    whisper = WhisperForConditionalGeneration(tiny.config.audio_config)
    whisper.save_pretrained(tmp_path / "whisper")

    model, tok = MmForCausalLM.from_components(tmp_path / "llm", tmp_path / "siglip", tmp_path / "whisper")
    assert len(tok) == 406 and model.config.audio_pad_token_id == tok.convert_tokens_to_ids("<|audio_pad|>")
    assert torch.equal(
        model.vision_tower.embeddings.patch_embedding.weight, siglip.vision_model.embeddings.patch_embedding.weight
    )
    assert torch.equal(model.audio_encoder.layers[1].fc1.weight, whisper.model.encoder.layers[1].fc1.weight)
    assert torch.equal(model.language_model.model.layers[0].mlp.up_proj.weight, llm.model.layers[0].mlp.up_proj.weight)
    assert not hasattr(model.vision_tower, "head")  # SigLIP's unused pooling head is dropped
    # the tied head stays tied through resizing, saving and loading
    assert model.get_output_embeddings().weight is model.get_input_embeddings().weight
    model.save_pretrained(tmp_path / "mm")
    again = MmForCausalLM.from_pretrained(tmp_path / "mm")
    assert again.get_output_embeddings().weight is again.get_input_embeddings().weight
    assert torch.equal(again.get_input_embeddings().weight, model.get_input_embeddings().weight)


def test_load_projectors_copies_only_projectors(tmp_path):
    stage1, tok, ip, fe = build_tiny_model(seed=1)
    save_parts(stage1, tok, ip, fe, tmp_path / "stage1")
    model, *_ = build_tiny_model(seed=2)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    copied = load_projectors(model, tmp_path / "stage1", {"vision_projector"})
    assert copied and all(k.startswith("vision_projector.") for k in copied)
    after, source = model.state_dict(), stage1.state_dict()
    for key in after:
        expected = source[key] if key.startswith("vision_projector.") else before[key]
        assert torch.equal(after[key], expected), key
    load_projectors(model, tmp_path / "stage1", {"vision_projector", "audio_projector"})
    assert torch.equal(model.audio_projector.conv.weight, stage1.audio_projector.conv.weight)

    model.vision_projector = VisionProjector(32, 64 * 2)  # another LLM width: shapes differ
    with pytest.raises(ConfigError, match=r"vision_projector\.linear_1\.(bias|weight) has shape \(64"):
        load_projectors(model, tmp_path / "stage1", {"vision_projector"})
    with pytest.raises(ConfigError, match="text_projector"):
        load_projectors(model, tmp_path / "stage1", {"text_projector"})
