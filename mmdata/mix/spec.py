"""The mixture spec: YAML checked against ``specs/schemas/mix.schema.json``, errors naming the YAML line."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from mmdata.errors import InputError

MODES = ("take", "weight", "fraction", "repeat")


@dataclass
class Source:
    dataset: str
    where: str | None = None
    mode: str = "fraction"
    amount: float = 1.0
    language: object = None
    line: int = 0


@dataclass
class MixSpec:
    name: str
    sources: list[Source]
    seed: int = 0
    size: int | None = None
    language: object = "en"
    filters: dict = field(default_factory=dict)  # filter name -> its setting (mmdata.mix.filters reads them)
    tokenizer: str | None = None
    instructions: dict = field(default_factory=dict)  # kind -> [[en, ms], ...]
    combine: dict | None = None  # {rows, parts: [lo, hi]}
    split: dict | None = None
    hash: str = ""
    path: str = ""
    text: str = ""


def _line(node, path) -> int:
    """1-based line of the YAML node at ``path`` (keys and indexes), or of its nearest parent."""
    for part in path:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if k.value == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            match = node.value[part]
        else:
            match = None
        if match is None:
            break
        node = match
    return node.start_mark.line + 1


def load_spec(path: str | Path) -> MixSpec:
    """Read and check a spec; every mistake is an InputError naming the file, line and key."""
    import jsonschema

    from mmdata.mix.filters import FILTERS, SourceFilter, mix_schema, setting_of
    from mmdata.records import specs_dir
    from mmdata.yamlfile import load_yaml

    loaded = load_yaml(path, "--spec")
    path, text, data, tree = loaded.path, loaded.text, loaded.data, loaded.tree
    schema = mix_schema(json.loads((specs_dir() / "schemas" / "mix.schema.json").read_text()))
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(data or {}), key=lambda e: list(e.absolute_path))
    if errors:
        error = errors[0]
        key = ".".join(str(p) for p in error.absolute_path) or "(top)"
        raise InputError(f"{path}:{_line(tree, list(error.absolute_path)) if tree else 1}: {key}: {error.message}")
    sources = []
    for i, raw in enumerate(data["sources"]):
        modes = [m for m in MODES if m in raw]
        line = _line(tree, ["sources", i])
        if len(modes) > 1:
            raise InputError(f"{path}:{line}: sources.{i}: give one of take, weight, fraction, repeat (not {', '.join(modes)})")
        mode = modes[0] if modes else "fraction"
        sources.append(Source(raw["dataset"], raw.get("where"), mode, float(raw.get(mode, 1.0)), raw.get("language"), line))
    for f in FILTERS:
        if message := f.check(data):
            raise InputError(f"{path}:{_line(tree, f.spec_key.split('.'))}: {message}")
    if data.get("tokenizer"):
        _check_tokenizer(data["tokenizer"], f"{path}:{_line(tree, ['tokenizer'])}")
    filters = {f.name: setting_of(data, f.spec_key) for f in FILTERS if f.schema is not None and not isinstance(f, SourceFilter)}
    return MixSpec(
        name=data["name"],
        sources=sources,
        seed=int(data.get("seed", 0)),
        size=data.get("size"),
        language=data.get("language", "en"),
        filters=filters,
        tokenizer=data.get("tokenizer"),
        instructions=data.get("instructions") or {},
        combine=data.get("combine"),
        split=data.get("split"),
        hash=hashlib.sha256(text.encode()).hexdigest()[:16],
        path=str(path),
        text=text,
    )


def _check_tokenizer(value: str, where: str) -> None:
    """Load the tokenizer now: a wrong path found after minutes of filtering wastes the minutes."""
    from tokenizers import Tokenizer

    file = Path(value) / "tokenizer.json" if Path(value).is_dir() else Path(value)
    if not file.is_file():
        raise InputError(f"{where}: tokenizer: no tokenizer.json at {value}")
    try:
        Tokenizer.from_file(str(file))
    except Exception as exc:  # the Rust side raises plain Exception for every kind of bad file
        raise InputError(f"{where}: tokenizer: {file} is not a tokenizer.json ({' '.join(str(exc).split())[:200]})") from None
