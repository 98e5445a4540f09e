"""What a synthesis type is: one object holding everything the run needs to know about it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mmdata.synth.context import Context
    from mmdata.synth.recipes import Recipe
    from mmdata.synth.sources import Item


@dataclass(frozen=True)
class SynthType:
    name: str  # the --type value, and each item's kind
    help: str  # one line for ``synthesize --help``
    recipe: str  # its default recipe: a file in specs/prompts/ (``--recipe FILE`` replaces it)
    # Rows of one source version (``con``, a resolved ``Ref``); refuses record kinds it cannot read.
    read: Callable[[object, object], list[dict]]
    # The rows of every source, in order -> one list of source rows per item (items_per_record, seed).
    group: Callable[[list[dict], int, int], list[list[dict]]]
    # One item's records, asked from the endpoint through the context.
    build: Callable[[Context], Awaitable[list[dict]]]
    # The first message an item would send, for --dry-run (recipe, translator, item, vision).
    first_prompt: Callable[[Recipe, Recipe, Item, bool], str]
