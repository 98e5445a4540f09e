"""``translate``: the other language for every turn of stored conversations."""

from __future__ import annotations

from mmdata.synth.language import is_language
from mmdata.synth.recipes import TRANSLATOR
from mmdata.synth.sources import conversations
from mmdata.synth.types.base import SynthType


def group(rows: list[dict], items_per_record: int, seed: int) -> list[list[dict]]:
    """One item per conversation."""
    return [[row] for row in rows]


async def build(ctx) -> list[dict]:
    """Fill ``content_ms`` (or ``content``, when a turn was written in Malay) on every turn of a conversation."""
    record = dict(ctx.item.sources[0])
    chat = []
    for turn in record["chat"]:
        turn = dict(turn)
        if not turn.get("content_ms") or not is_language(turn["content_ms"], "ms"):
            turn["content"], turn["content_ms"] = await ctx.both_languages(turn["content"])
        chat.append(turn)
    record["chat"] = chat
    record.pop("id", None)
    record["source"] = sorted(set(record.get("source", [])) | {ctx.item.sources[0]["id"]})
    return [record]


def first_prompt(recipe, translator, item, vision: bool) -> str:
    return translator.render("to_ms", text=item.sources[0]["chat"][0]["content"])


TRANSLATE = SynthType(
    name="translate",
    help="the other language for every turn of conversations",
    recipe=TRANSLATOR,  # its own recipe is the translator every type uses, so --recipe replaces both
    read=conversations,
    group=group,
    build=build,
    first_prompt=first_prompt,
)
