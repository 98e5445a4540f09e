"""A training run's config: one YAML file per stage, plus ``key=value`` overrides on the command line.

    stage: finetune                      # align-vision | align-audio | finetune
    model:
      llm: Qwen/Qwen1.5-0.5B             # hub id or local folder (any AutoModelForCausalLM)
      vision: google/siglip-base-patch16-384
      audio: openai/whisper-small
      from: null                         # or an mmtrain model folder to start from
      projectors_from:                   # stage 2: the stage-1 outputs, no manual combine
        vision_projector: runs/qwen-0.5b/align-vision
        audio_projector: runs/qwen-0.5b/align-audio
    data:
      mixture: stage2@3                  # a store's NAME[@V|@tag], or an `mmdata export --format mmtrain` folder
      max_length: 8192
    output_dir: runs/qwen-0.5b/finetune
    training:                            # transformers.TrainingArguments, as they are
      learning_rate: 2.0e-5
      deepspeed: deepspeed/zero2-offload.json   # relative to this file

Overrides use dotted keys and YAML values: ``training.max_steps=20 data.mixture=exports/demo``.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from mmtrain.errors import ConfigError

STAGES = {
    "align-vision": ["vision_projector"],
    "align-audio": ["audio_projector"],
    "finetune": ["llm", "vision_projector", "audio_projector"],
}
PARTS = ("llm", "vision_tower", "audio_encoder", "vision_projector", "audio_projector")


@dataclass
class ModelConfig:
    llm: str | None = None
    vision: str | None = None
    audio: str | None = None
    start_from: str | None = None  # `from:` in YAML
    projectors_from: dict = field(default_factory=dict)  # projector name -> model folder
    attn_implementation: str | None = None  # sdpa / eager / flash_attention_2 (varlen: packed rows on GPU)
    dtype: str | None = None
    options: dict = field(default_factory=dict)  # MmConfig fields: vision_feature_layer, audio_kernel, ...


@dataclass
class DataConfig:
    mixture: str = ""
    store: str | None = None  # the mmdata store holding `mixture` when it is NAME[@V]
    max_length: int = 8192
    train_on: str = "assistant"  # or "all"
    chat_template: str | None = None  # a Jinja template; default: the tokenizer's
    overlong: str = "skip"  # samples over max_length: skip (counted) or error
    eval_split: str | None = "test"


@dataclass
class RunConfig:
    stage: str
    model: ModelConfig
    data: DataConfig
    output_dir: str
    trainable: list = field(default_factory=list)  # default: the stage's parts
    training: dict = field(default_factory=dict)
    source: str = ""  # the config file

    def to_dict(self) -> dict:
        out = asdict(self)
        out["model"]["from"] = out["model"].pop("start_from")
        return out


def shipped_configs() -> Path:
    """``specs/train`` of this checkout (or of the installed package's specs)."""
    from mmdata.records import specs_dir

    return specs_dir() / "train"


def _find(path: str) -> Path:
    """A config file by path, or a shipped one by name (``qwen2-0.5b/finetune``)."""
    if not isinstance(path, (str, Path)) or not str(path):
        raise ConfigError(f"--config: give a YAML file or a shipped name, not {path!r}")
    if Path(path).is_dir():
        raise ConfigError(f"--config {path}: is a folder; give a stage's YAML file (e.g. {Path(path) / 'finetune.yaml'})")
    candidates = [Path(path), shipped_configs() / path, shipped_configs() / f"{path}.yaml"]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise ConfigError(f"no training config {path!r} (a YAML file, or a shipped name such as qwen2-0.5b/finetune)")


def _override(tree: dict, item: str) -> None:
    from mmdata.yamlfile import parse_yaml

    key, sep, value = item.partition("=")
    if not sep or not key:
        raise ConfigError(f"override {item!r} is not key=value (e.g. training.max_steps=20)")
    *path, last = key.strip().split(".")
    if not all(path) or not last:
        raise ConfigError(f"override {item!r}: {key!r} has an empty part (e.g. training.max_steps=20)")
    node = tree
    for part in path:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"override {item!r}: {part} is not a section")
    node[last] = parse_yaml(value, f"override {item!r}", ConfigError)[0]


# What each key holds: one wrong type named here, not a TypeError deep inside transformers.
_TYPES = {
    "model": {
        "llm": str,
        "vision": str,
        "audio": str,
        "from": str,
        "projectors_from": dict,
        "attn_implementation": str,
        "dtype": str,
        "options": dict,
    },
    "data": {
        "mixture": str,
        "store": str,
        "max_length": int,
        "train_on": str,
        "chat_template": str,
        "overlong": str,
        "eval_split": str,
    },
    "": {"output_dir": str, "trainable": list, "training": dict},
}
_WORDS = {str: "a string", int: "a whole number", dict: "a mapping", list: "a list"}


