"""How each synthesis type turns its source records into one or more bilingual conversations."""

from __future__ import annotations

import base64
import random
from dataclasses import dataclass, field
from typing import Callable

from mmdata.records import PLACEHOLDERS
from mmdata.synth import parse
from mmdata.synth.endpoint import Endpoint, ItemFailed
from mmdata.synth.language import is_language, language_of
from mmdata.synth.recipes import Recipe

PARSE_ATTEMPTS = 3


@dataclass
class Item:
    """One unit of work: the source records it reads, and a seed of its own."""

    id: str
    kind: str
    sources: list[dict]
    seed: int
    index: int = 0


@dataclass
class Context:
    """What an item needs while it runs; tallies its requests for the generation metadata."""

    endpoint: Endpoint
    recipe: Recipe
    translator: Recipe
    item: Item
    media_path: Callable[[str], object] | None = None
    vision: bool = False
    requests: int = 0
    cached: int = 0
    attempts: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    rng: random.Random = field(init=False)

    def __post_init__(self):
        self.rng = random.Random(self.item.seed)

    async def ask(self, content, sampling: dict, read: Callable[[str], object] = parse.text, salt: str = "",
                  accept: Callable[[object], bool] | None = None, refusal: str = "unparsable"):
        """Send one user message and parse the answer. An unparsable answer, or one ``accept``
        refuses, is dropped from the cache and asked again with a new seed, up to PARSE_ATTEMPTS."""
        raw, reason = None, "unparsable"
        for attempt in range(PARSE_ATTEMPTS):
            seed = self.item.seed + 7919 * attempt + sum(map(ord, salt))
            reply = await self.endpoint.chat([{"role": "user", "content": content}], sampling, seed)
            self.requests += 1
            self.cached += reply.cached
            self.attempts += reply.attempts
            self.prompt_tokens += reply.prompt_tokens
            self.completion_tokens += reply.completion_tokens
            self.latency_s += reply.latency_s
            raw = reply.content
            try:
                value = read(raw)
            except parse.ParseError:
                self.endpoint.forget(reply)
                reason = "unparsable"
                continue
            if accept is None or accept(value):
                return value
            self.endpoint.forget(reply)
            reason = refusal
        raise ItemFailed(reason, f"no usable answer after {PARSE_ATTEMPTS} tries ({reason})", raw)

    async def both_languages(self, text: str) -> tuple[str, str]:
        """(English, Malay) for a generated text: translated by the endpoint, each side checked."""
        source = language_of(text) or "en"
        target = "en" if source == "ms" else "ms"

        def pair(other: str) -> tuple[str, str]:
            return (other, text) if source == "ms" else (text, other)

        def usable(other: str) -> bool:
            english, malay = pair(other)
            return is_language(english, "en") and is_language(malay, "ms") and _same_tags(english, malay)

        other = await self.ask(self.translator.render(f"to_{target}", text=text), self.translator.sampling,
                               salt="translate", accept=usable, refusal="language-check")
        return pair(other)

    def generation(self) -> dict:
        return {"model": self.endpoint.model, "endpoint": self.endpoint.host, "recipe": self.recipe.id,
                "recipe_hash": self.recipe.hash, "translate_recipe_hash": self.translator.hash,
                "sampling": self.recipe.sampling, "seed": self.item.seed, "requests": self.requests,
                "cached": self.cached, "attempts": self.attempts, "latency_s": round(self.latency_s, 3),
                "tokens": {"prompt": self.prompt_tokens, "completion": self.completion_tokens}}


def _same_tags(a: str, b: str) -> bool:
    return all(a.count(tag) == b.count(tag) for tag in PLACEHOLDERS.values())


async def _bilingual_chat(ctx: Context, pairs: list[tuple[str, str]], prefix: str) -> list[dict]:
    chat = []
    for i, (user, assistant) in enumerate(pairs):
        for role, text in (("user", user), ("assistant", assistant)):
            english, malay = await ctx.both_languages(text)
            if role == "user" and i == 0:
                english, malay = prefix + english, prefix + malay
            chat.append({"role": role, "content": english, "content_ms": malay})
    return chat


