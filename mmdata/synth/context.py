"""What every synthesis type works with: an item, and the context it asks the endpoint through."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mmdata.records import PLACEHOLDERS
from mmdata.synth import parse
from mmdata.synth.endpoint import Endpoint, ItemFailed
from mmdata.synth.language import is_language, language_of
from mmdata.synth.recipes import Recipe
from mmdata.synth.sources import Item

if TYPE_CHECKING:
    import random

PARSE_ATTEMPTS = 3


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
        import random  # here, not at the top: `mmdata --help` imports this module for its registry

        self.rng = random.Random(self.item.seed)

    async def ask(
        self,
        content,
        sampling: dict,
        read: Callable[[str], object] = parse.text,
        salt: str = "",
        accept: Callable[[object], bool] | None = None,
        refusal: str = "unparsable",
    ):
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

    async def bilingual_chat(self, pairs: list[tuple[str, str]], prefix: str) -> list[dict]:
        """(user, assistant) text pairs as turns with both languages; ``prefix`` (media placeholders)
        opens the first user turn on both sides."""
        chat = []
        for i, (user, assistant) in enumerate(pairs):
            for role, text in (("user", user), ("assistant", assistant)):
                english, malay = await self.both_languages(text)
                if role == "user" and i == 0:
                    english, malay = prefix + english, prefix + malay
                chat.append({"role": role, "content": english, "content_ms": malay})
        return chat

    async def both_languages(self, text: str) -> tuple[str, str]:
        """(English, Malay) for a generated text: translated by the endpoint, each side checked."""
        source = language_of(text) or "en"
        target = "en" if source == "ms" else "ms"

        def pair(other: str) -> tuple[str, str]:
            return (other, text) if source == "ms" else (text, other)

        def usable(other: str) -> bool:
            english, malay = pair(other)
            return is_language(english, "en") and is_language(malay, "ms") and _same_tags(english, malay)

        other = await self.ask(
            self.translator.render(f"to_{target}", text=text),
            self.translator.sampling,
            salt="translate",
            accept=usable,
            refusal="language-check",
        )
        return pair(other)

    def generation(self) -> dict:
        return {
            "model": self.endpoint.model,
            "endpoint": self.endpoint.host,
            "recipe": self.recipe.id,
            "recipe_hash": self.recipe.hash,
            "translate_recipe_hash": self.translator.hash,
            "sampling": self.recipe.sampling,
            "seed": self.item.seed,
            "requests": self.requests,
            "cached": self.cached,
            "attempts": self.attempts,
            "latency_s": round(self.latency_s, 3),
            "tokens": {"prompt": self.prompt_tokens, "completion": self.completion_tokens},
        }


def _same_tags(a: str, b: str) -> bool:
    return all(a.count(tag) == b.count(tag) for tag in PLACEHOLDERS.values())
