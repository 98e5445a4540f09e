"""Template mode of ``visual-context``: conversations about a picture from fixed bilingual
templates filled with its page's structured fields (``specs/prompts/visual-context-templates.yaml``).

No model and no endpoint: a template applies when the fields it needs are present, its question
(one of its [English, Malay] pairs, drawn with the item's seed) and answer are filled in both
languages, and the turns follow the file's order. The same image and file always give the same
conversation, so a re-run changes nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from mmdata.errors import InputError
from mmdata.records import PLACEHOLDERS
from mmdata.synth.structured import address, as_text, numbered, page_values, present

TEMPLATES = "visual-context-templates.yaml"
GENERIC = "generic"  # the group of templates used only when no typed template applied


@dataclass(frozen=True)
class Template:
    id: str
    types: tuple[str, ...]
    needs: tuple[str, ...]
    any: tuple[str, ...]
    ask: tuple[tuple[str, str], ...]  # [English, Malay] question pairs
    answer: tuple[str, str]

    def applies(self, values: dict) -> bool:
        return all(k in values for k in self.needs) and (not self.any or any(k in values for k in self.any))


@dataclass(frozen=True)
class TemplateSet:
    id: str
    hash: str
    path: str
    groups: dict  # group name -> schema.org types
    templates: tuple[Template, ...]

    def conversation(self, source: dict, seed: int) -> tuple[list[dict], list[str]]:
        """The chat for one image record (English ``content``, Malay ``content_ms``, ``<image>``
        opening the first question) and the ids of the templates used; ([], []) when none applied."""
        import random  # here, not at the top: `mmdata --help` imports the synth package

        values = page_values(source)
        names = self._names(values.get("schema_type"))
        typed = [t for t in self.templates if GENERIC not in t.types and names & set(t.types)]
        generic = [t for t in self.templates if GENERIC in t.types]
        chat: list[dict] = []
        used: list[str] = []
        for phase in (typed, generic):
            if chat:  # generic templates only for pictures no typed template could talk about
                break
            for template in phase:
                if not template.applies(values):
                    continue
                question = random.Random(f"{seed}:{template.id}").choice(template.ask)
                texts = [_render(text, values) for text in (*question, *template.answer)]
                if not all(texts):  # an answer that came out empty says nothing: skip the template
                    continue
                prefix = "" if chat else PLACEHOLDERS["image"] + "\n"
                chat.append({"role": "user", "content": prefix + texts[0], "content_ms": prefix + texts[1]})
                chat.append({"role": "assistant", "content": texts[2], "content_ms": texts[3]})
                used.append(template.id)
        return chat, used

    def _names(self, schema_type) -> set[str]:
        """A record's schema.org type(s) and the groups they belong to."""
        kinds = set(schema_type if isinstance(schema_type, list) else [schema_type] if schema_type else [])
        return kinds | {group for group, members in self.groups.items() if kinds & set(members)}


def load_templates(path: str | Path | None = None) -> TemplateSet:
    """The templates at ``path`` if given (``--recipe FILE`` in template mode), else the shipped file."""
    import hashlib

    from mmdata.records import specs_dir
    from mmdata.yamlfile import load_yaml

    path = Path(path) if path else specs_dir() / "prompts" / TEMPLATES
    loaded = load_yaml(path, "--recipe")
    data = loaded.data
    fail = _failer(loaded)
    if not isinstance(data, dict) or not isinstance(data.get("templates"), list) or not data["templates"]:
        fail([], "needs a non-empty 'templates' list")
    groups = data.get("types") or {}
    if not isinstance(groups, dict) or not all(isinstance(v, list) for v in groups.values()):
        fail(["types"], "should map a group name to a list of schema.org types")
    templates = tuple(_template(entry, i, fail) for i, entry in enumerate(data["templates"]))
    ids = [t.id for t in templates]
    if len(set(ids)) != len(ids):
        fail(["templates"], f"template ids must differ ({sorted({i for i in ids if ids.count(i) > 1})[0]!r} is repeated)")
    for i, template in enumerate(templates):
        for text in (*(t for pair in template.ask for t in pair), *template.answer):
            try:
                _compiled(text)
            except Exception as exc:  # jinja2's TemplateSyntaxError: named here, imported lazily
                fail(["templates", i], f"bad template {text[:60]!r}: {exc}")
    return TemplateSet(
        str(data.get("id") or path.stem), hashlib.sha256(loaded.raw).hexdigest()[:16], str(path), groups, templates
    )