async def audio_instructions(ctx: Context) -> list[dict]:
    """Questions from a transcript, an answer each, then 1-2 turns where the model plays the user."""
    source = ctx.item.sources[0]
    context, recipe = source["context"], ctx.recipe
    limit = int(recipe.data.get("questions_per_item", 1))
    asked = await ctx.ask(recipe.render("questions", context=context), recipe.sampling,
                          read=lambda text: parse.questions(text, limit=limit))
    records = []
    for question in asked:
        answer = await ctx.ask(recipe.render("answer", context=context, question=question), recipe.sampling)
        pairs, history = [(question, answer)], [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]
        for _ in range(ctx.rng.choice(recipe.data.get("follow_ups", [1]))):
            follow = await ctx.ask(recipe.render("follow_up_question", context=context, history=history), recipe.sampling,
                                   read=parse.first_question)
            history.append({"role": "user", "content": follow})
            reply = await ctx.ask(recipe.render("follow_up_answer", context=context, history=history), recipe.sampling)
            history.append({"role": "assistant", "content": reply})
            pairs.append((follow, reply))
        records.append({"kind": "audio-instruction", "context": context,
                        "chat": await _bilingual_chat(ctx, pairs, PLACEHOLDERS["audio"] + "\n"),
                        "audios": [source["media_id"]], "source": [source["id"]]})
    return records


async def visual_context(ctx: Context) -> list[dict]:
    """A multi-turn dialogue grounded in an image's caption and structured context (and the image, with --vision)."""
    source, recipe = ctx.item.sources[0], ctx.recipe
    turns = ctx.rng.choice(recipe.data.get("turns", [2]))
    prompt = recipe.render("dialogue", turns=turns, title=source.get("title"), caption=source.get("caption"),
                           description=source.get("description"), attributes=source.get("attributes") or {})
    content = prompt
    if ctx.vision:
        path = ctx.media_path(source["media_id"])
        data = base64.b64encode(path.read_bytes()).decode()
        mime = "image/png" if str(path).endswith(".png") else "image/jpeg"
        content = [{"type": "text", "text": prompt}, {"type": "image_url", "image_url": {"url": f"data:{mime};base64,{data}"}}]
    pairs = await ctx.ask(content, recipe.sampling, read=parse.dialogue)
    context = "\n".join(str(v) for v in (source.get("title"), source.get("caption"), source.get("description")) if v)
    return [{"kind": "visual-context", "context": context or None, "chat": await _bilingual_chat(ctx, pairs, PLACEHOLDERS["image"] + "\n"),
             "images": [source["media_id"]], "source": [source["id"]]}]


_NAMES = {"image": ("Picture", "picture", "gambar", "pictures", "gambar"),
          "audio": ("Audio", "audio", "audio", "audio clips", "audio")}


async def relationship(ctx: Context) -> list[dict]:
    """What links k pictures and/or audio clips; the user turn drawn from a bilingual pool."""
    recipe, items = ctx.recipe, ctx.item.sources
    counters = {"image": 0, "audio": 0}
    labelled = []
    for source in items:
        counters[source["media"]] += 1
        label, word, word_ms = _NAMES[source["media"]][:3]
        labelled.append({"label": f"{label} {counters[source['media']]}", "en": f"{word} {counters[source['media']]}",
                         "ms": f"{word_ms} {counters[source['media']]}", "text": source["context"], **source})
    kinds = {s["media"] for s in items}
    plural, plural_ms = (_NAMES[kinds.pop()][3:] if len(kinds) == 1 else ("items", "item"))
    english, malay = ctx.rng.choice(recipe.data["instructions"])
    fill = {"a": labelled[0]["en"], "b": labelled[1]["en"], "a_ms": labelled[0]["ms"], "b_ms": labelled[1]["ms"],
            "n": len(items), "kinds": plural, "kinds_ms": plural_ms}
    question, question_ms = english.format(**fill), malay.format(**fill)
    answer = await ctx.ask(recipe.render("answer", items=labelled, question=question), recipe.sampling)
    answer_en, answer_ms = await ctx.both_languages(answer)
    placeholders = "".join(f"<{s['media']}>\n" for s in items)
    kind = ctx.item.kind
    return [{"kind": kind, "context": "\n".join(f"{s['label']}: {s['text']}" for s in labelled),
             "chat": [{"role": "user", "content": placeholders + question, "content_ms": placeholders + question_ms},
                      {"role": "assistant", "content": answer_en, "content_ms": answer_ms}],
             "images": [s["media_id"] for s in items if s["media"] == "image"],
             "audios": [s["media_id"] for s in items if s["media"] == "audio"],
             "source": [s["id"] for s in items]}]


async def translate(ctx: Context) -> list[dict]:
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


BUILDERS = {"audio-instructions": audio_instructions, "visual-context": visual_context, "multi-image": relationship,
            "multi-audio": relationship, "image-audio": relationship, "translate": translate}
