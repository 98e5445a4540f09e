"""``multi-image``, ``multi-audio``, ``image-audio``: what links k pictures and/or audio clips.

One question drawn from the recipe's bilingual pool ("What is related between picture 1 and
picture 2?" / "Apakah yang berkaitan antara gambar 1 dan gambar 2?"), its answer; one
placeholder per item, in order. The three types differ only in the media they relate.
"""

from __future__ import annotations

from collections.abc import Callable

from mmdata.errors import InputError
from mmdata.records import PLACEHOLDERS
from mmdata.synth.sources import contexts
from mmdata.synth.types.base import SynthType

# Per media: label, word, Malay word, plural, Malay plural.
_NAMES = {
    "image": ("Picture", "picture", "gambar", "pictures", "gambar"),
    "audio": ("Audio", "audio", "audio", "audio clips", "audio"),
}


def grouper(media: tuple[str, ...]) -> Callable[[list[dict], int, int], list[list[dict]]]:
    def group(rows: list[dict], items_per_record: int, seed: int) -> list[list[dict]]:
        pools = {m: [row for row in rows if row["media"] == m] for m in _NAMES}
        # One context per record here (the Malay one first), so a clip is never related to itself.
        unique = {m: list({c["id"]: c for c in reversed(pool)}.values())[::-1] for m, pool in pools.items()}
        return draw(unique, media, items_per_record, seed)

    return group


def draw(pools: dict[str, list[dict]], media: tuple[str, ...], k: int, seed: int) -> list[list[dict]]:
    """Groups of k items drawn without replacement (seeded); image-audio takes both kinds, at least one each."""
    if k < 2:
        raise InputError("--items must be at least 2")
    import random  # here, not at the top: `mmdata --help` imports this module for its registry

    rng = random.Random(seed)
    shuffled = {m: rng.sample(pools[m], len(pools[m])) for m in media}
    for m in media:
        if not shuffled[m]:
            raise InputError(f"no {m} sources with text to relate (give --from datasets holding {m} records)")
    if len(media) == 1:
        pool = shuffled[media[0]]
        return [pool[i : i + k] for i in range(0, len(pool) - k + 1, k)]
    audios, images = k // 2, k - k // 2  # the reference's mixed prompt: audio first, then pictures
    groups = []
    while len(shuffled["audio"]) >= audios and len(shuffled["image"]) >= images:
        groups.append([shuffled["audio"].pop() for _ in range(audios)] + [shuffled["image"].pop() for _ in range(images)])
    return groups


def _labelled(sources: list[dict]) -> list[dict]:
    """Each source with its label ("Picture 2"), its names in both languages, and its text."""
    counters = {"image": 0, "audio": 0}
    labelled = []
    for source in sources:
        counters[source["media"]] += 1
        n = counters[source["media"]]
        label, word, word_ms = _NAMES[source["media"]][:3]
        labelled.append(
            {"label": f"{label} {n}", "en": f"{word} {n}", "ms": f"{word_ms} {n}", "text": source["context"], **source}
        )
    return labelled


async def build(ctx) -> list[dict]:
    recipe, items = ctx.recipe, ctx.item.sources
    labelled = _labelled(items)
    kinds = {s["media"] for s in items}
    plural, plural_ms = _NAMES[kinds.pop()][3:] if len(kinds) == 1 else ("items", "item")
    english, malay = ctx.rng.choice(recipe.data["instructions"])
    fill = {
        "a": labelled[0]["en"],
        "b": labelled[1]["en"],
        "a_ms": labelled[0]["ms"],
        "b_ms": labelled[1]["ms"],
        "n": len(items),
        "kinds": plural,
        "kinds_ms": plural_ms,
    }
    question, question_ms = english.format(**fill), malay.format(**fill)
    answer = await ctx.ask(recipe.render("answer", items=labelled, question=question), recipe.sampling)
    answer_en, answer_ms = await ctx.both_languages(answer)
    placeholders = "".join(PLACEHOLDERS[s["media"]] + "\n" for s in items)
    return [
        {
            "kind": ctx.item.kind,
            "context": "\n".join(f"{s['label']}: {s['text']}" for s in labelled),
            "chat": [
                {"role": "user", "content": placeholders + question, "content_ms": placeholders + question_ms},
                {"role": "assistant", "content": answer_en, "content_ms": answer_ms},
            ],
            "images": [s["media_id"] for s in items if s["media"] == "image"],
            "audios": [s["media_id"] for s in items if s["media"] == "audio"],
            "source": [s["id"] for s in items],
        }
    ]


def first_prompt(recipe, translator, item, vision: bool) -> str:
    return recipe.render(
        "answer", items=_labelled(item.sources), question="(a question drawn from the recipe's instruction pool)"
    )


def _relationship(name: str, help: str, media: tuple[str, ...]) -> SynthType:
    return SynthType(
        name=name,
        help=help,
        recipe="relationship.yaml",
        read=contexts,
        group=grouper(media),
        build=build,
        first_prompt=first_prompt,
    )


MULTI_IMAGE = _relationship("multi-image", "what links --items pictures", ("image",))
MULTI_AUDIO = _relationship("multi-audio", "what links --items audio clips", ("audio",))
IMAGE_AUDIO = _relationship("image-audio", "what links pictures and audio clips (--items in all)", ("image", "audio"))
