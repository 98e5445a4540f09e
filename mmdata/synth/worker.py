"""The synthesis of one item: its type's builder through a fresh context, then the record checks."""

from __future__ import annotations

import json
from collections.abc import Callable

from mmdata.jobs import Failed, Made, Outcome
from mmdata.synth.context import Context
from mmdata.synth.endpoint import Endpoint, ItemFailed
from mmdata.synth.recipes import Recipe
from mmdata.synth.sources import Item
from mmdata.synth.types.base import SynthType


class Synthesizer:
    """Turns an item into conversation records, or a reject with the reason and the raw answer."""

    def __init__(
        self,
        synth_type: SynthType,
        endpoint: Endpoint,
        recipe: Recipe,
        translator: Recipe,
        media_path: Callable[[str], object],
        vision: bool,
        sources: str,
    ):
        from mmdata.schemas.check import RecordChecker

        self.synth_type, self.endpoint, self.recipe, self.translator = synth_type, endpoint, recipe, translator
        self.media_path, self.vision, self.sources = media_path, vision, sources
        self.checker = RecordChecker("conversation")

    async def __call__(self, item: Item) -> Outcome:
        ctx = Context(self.endpoint, self.recipe, self.translator, item, media_path=self.media_path, vision=self.vision)
        try:
            records = await self.synth_type.build(ctx)
        except ItemFailed as exc:
            return self._reject(item, exc.reason, str(exc), exc.raw)
        records = [_with_generation(record, ctx.generation()) for record in records]
        problems = [v for record in records for v in self.checker.check(record)]
        if problems:
            return self._reject(item, problems[0].rule, str(problems[0]), json.dumps(records, ensure_ascii=False)[:4000])
        return Made(records)

    def _reject(self, item: Item, reason: str, message: str, raw: str | None) -> Failed:
        return Failed(
            reason,
            message,
            {"item": item.id, "sources": [s["id"] for s in item.sources], "raw_answer": raw},
            file=self.sources,
            line=item.index,
        )


def _with_generation(record: dict, generation: dict) -> dict:
    previous = record.get("generation")
    record["generation"] = {**generation, **({"previous": previous} if previous else {})}
    return record