def _template(entry, i: int, fail) -> Template:
    def pair(value) -> bool:
        return isinstance(value, list) and len(value) == 2 and all(isinstance(t, str) and t.strip() for t in value)

    if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
        fail(["templates", i], "a template is a mapping with an 'id'")
    for key in ("types", "needs", "any"):
        if not isinstance(entry.get(key, []), list):
            fail(["templates", i, key], "should be a list")
    if not entry.get("types"):
        fail(["templates", i, "types"], "name at least one schema.org type or group (or 'generic')")
    asks = entry.get("ask")
    if not isinstance(asks, list) or not asks or not all(pair(a) for a in asks):
        fail(["templates", i, "ask"], "should be a non-empty list of [English, Malay] question pairs")
    if not pair(entry.get("answer")):
        fail(["templates", i, "answer"], "should be an [English, Malay] pair")
    return Template(
        entry["id"],
        tuple(entry["types"]),
        tuple(entry.get("needs", [])),
        tuple(entry.get("any", [])),
        tuple(tuple(a) for a in asks),
        tuple(entry["answer"]),
    )


def _failer(loaded):
    from mmdata.mix.spec import _line

    def fail(keys: list, message: str):
        where = f"{loaded.path}:{_line(loaded.tree, keys)}" if keys else str(loaded.path)
        raise InputError(f"{where}: {'.'.join(map(str, keys)) + ': ' if keys else ''}{message}")

    return fail


def _render(text: str, values: dict) -> str:
    """One question or answer filled in; blank lines and stray spaces trimmed."""
    return "\n".join(line.strip() for line in _compiled(text).render(**values).strip().splitlines() if line.strip())


@lru_cache(maxsize=1024)
def _compiled(text: str):
    """Compiled once per text: a run fills the same few templates for every picture."""
    from jinja2 import Environment

    # Undefined renders as nothing and is false in an {% if %}: a template's optional parts (a
    # car's year) test for it; what a template cannot do without is in its `needs`.
    env = Environment(autoescape=False)
    env.filters.update(bullets=as_text, numbered=numbered, pairs=as_text, address=address, duration=duration, sentence=sentence)
    return env.from_string(text)


def sentence(value) -> str:
    """A text ending as a sentence does (a full stop added when it has no closing mark)."""
    text = as_text(value) if present(value) else ""
    return text if not text or text[-1] in ".!?。\"'”)" else text + "."


_UNITS = {"en": ("day", "hour", "minute", "second"), "ms": ("hari", "jam", "minit", "saat")}


def duration(value, language: str = "en") -> str:
    """An ISO 8601 duration (schema.org's ``PT1H30M``) in words: "1 hour 30 minutes" / "1 jam 30
    minit"; any other text as it is."""
    text = str(value).strip()
    match = re.fullmatch(r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?", text, re.IGNORECASE)
    if not match or not any(match.groups()):
        return text
    units = _UNITS.get(language, _UNITS["en"])
    parts = []
    for amount, unit in zip(match.groups(), units):
        if amount and int(amount):
            plural = "s" if language == "en" and int(amount) != 1 else ""
            parts.append(f"{int(amount)} {unit}{plural}")
    return " ".join(parts) or text


def records(templates: TemplateSet, item) -> list[dict]:
    """The conversation record for one ``visual-context`` item ([] when no template applied)."""
    source = item.sources[0]
    chat, used = templates.conversation(source, item.seed)
    if not chat:
        return []
    context = "\n".join(str(v) for v in (source.get("title"), source.get("caption"), source.get("description")) if v)
    return [
        {
            "kind": "visual-context",
            "context": context or None,
            "chat": chat,
            "images": [source["media_id"]],
            "source": [source["id"]],
            "generation": {
                "method": "templates",
                "model": None,
                "templates": templates.id,
                "templates_hash": templates.hash,
                "template_ids": used,
                "seed": item.seed,
            },
        }
    ]


class TemplateWriter:
    """The template mode's worker: an item -> its record (checked), or a reject saying why not."""

    def __init__(self, templates: TemplateSet, sources: str):
        from mmdata.schemas.check import RecordChecker

        self.templates, self.sources = templates, sources
        self.checker = RecordChecker("conversation")

    def __call__(self, item):
        import json

        from mmdata.jobs import Failed, Made

        made = records(self.templates, item)
        problem = "no template applies (no schema.org fields, caption, title or description it needs)"
        rule = "no-template"
        if made:
            problems = [v for record in made for v in self.checker.check(record)]
            if not problems:
                return Made(made)
            rule, problem = problems[0].rule, str(problems[0])
        return Failed(
            rule,
            problem,
            {
                "item": item.id,
                "sources": [s["id"] for s in item.sources],
                "raw_answer": json.dumps(made, ensure_ascii=False)[:4000],
            },
            file=self.sources,
            line=item.index,
        )
