import pytest
from safetensors.torch import load_file

from mmtrain.config import load_config
from mmtrain.errors import ConfigError
from mmtrain.evaluate import evaluate
from mmtrain.lineage import read_lineage
from mmtrain.run import build_model, run
from tests.mmtrain.conftest import overrides


def weights(folder):
    return load_file(str(folder / "model.safetensors"))


def test_stage1_changes_only_its_projector(tiny_dir, mixture_dir, tmp_path):
    out = tmp_path / "align-vision"
    result = run("tiny/align-vision", overrides(tiny_dir, mixture_dir, out, "training.max_steps=3"))
    assert result.steps == 3 and {part for part, n in result.trainable.items() if n} == {"vision_projector"}
    before, after = weights(tiny_dir), weights(out)
    changed = {k for k in before if not (before[k] == after[k]).all()}
    assert changed and all(k.startswith("vision_projector.") for k in changed)


def test_stage2_starts_from_the_stage1_projectors(tiny_dir, mixture_dir, tmp_path):
    for stage in ("align-vision", "align-audio"):
        run(f"tiny/{stage}", overrides(tiny_dir, mixture_dir, tmp_path / stage, "training.max_steps=2"))
    cfg = load_config(
        "tiny/finetune",
        overrides(
            tiny_dir,
            mixture_dir,
            tmp_path / "ft",
            f"model.projectors_from.vision_projector={tmp_path / 'align-vision'}",
            f"model.projectors_from.audio_projector={tmp_path / 'align-audio'}",
        ),
    )
    model = build_model(cfg)[0]
    for name in ("vision_projector", "audio_projector"):
        saved = weights(tmp_path / f"align-{name.split('_')[0]}")
        for key, value in model.state_dict().items():
            if key.startswith(name):
                assert (value == saved[key]).all(), key
    missing = load_config(
        "tiny/finetune",
        overrides(tiny_dir, mixture_dir, tmp_path / "x", f"model.projectors_from.vision_projector={tmp_path / 'none'}"),
    )
    with pytest.raises(ConfigError, match="run its stage-1 config first"):
        build_model(missing)


def test_finetune_overfits_a_tiny_mixture(tiny_dir, mixture_dir, tmp_path):
    before = evaluate(tiny_dir, str(mixture_dir), split="train", samples=0, out=tmp_path / "before")
    out = tmp_path / "ft"
    result = run(
        "tiny/finetune",
        overrides(
            tiny_dir,
            mixture_dir,
            out,
            "model.projectors_from={}",
            "training.max_steps=40",
            "training.save_strategy=steps",
            "training.save_steps=20",
        ),
    )
    after = evaluate(out, str(mixture_dir), split="train", samples=1, out=tmp_path / "after", max_new_tokens=8)
    assert after.loss < 0.5 * before.loss
    assert result.eval_loss is not None and result.packing_efficiency > 0.5 and result.tokens_per_second > 0
    # every checkpoint is a complete, traceable model folder
    for folder in (out, out / "checkpoint-20", out / "checkpoint-40"):
        lineage = read_lineage(folder)
        assert lineage["mixture"] == "demo@1" and lineage["config"]["stage"] == "finetune"
        assert lineage["mmtrain_version"] and "git_commit" in lineage
        assert (folder / "audio_processor" / "preprocessor_config.json").exists()
    assert read_lineage(out)["result"]["steps"] == 40
    assert after.samples[0]["reference"] and (tmp_path / "after" / "report.md").exists()


