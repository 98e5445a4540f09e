"""``audio-instructions``: questions on a transcribed clip, each answered, then follow-ups the model asks as the user."""

from __future__ import annotations

from mmdata.errors import InputError
from mmdata.records import PLACEHOLDERS
from mmdata.synth import parse
from mmdata.synth.sources import contexts
from mmdata.synth.types.base import SynthType


def group(rows: list[dict], items_per_record: int, seed: int) -> list[list[dict]]:
    """One item per transcript context (a chunk's Malay and English texts are two)."""
    groups = [[row] for row in rows if row["media"] == "audio" and row.get("language")]
    if not groups:
        raise InputError(
            "--type audio-instructions needs transcript records that pass the quality filter "
            "(mmdata.transcribe.DEFAULT_FILTER; --no-quality-filter turns it off) and --where; none found"
        )
    return groups


async def build(ctx) -> list[dict]:
    """``questions_per_item`` conversations: a question from the context, its answer, then 1-2 turns
    where the model writes the next user question and answers it; the clip attached."""
    source = ctx.item.sources[0]
    context, recipe = source["context"], ctx.recipe
    limit = int(recipe.data.get("questions_per_item", 1))
    asked = await ctx.ask(
        recipe.render("questions", context=context), recipe.sampling, read=lambda text: parse.questions(text, limit=limit)
    )
    records = []
    for question in asked:
        answer = await ctx.ask(recipe.render("answer", context=context, question=question), recipe.sampling)
        pairs, history = [(question, answer)], [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]
        for _ in range(ctx.rng.choice(recipe.data.get("follow_ups", [1]))):
            follow = await ctx.ask(
                recipe.render("follow_up_question", context=context, history=history), recipe.sampling, read=parse.first_question
            )
            history.append({"role": "user", "content": follow})
            reply = await ctx.ask(recipe.render("follow_up_answer", context=context, history=history), recipe.sampling)
            history.append({"role": "assistant", "content": reply})
            pairs.append((follow, reply))
        records.append(
            {
                "kind": "audio-instruction",
                "context": context,
                "chat": await ctx.bilingual_chat(pairs, PLACEHOLDERS["audio"] + "\n"),
                "audios": [source["media_id"]],
                "source": [source["id"]],
            }
        )
    return records


def first_prompt(recipe, translator, item, vision: bool) -> str:
    return recipe.render("questions", context=item.sources[0]["context"])


AUDIO_INSTRUCTIONS = SynthType(
    name="audio-instructions",
    help="questions on a transcribed clip, each answered",
    recipe="audio-instructions.yaml",
    read=contexts,
    group=group,
    build=build,
    first_prompt=first_prompt,
)
