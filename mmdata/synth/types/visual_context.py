"""``visual-context``: a dialogue grounded in an image's caption and structured context (and the image, with --vision)."""

from __future__ import annotations

import base64

from mmdata.records import PLACEHOLDERS
from mmdata.synth import parse
from mmdata.synth.sources import contexts
from mmdata.synth.structured import CRAWL_KEYS, is_page_record, prompt_fields
from mmdata.synth.types.base import SynthType


def group(rows: list[dict], items_per_record: int, seed: int) -> list[list[dict]]:
    """One item per image with a text to talk about."""
    return [[row] for row in rows if row["media"] == "image"]


def _prompt(recipe, source: dict, turns: int) -> str:
    """The dialogue prompt; a page-crawled image also brings its schema.org type, page language and
    structured fields, and leaves its crawl bookkeeping (URLs, times) out. Other images render as before."""
    attributes = source.get("attributes") or {}
    page = {"schema_type": None, "language": None, "fields": []}
    if is_page_record(source):
        page = {
            "schema_type": attributes.get("schema_type"),
            "language": attributes.get("language"),
            "fields": prompt_fields(source),
        }
        attributes = {k: v for k, v in attributes.items() if k not in CRAWL_KEYS}
    return recipe.render(
        "dialogue",
        turns=turns,
        title=source.get("title"),
        caption=source.get("caption"),
        description=source.get("description"),
        attributes=attributes,
        **page,
    )


async def build(ctx) -> list[dict]:
    """A 2-3 exchange dialogue about the picture, the image attached."""
    source, recipe = ctx.item.sources[0], ctx.recipe
    prompt = _prompt(recipe, source, ctx.rng.choice(recipe.data.get("turns", [2])))
    content = prompt
    if ctx.vision:
        path = ctx.media_path(source["media_id"])
        data = base64.b64encode(path.read_bytes()).decode()
        mime = "image/png" if str(path).endswith(".png") else "image/jpeg"
        content = [{"type": "text", "text": prompt}, {"type": "image_url", "image_url": {"url": f"data:{mime};base64,{data}"}}]
    pairs = await ctx.ask(content, recipe.sampling, read=parse.dialogue)
    context = "\n".join(str(v) for v in (source.get("title"), source.get("caption"), source.get("description")) if v)
    return [
        {
            "kind": "visual-context",
            "context": context or None,
            "chat": await ctx.bilingual_chat(pairs, PLACEHOLDERS["image"] + "\n"),
            "images": [source["media_id"]],
            "source": [source["id"]],
        }
    ]


def first_prompt(recipe, translator, item, vision: bool) -> str:
    text = _prompt(recipe, item.sources[0], recipe.data.get("turns", [2])[0])
    return text + ("\n[+ the image as an image_url part]" if vision else "")


VISUAL_CONTEXT = SynthType(
    name="visual-context",
    help="a dialogue on an image and its caption",
    recipe="visual-context.yaml",
    read=contexts,
    group=group,
    build=build,
    first_prompt=first_prompt,
)