def _check_types(section: str, values: dict, where: str) -> None:
    for key, kind in _TYPES[section].items():
        value = values.get(key)
        if value is None:
            continue
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            name = f"{section}.{key}" if section else key
            raise ConfigError(f"{where}: {name} should be {_WORDS[kind]}, not {type(value).__name__} ({value!r})"[:400])
    if section == "" and any(not isinstance(p, str) for p in values.get("trainable") or []):
        raise ConfigError(f"{where}: trainable is a list of part names ({', '.join(PARTS)})")
    if section == "model":
        for name, folder in (values.get("projectors_from") or {}).items():
            if not isinstance(folder, str):
                raise ConfigError(
                    f"{where}: model.projectors_from.{name} should be a folder (a string), not {type(folder).__name__}"
                )
    if section == "data" and isinstance(values.get("max_length"), int) and values["max_length"] < 1:
        raise ConfigError(f"{where}: data.max_length should be at least 1, not {values['max_length']}")


def _build(cls, values, where: str):
    if values is not None and not isinstance(values, dict):
        raise ConfigError(f"{where} should be a mapping of keys, not {type(values).__name__} ({values!r})"[:400])
    known = {f.name for f in fields(cls)}
    values = dict(values or {})
    if cls is ModelConfig and "from" in values:
        values["start_from"] = values.pop("from")
    unknown = sorted(set(values) - known, key=str)
    if unknown:
        raise ConfigError(
            f"{where}: unknown key {unknown[0]!r} (known: {', '.join(sorted(known - {'start_from', 'source'}) + (['from'] if cls is ModelConfig else []))})"
        )
    return cls(**values)


def load_config(path: str, overrides: list[str] | tuple = ()) -> RunConfig:
    """Read and check a stage config; ``overrides`` are ``key=value`` strings applied on top.

    >>> cfg = load_config("specs/train/tiny/finetune.yaml", ["training.max_steps=5"])
    >>> cfg.trainable
    ['llm', 'vision_projector', 'audio_projector']
    """
    from mmdata.yamlfile import load_yaml

    file = _find(path)
    tree = load_yaml(file, error=ConfigError).data or {}
    if not isinstance(tree, dict):
        raise ConfigError(f"{file}: a training config is a mapping (stage, model, data, output_dir, training)")
    tree = copy.deepcopy(tree)
    for item in overrides:
        _override(tree, item)
    where = str(file)
    stage = tree.pop("stage", None)
    if not isinstance(stage, str) or stage not in STAGES:
        raise ConfigError(f"{where}: stage must be one of {', '.join(STAGES)}, not {stage!r}"[:400])
    for section in ("model", "data"):
        if isinstance(tree.get(section), dict):
            _check_types(section, tree[section], where)
    _check_types("", tree, where)
    model = _build(ModelConfig, tree.pop("model", {}), f"{where}: model")
    data = _build(DataConfig, tree.pop("data", {}), f"{where}: data")
    try:
        cfg = _build(RunConfig, {"stage": stage, "model": model, "data": data, **tree, "source": where}, where)
    except TypeError as exc:  # a required key missing
        raise ConfigError(f"{where}: {exc}") from None
    cfg.trainable = list(cfg.trainable or STAGES[stage])
    _check(cfg, file)
    return cfg


def _check(cfg: RunConfig, file: Path) -> None:
    where = str(file)
    if not cfg.data.mixture:
        raise ConfigError(f"{where}: data.mixture is required (NAME[@V] in a store, or an export folder)")
    if not cfg.model.start_from and not (cfg.model.llm and cfg.model.vision and cfg.model.audio):
        raise ConfigError(f"{where}: model needs llm, vision and audio, or from: an mmtrain model folder")
    bad = sorted(set(cfg.trainable) - set(PARTS))
    if bad:
        raise ConfigError(f"{where}: trainable: unknown part {bad[0]!r} (parts: {', '.join(sorted(PARTS))})")
    bad = sorted(set(cfg.model.projectors_from) - {"vision_projector", "audio_projector"})
    if bad:
        raise ConfigError(f"{where}: model.projectors_from: {bad[0]!r} is not vision_projector or audio_projector")
    if cfg.data.train_on not in ("assistant", "all"):
        raise ConfigError(f"{where}: data.train_on must be assistant or all, not {cfg.data.train_on!r}")
    if not isinstance(cfg.training, dict):
        raise ConfigError(f"{where}: training is a mapping of transformers.TrainingArguments")
    ds = cfg.training.get("deepspeed")
    if isinstance(ds, str) and not Path(ds).is_absolute():
        # relative to the config file, so shipped configs find their DeepSpeed JSON from anywhere
        beside = file.parent / ds
        cfg.training["deepspeed"] = str(beside if beside.exists() else Path(ds))
        if not Path(cfg.training["deepspeed"]).exists():
            raise ConfigError(f"{where}: training.deepspeed: no file {ds} (beside the config or here)")
