"""``synthesize``: bilingual dialogues from store records, against any OpenAI-compatible endpoint."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mmdata.errors import InputError
from mmdata.extras import import_extra
from mmdata.options import at_least, more_than
from mmdata.progress import ProgressCallback, silent
from mmdata.synth.types import TYPES, help_lines, synth_type

if TYPE_CHECKING:  # the CLI reads TYPES and help_lines when it starts: nothing heavy here
    from mmdata.jobs import Outcome
    from mmdata.store.lake import Store

__all__ = ["synthesize", "SynthResult", "TYPES", "help_lines"]


@dataclass
class SynthResult:
    dataset: str
    version: int | None = None
    items: int = 0
    already: int = 0
    made: int = 0
    records: int = 0
    rejected: int = 0
    rejects_by_reason: dict = field(default_factory=dict)
    requests_sent: int = 0
    requests_cached: int = 0
    retries: int = 0
    tokens: dict = field(default_factory=dict)
    errors: dict = field(default_factory=dict)
    seconds: float = 0.0
    prompts: list = field(default_factory=list)  # --dry-run: what would be sent first
    stopped: str | None = None  # why the run stopped early (endpoint down), if it did
    message: str = ""


def synthesize(
    type: str,
    sources: list[str],
    into: str,
    store: Store | str | None = None,
    *,
    endpoint: str | None = None,
    model: str = "default",
    api_key_env: str = "OPENAI_API_KEY",
    concurrency: int = 32,
    rpm: int | None = None,
    tpm: int | None = None,
    limit: int | None = None,
    seed: int = 0,
    recipe: str | None = None,
    shard: str | None = None,
    dry_run: bool = False,
    items_per_record: int = 2,
    vision: bool = False,
    checkpoint: int = 200,
    timeout: float = 120.0,
    give_up_after: float = 300.0,
    where: str | None = None,
    quality_filter: bool = True,
    templates: bool = False,
    progress: ProgressCallback = silent,
) -> SynthResult:
    """Generate conversations of ``type`` from ``sources`` into dataset ``into``.

    Requests run concurrently (at most ``concurrency`` in flight, optional RPM/TPM limits); every
    answer is cached in the store, and the run journal ``runs/synth-<into>[-shard-i-of-n]/``
    records finished items, so a re-run sends nothing twice and a killed run resumes. Items that
    fail after retries go to the rejects with the reason and the raw answer. A version is
    committed every ``checkpoint`` items and at the end.

    ``where`` keeps the source records a SQL condition over their columns matches (as a mix
    source's ``where``, through the same read-only guard); ``quality_filter=False`` lets
    transcripts that fail ``mmdata.transcribe.DEFAULT_FILTER`` through. ``templates=True``
    (``visual-context`` only) fills the shipped bilingual templates (``recipe``: another template
    file) from each picture's structured context instead: no endpoint, no model, deterministic.
    """
    kind = synth_type(type)
    # concurrency 0 started no worker and sent nothing; a negative limit silently dropped items
    at_least(1, concurrency=concurrency, rpm=rpm, tpm=tpm)
    at_least(0, limit=limit, checkpoint=checkpoint)
    at_least(2, items=items_per_record)
    more_than(0, timeout=timeout, give_up_after=give_up_after)
    import_extra("jinja2", "synth", "synthesize")  # recipes are Jinja templates
    if templates:
        return _from_templates(
            kind, sources, into, store, recipe, seed, limit, shard, dry_run, vision, checkpoint, where, quality_filter, progress
        )

    import asyncio

    from mmdata.jobs import Job
    from mmdata.store.lake import Store
    from mmdata.store.versions import Lineage
    from mmdata.synth.endpoint import EndpointDown, RequestCache
    from mmdata.synth.recipes import TRANSLATOR, load_recipe
    from mmdata.synth.sources import load_items

    store = Store.of(store)
    job = Job(store, "synth", into, "conversation", shard=shard, checkpoint=checkpoint)
    main_recipe = load_recipe(kind.recipe, recipe)
    translator = main_recipe if kind.recipe == TRANSLATOR else load_recipe(TRANSLATOR)
    items, resolved = load_items(store, kind, sources, items_per_record, seed, where=where, quality_filter=quality_filter)
    items = [i for i in items if job.mine(i.id)][:limit]
    result = SynthResult(into, items=len(items))
    base_url = endpoint or os.environ.get("OPENAI_BASE_URL")
    if dry_run:
        result.prompts = _preview(kind, main_recipe, translator, items[:3], vision)
        result.message = (
            f"dry run: {len(items)} items of {type} would be sent to {base_url or 'the endpoint given with --endpoint'}"
        )
        return result
    if not base_url:
        raise InputError("no endpoint: pass --endpoint URL or set OPENAI_BASE_URL")
    import_extra("openai", "synth", "synthesize")
    job.start(
        Lineage(
            "synthesize",
            {
                "type": type,
                "sources": sources,
                "endpoint": base_url,
                "model": model,
                "recipe": main_recipe.path,
                "recipe_hash": main_recipe.hash,
                "seed": seed,
                "limit": limit,
                "shard": shard,
                "items": items_per_record,
                "vision": vision,
                **_selection(where, quality_filter),
            },
            parents=resolved,
        ),
        counts=lambda: {"items": result.made, "rejected": job.failures.items},
    )
    todo = job.pending(items, _key)
    result.already = len(items) - len(todo)
    cache = RequestCache(store.root / "cache" / "requests.sqlite")

    def client():
        from mmdata.synth.endpoint import Endpoint

        key = os.environ.get(api_key_env)
        return Endpoint(base_url, model, key, cache, concurrency, rpm, tpm, timeout, give_up_after=give_up_after)

    def worker(client):
        from mmdata.synth.worker import Synthesizer

        return Synthesizer(kind, client, main_recipe, translator, store.media.path, vision, ",".join(resolved))

    try:
        asyncio.run(_send(job, todo, client, worker, concurrency, result, progress))
    finally:
        cache.close()
        result.version = job.commit()  # also after a stop: what was made is kept, and the same command resumes
        result.rejected = job.failures.items
        result.rejects_by_reason = job.failures.rules()
    result.message = job.summary(
        f"{into}: {result.made} items -> {result.records} conversations, {result.already} already "
        f"done, {result.rejected} rejected; {result.requests_sent} requests sent, "
        f"{result.requests_cached} from cache"
    )
    if result.stopped:
        raise EndpointDown(result.stopped + f" ({result.made} items made and committed)")
    return result


def _selection(where: str | None, quality_filter: bool) -> dict:
    """The source choice in a version's lineage: only what differs from the default, so the lineage of
    a run without these options reads as before."""
    return {**({"where": where} if where else {}), **({} if quality_filter else {"quality_filter": False})}


def _from_templates(
    kind, sources, into, store, recipe, seed, limit, shard, dry_run, vision, checkpoint, where, quality_filter, progress
) -> SynthResult:
    """``synthesize(..., templates=True)``: the same job (journal, shards, rejects, commits), with
    the template writer as its worker instead of an endpoint."""
    from mmdata.jobs import Job, Made
    from mmdata.store.lake import Store
    from mmdata.store.versions import Lineage
    from mmdata.synth.sources import load_items
    from mmdata.synth.templates import TemplateWriter, load_templates

    if kind.name != "visual-context":
        raise InputError(f"--templates makes visual-context conversations; --type {kind.name} needs a model (--endpoint)")
    if vision:
        raise InputError("--vision sends the picture to a model; --templates uses none: leave one out")
    store = Store.of(store)
    started = time.monotonic()
    job = Job(store, "synth", into, "conversation", shard=shard, checkpoint=checkpoint)
    chosen = load_templates(recipe)
    items, resolved = load_items(store, kind, sources, 1, seed, where=where, quality_filter=quality_filter)
    items = [i for i in items if job.mine(i.id)][:limit]
    result = SynthResult(into, items=len(items))
    writer = TemplateWriter(chosen, ",".join(resolved))
    if dry_run:
        from mmdata.synth.templates import records

        for item in items[:3]:
            chat = (records(chosen, item) or [{"chat": []}])[0]["chat"]
            text = "\n".join(f"{t['role']}: {t['content']}\n{t['role']} (ms): {t['content_ms']}" for t in chat)
            result.prompts.append(
                {
                    "item": item.id,
                    "sources": [s["id"] for s in item.sources],
                    "messages": [{"role": "user", "content": text or "(no template applies)"}],
                    "sampling": {},
                }
            )
        result.message = f"dry run: {len(items)} items of visual-context would be filled from {chosen.path}"
        return result
    job.start(
        Lineage(
            "synthesize",
            {
                "type": kind.name,
                "sources": sources,
                "templates": chosen.path,
                "templates_hash": chosen.hash,
                "seed": seed,
                "limit": limit,
                "shard": shard,
                **_selection(where, quality_filter),
            },
            parents=resolved,
        ),
        counts=lambda: {"items": result.made, "rejected": job.failures.items},
    )
    todo = job.pending(items, _key)
    result.already = len(items) - len(todo)

    def report(_item, outcome) -> None:
        if isinstance(outcome, Made):
            result.made += 1
            result.records += len(outcome.records)
        progress("synthesizing", result.made + job.failures.items, len(todo), note="from templates")

    try:
        job.run(todo, _key, writer, report)
    finally:
        result.version = job.commit()
        result.rejected = job.failures.items
        result.rejects_by_reason = job.failures.rules()
    result.seconds = round(time.monotonic() - started, 3)
    result.message = job.summary(
        f"{into}: {result.made} items -> {result.records} conversations from templates, {result.already} already "
        f"done, {result.rejected} rejected; no model"
    )
    return result


def _preview(kind, recipe, translator, items: list, vision: bool) -> list[dict]:
    """What a dry run shows: the first prompt of each item, as it would be sent."""
    return [
        {
            "item": item.id,
            "sources": [s["id"] for s in item.sources],
            "messages": [{"role": "user", "content": kind.first_prompt(recipe, translator, item, vision)}],
            "sampling": recipe.sampling,
        }
        for item in items
    ]


async def _send(job, todo: list, make_client, make_worker, concurrency: int, result: SynthResult, progress) -> None:
    """Run the job's workers against one endpoint client; its figures go into ``result``, also when it
    stops early (an endpoint that is down ends the run, keeping what was made)."""
    from mmdata.jobs import Made
    from mmdata.synth.endpoint import EndpointDown

    client = make_client()
    started, finished = time.monotonic(), 0

    def report(_item, outcome: Outcome) -> None:
        nonlocal finished
        finished += 1
        if isinstance(outcome, Made):
            result.made += 1
            result.records += len(outcome.records)
        elapsed = max(time.monotonic() - started, 1e-9)
        stats = client.stats
        tokens = stats.prompt_tokens + stats.completion_tokens
        rates = f"{stats.sent / elapsed:.1f} req/s, {tokens / elapsed:.0f} tok/s, {job.failures.items} rejected"
        progress("synthesizing", finished, len(todo), note=rates)

    try:
        await job.run_async(todo, _key, make_worker(client), concurrency, report)
    except EndpointDown as exc:
        result.stopped = str(exc)
    finally:
        await client.close()
        s = client.stats
        result.requests_sent, result.requests_cached, result.retries = s.sent, s.cached, s.retries
        result.tokens = {"prompt": s.prompt_tokens, "completion": s.completion_tokens}
        result.errors = dict(s.errors)
        result.seconds = round(time.monotonic() - started, 3)


def _key(item) -> str:
    return item.id
