"""Recipes: each type's prompts, sampling parameters and knobs, as versioned YAML data.

The default recipes are ``specs/prompts/*.yaml``; ``--recipe FILE`` replaces one. A recipe's
content hash goes into every record it produced, so a prompt change is visible in lineage.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from mmdata.errors import InputError

DEFAULT_RECIPES = {
    "audio-instructions": "audio-instructions.yaml",
    "visual-context": "visual-context.yaml",
    "multi-image": "relationship.yaml",
    "multi-audio": "relationship.yaml",
    "image-audio": "relationship.yaml",
    "translate": "translate.yaml",
}


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


def load_recipe(kind: str, path: str | Path | None = None) -> Recipe:
    """The recipe for synthesis type ``kind``: ``path`` if given, else the shipped default."""
    from mmdata.schemas.check import specs_dir

    path = Path(path) if path else specs_dir() / "prompts" / DEFAULT_RECIPES[kind]
    if not path.exists():
        raise InputError(f"--recipe {path}: no such file")
    raw = path.read_bytes()
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise InputError(f"recipe {path}: not valid YAML ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("prompts"), dict):
        raise InputError(f"recipe {path}: needs a 'prompts' mapping")
    return Recipe(str(data.get("id") or path.stem), hashlib.sha256(raw).hexdigest()[:16], data, str(path))
