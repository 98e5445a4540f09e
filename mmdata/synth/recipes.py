"""Recipes: each type's prompts, sampling parameters and knobs, as versioned YAML data.

The default recipes are ``specs/prompts/*.yaml``; ``--recipe FILE`` replaces one. A recipe's
content hash goes into every record it produced, so a prompt change is visible in lineage.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from mmdata.errors import InputError

# Every type makes its text bilingual with this recipe's prompts (to_ms, to_en).
TRANSLATOR = "translate.yaml"


@dataclass(frozen=True)
class Recipe:
    id: str
    hash: str
    data: dict
    path: str

    @property
    def sampling(self) -> dict:
        return dict(self.data.get("sampling") or {})

    def render(self, prompt: str, **values) -> str:
        """Fill prompt ``prompt`` with record fields (a missing field is an error, not a blank)."""
        from jinja2 import TemplateError

        source = (self.data.get("prompts") or {}).get(prompt)
        if source is None:
            raise InputError(f"recipe {self.path} has no prompt {prompt!r}")
        try:
            return _template(source).render(**values)
        except TemplateError as exc:
            raise InputError(f"recipe {self.path}, prompt {prompt!r}: {exc}") from None


@lru_cache(maxsize=256)
def _template(source: str):
    """Compiled once: compiling a Jinja template per request cost more than the request itself."""
    from jinja2 import Environment, StrictUndefined

    return Environment(undefined=StrictUndefined).from_string(source)


def load_recipe(default: str, path: str | Path | None = None) -> Recipe:
    """The recipe at ``path`` if given, else the shipped ``specs/prompts/<default>``."""
    import hashlib  # here, not at the top: `mmdata --help` imports this module for its registry

    from mmdata.records import specs_dir
    from mmdata.yamlfile import load_yaml

    path = Path(path) if path else specs_dir() / "prompts" / default
    loaded = load_yaml(path, "--recipe")
    data = loaded.data
    if not isinstance(data, dict) or not isinstance(data.get("prompts"), dict):
        raise InputError(f"recipe {path}: needs a 'prompts' mapping")
    _check_fields(data, loaded)
    return Recipe(str(data.get("id") or path.stem), hashlib.sha256(loaded.raw).hexdigest()[:16], data, str(path))


def _check_fields(data: dict, loaded) -> None:
    """Types of the fields the synthesis code reads, checked here: a prompt that is a list, or a
    count that is a string, would otherwise fail deep inside a run, far from the file and the line."""
    import string

    from mmdata.mix.spec import _line

    def fail(keys: list, message: str):
        raise InputError(f"{loaded.path}:{_line(loaded.tree, keys)}: {'.'.join(map(str, keys))}: {message}")

    def kind(value) -> str:
        return type(value).__name__

    def count(value, low: int) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and value >= low

    if data.get("id") is not None and not isinstance(data["id"], (str, int)):
        fail(["id"], f"should be a string, not {kind(data['id'])}")
    for name, source in data["prompts"].items():
        if not isinstance(source, str):
            fail(["prompts", name], f"a prompt is a Jinja template (a string), not {kind(source)}")
    sampling = data.get("sampling")
    if sampling is not None and not isinstance(sampling, dict):
        fail(["sampling"], f"should be a mapping of request parameters, not {kind(sampling)}")
    for name, value in (sampling or {}).items():
        if isinstance(value, dict):
            fail(["sampling", name], "should be a number, a string or a list, not a mapping")
    if "questions_per_item" in data and not count(data["questions_per_item"], 1):
        fail(["questions_per_item"], f"should be a whole number of at least 1, not {data['questions_per_item']!r}")
    for name, low in (("follow_ups", 0), ("turns", 1)):
        if name in data:
            value = data[name]
            if not isinstance(value, list) or not value or not all(count(v, low) for v in value):
                fail([name], f"should be a non-empty list of whole numbers of at least {low}, not {value!r}"[:300])
    if "instructions" in data:
        pairs = data["instructions"]
        if not isinstance(pairs, list) or not pairs:
            fail(["instructions"], "should be a non-empty list of [English, Malay] pairs")
        known = {"a", "b", "a_ms", "b_ms", "n", "kinds", "kinds_ms"}
        for i, pair in enumerate(pairs):
            if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(t, str) for t in pair)):
                fail(["instructions", i], "should be an [English, Malay] pair of strings")
            for text in pair:
                try:
                    names = {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}
                except ValueError as exc:
                    fail(["instructions", i], f"bad {{placeholder}} in {text!r}: {exc}")
                unknown = sorted(n for n in names if n.split(".")[0].split("[")[0] not in known)
                if unknown:
                    fail(["instructions", i], f"unknown placeholder {{{unknown[0]}}} (known: {', '.join(sorted(known))})")
