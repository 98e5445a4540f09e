import json

import pytest

from mmtrain.config import STAGES, load_config, shipped_configs
from mmtrain.errors import ConfigError


@pytest.mark.parametrize("path", sorted(str(p.relative_to(shipped_configs())) for p in shipped_configs().glob("*/*.yaml")))
def test_every_shipped_config_loads_with_its_stage_parts(path, tmp_path):
    from mmtrain.run import _training_arguments

    cfg = load_config(path, [f"output_dir={tmp_path}"])
    assert cfg.trainable == STAGES[cfg.stage]
    # every training key is one transformers.TrainingArguments takes (DeepSpeed is checked on its own below:
    # naming it here would start its distributed set-up)
    checked = load_config(path, [f"output_dir={tmp_path}", "training.deepspeed=null"])
    assert _training_arguments(checked).learning_rate == cfg.training["learning_rate"]
    if cfg.stage == "finetune" and not path.startswith("tiny"):
        assert set(cfg.model.projectors_from) == {"vision_projector", "audio_projector"}
        assert cfg.training["deepspeed"].endswith("zero2-offload.json") and cfg.data.max_length == 8192


def test_overrides_are_dotted_yaml_values():
    cfg = load_config(
        "tiny/finetune",
        [
            "training.max_steps=3",
            "data.max_length=64",
            "model.projectors_from={}",
            "trainable=[vision_projector]",
            "training.bf16=true",
        ],
    )
    assert cfg.training["max_steps"] == 3 and cfg.training["bf16"] is True and cfg.data.max_length == 64
    assert cfg.model.projectors_from == {} and cfg.trainable == ["vision_projector"]
    assert cfg.to_dict()["model"]["from"] == "runs/tiny/base"


@pytest.mark.parametrize(
    "override,message",
    [
        ("traning.x=1", "unknown key 'traning'"),
        ("data.mixtur=x", "data: unknown key 'mixtur'"),
        ("stage=pretrain", "stage must be one of"),
        ("trainable=[decoder]", "unknown part 'decoder'"),
        ("model.projectors_from={lm: x}", "'lm' is not vision_projector"),
        ("data.train_on=users", "train_on must be assistant or all"),
        ("training.deepspeed=nowhere.json", "training.deepspeed: no file nowhere.json"),
        ("no-equals-sign", "is not key=value"),
    ],
)
def test_config_errors_name_the_key(override, message):
    with pytest.raises(ConfigError, match=message):
        load_config("tiny/finetune", [override])


def test_unknown_config_and_bad_yaml(tmp_path):
    with pytest.raises(ConfigError, match="no training config"):
        load_config("nope/finetune")
    bad = tmp_path / "bad.yaml"
    bad.write_text("stage: [finetune\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(str(bad))


def test_deepspeed_config_is_valid_for_deepspeed():
    deepspeed = pytest.importorskip("deepspeed")
    from deepspeed.runtime.config import DeepSpeedConfig

    cfg = load_config("qwen2-0.5b/finetune")
    raw = json.loads(open(cfg.training["deepspeed"]).read())
    # what the Trainer fills in for "auto" on one process
    filled = json.loads(json.dumps(raw).replace('"auto"', "1"))
    filled["bf16"] = {"enabled": True}
    checked = DeepSpeedConfig(filled)
    assert checked.zero_optimization_stage == 2 and checked.zero_config.offload_optimizer.device == "cpu"
    assert deepspeed.__version__