def test_a_store_mixture_is_exported_and_traced(store, tmp_path, tiny_dir):
    pytest.importorskip("datasketch")
    from mmdata.mix import mix
    from tests.mix.test_mix import fill

    fill(store, tmp_path / "in")
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "name: m\nseed: 1\nlanguage: both\nsplit: {test: 0.3}\nsources:\n  - {dataset: a, take: 6}\n  - {dataset: b, take: 4}\n"
    )
    mixed = mix(spec, store)
    out = tmp_path / "run"
    result = run(
        "tiny/finetune",
        [
            f"model.from={tiny_dir}",
            "data.mixture=m",
            f"data.store={store.root}",
            f"output_dir={out}",
            "model.projectors_from={}",
            "training.max_steps=2",
        ],
    )
    lineage = read_lineage(out)
    assert result.mixture == lineage["mixture"] == f"m@{mixed.version}"
    assert lineage["spec_hash"] and lineage["mixture_parents"] == ["a@1", "b@1"]
    assert (out / "mixture" / f"m@{mixed.version}" / "train.jsonl").exists()
    exported = out / "mixture" / f"m@{mixed.version}" / "train.jsonl"
    assert result.samples == sum(1 for _ in open(exported))
    # NAME and NAME@tag resolve to the same version: its export is reused, not redone (what other ranks rely on)
    from mmdata.history import tag
    from mmtrain.data.source import mixture_folder

    tag(f"m@{mixed.version}", "stable", store)
    before = exported.stat().st_mtime_ns
    assert mixture_folder("m@stable", str(store.root), out / "mixture") == exported.parent
    assert exported.stat().st_mtime_ns == before and not list((out / "mixture").glob(".exporting-*"))
    with pytest.raises(ConfigError, match="no-such"):
        run(
            "tiny/finetune",
            [
                f"model.from={tiny_dir}",
                "data.mixture=no-such",
                f"data.store={store.root}",
                f"output_dir={tmp_path / 'x'}",
                "model.projectors_from={}",
            ],
        )


def test_overlong_samples_are_skipped_or_refused(tiny_dir, mixture_dir, tmp_path):
    result = run(
        "tiny/align-audio", overrides(tiny_dir, mixture_dir, tmp_path / "a", "training.max_steps=1", "data.max_length=100")
    )
    assert "multi" in result.skipped and "text" not in result.skipped
    from mmtrain.errors import DataError

    with pytest.raises(DataError, match="longer than max_length=100"):
        run("tiny/align-audio", overrides(tiny_dir, mixture_dir, tmp_path / "b", "data.max_length=100", "data.overlong=error"))


def test_a_stage_composes_the_model_from_three_folders(mixture_dir, tmp_path):
    """What the shipped configs do with hub ids: llm / vision / audio folders, each with its processor."""
    from transformers import AutoModelForCausalLM, Qwen2Config, WhisperForConditionalGeneration

    from mmtrain.tiny import build_tiny_model, build_tiny_tokenizer

    tok = build_tiny_tokenizer(tmp_path / "llm")
    AutoModelForCausalLM.from_config(
        Qwen2Config(
            vocab_size=len(tok),
            hidden_size=64,
            intermediate_size=128,
            num_hidden_layers=2,
            num_attention_heads=4,
            num_key_value_heads=2,
        )
    ).save_pretrained(tmp_path / "llm")
    tiny, _, image_processor, feature_extractor = build_tiny_model()
    tiny.vision_tower.save_pretrained(tmp_path / "siglip")
    image_processor.save_pretrained(tmp_path / "siglip")
    WhisperForConditionalGeneration(tiny.config.audio_config).save_pretrained(tmp_path / "whisper")
    feature_extractor.save_pretrained(tmp_path / "whisper")
    out = tmp_path / "out"
    result = run(
        "qwen2-0.5b/align-vision",
        [
            f"model.llm={tmp_path / 'llm'}",
            f"model.vision={tmp_path / 'siglip'}",
            f"model.audio={tmp_path / 'whisper'}",
            f"data.mixture={mixture_dir}",
            f"output_dir={out}",
            "training.max_steps=2",
            "training.bf16=false",
            "training.dataloader_num_workers=0",
            "data.max_length=512",
        ],
    )
    assert result.steps == 2 and result.trainable["vision_projector"] > 0 and result.trainable["llm"] == 0
    assert read_lineage(out)["config"]["model"]["llm"] == str(tmp_path / "llm")
    with pytest.raises(ConfigError, match="cannot load the model"):
        run(
            "qwen2-0.5b/align-vision",
            [f"model.llm={tmp_path / 'nowhere'}", f"data.mixture={mixture_dir}", f"output_dir={tmp_path / 'x'}"],
        )
