"""``synthesize``: bilingual dialogues from store records, against any OpenAI-compatible endpoint."""

from __future__ import annotations

import asyncio
import json
import os
import time
from dataclasses import dataclass, field

from mmdata.errors import InputError
from mmdata.options import at_least, more_than
from mmdata.progress import ProgressCallback, silent
from mmdata.shard import in_shard, parse_shard
from mmdata.store.journal import JobJournal
from mmdata.store.lake import Store
from mmdata.store.versions import Lineage, check_name

TYPES = ("audio-instructions", "visual-context", "multi-image", "multi-audio", "image-audio", "translate")


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
    progress: ProgressCallback = silent,
) -> SynthResult:
    """Generate conversations of ``type`` from ``sources`` into dataset ``into``.

    Requests run concurrently (at most ``concurrency`` in flight, optional RPM/TPM limits); every
    answer is cached in the store, and the run journal ``runs/synth-<into>[-shard-i-of-n]/``
    records finished items, so a re-run sends nothing twice and a killed run resumes. Items that
    fail after retries go to the rejects with the reason and the raw answer. A version is
    committed every ``checkpoint`` items and at the end.

    >>> synthesize("multi-image", ["captions"], into="mi", endpoint="http://gpu:8000/v1",
    ...            model="mistralai/Mistral-7B-Instruct-v0.2", concurrency=128)
    """
    from mmdata.synth.endpoint import Endpoint, RequestCache
    from mmdata.synth.kinds import BUILDERS, Context
    from mmdata.synth.recipes import load_recipe
    from mmdata.synth.sources import load_items

    if type not in TYPES:
        raise InputError(f"--type must be one of {', '.join(TYPES)}, not {type!r}")
    # concurrency 0 started no worker and sent nothing; a negative limit silently dropped items
    at_least(1, concurrency=concurrency, rpm=rpm, tpm=tpm)
    at_least(0, limit=limit, checkpoint=checkpoint)
    at_least(2, items=items_per_record)
    more_than(0, timeout=timeout, give_up_after=give_up_after)
    store = Store.of(store)
    check_name(into)
    shard_spec = parse_shard(shard)
    main_recipe = load_recipe(type, recipe)
    translator = main_recipe if type == "translate" else load_recipe("translate")
    items, resolved = load_items(store, type, sources, items_per_record, seed)
    items = [i for i in items if in_shard(i.id, shard_spec)][:limit]
    result = SynthResult(into, items=len(items))
    if dry_run:
        result.prompts = [_first_prompt(type, main_recipe, translator, item, vision) for item in items[:3]]
        target = endpoint or os.environ.get("OPENAI_BASE_URL") or "the endpoint given with --endpoint"
        result.message = f"dry run: {len(items)} items of {type} would be sent to {target}"
        return result
    base_url = endpoint or os.environ.get("OPENAI_BASE_URL")
    if not base_url:
        raise InputError("no endpoint: pass --endpoint URL or set OPENAI_BASE_URL")
    journal = JobJournal.for_job(store.runs, "synth", into, shard_spec)
    done = set(journal.lines("done.txt"))
    todo = [i for i in items if i.id not in done]
    result.already = len(items) - len(todo)
    lineage = Lineage("synthesize", {"type": type, "sources": sources, "endpoint": base_url, "model": model,
                                     "recipe": main_recipe.path, "recipe_hash": main_recipe.hash, "seed": seed,
                                     "limit": limit, "shard": shard, "items": items_per_record, "vision": vision},
                      parents=resolved)
    cache = RequestCache(store.root / "cache" / "requests.sqlite")

    def commit() -> None:
        committed = journal.commit(store, into, "conversation", lineage, {"items": result.made, "rejected": result.rejected})
        result.version = committed.version or result.version

    async def run() -> None:
        from mmdata.schemas.check import RecordChecker
        from mmdata.synth.endpoint import EndpointDown, ItemFailed

        client = Endpoint(base_url, model, os.environ.get(api_key_env), cache, concurrency, rpm, tpm, timeout,
                          give_up_after=give_up_after)
        checker = RecordChecker("conversation")
        queue: asyncio.Queue = asyncio.Queue()
        for item in todo:
            queue.put_nowait(item)
        started, finished = time.monotonic(), 0

        def reject(item, reason: str, message: str, raw: str | None) -> None:
            result.rejected += 1
            journal.fail(",".join(resolved), reason, message, {"item": item.id, "sources": [s["id"] for s in item.sources],
                                                               "raw_answer": raw}, line=item.index)

        async def worker() -> None:
            nonlocal finished
            while not queue.empty():
                item = queue.get_nowait()
                ctx = Context(client, main_recipe, translator, item, media_path=store.media.path, vision=vision)
                try:
                    records = await BUILDERS[type](ctx)
                    problems = [v for r in records for v in checker.check(_with_generation(r, ctx.generation()))]
                    if problems:
                        reject(item, problems[0].rule, str(problems[0]), json.dumps(records, ensure_ascii=False)[:4000])
                    else:
                        for record in records:
                            journal.append("records.jsonl", record)
                        result.made += 1
                        result.records += len(records)
                except ItemFailed as exc:
                    reject(item, exc.reason, str(exc), exc.raw)
                journal.append("done.txt", item.id)
                finished += 1
                elapsed = max(time.monotonic() - started, 1e-9)
                stats = client.stats
                progress("synthesizing", finished, len(todo),
                         note=f"{stats.sent / elapsed:.1f} req/s, {(stats.prompt_tokens + stats.completion_tokens) / elapsed:.0f} tok/s, "
                              f"{result.rejected} rejected")
                if checkpoint and finished % checkpoint == 0:
                    await asyncio.to_thread(commit)

        try:
            workers = [asyncio.create_task(worker()) for _ in range(min(concurrency, max(len(todo), 1)))]
            await asyncio.gather(*workers)
        except EndpointDown as exc:
            for task in workers:
                task.cancel()
            result.stopped = str(exc)
        finally:
            await client.close()
            s = client.stats
            result.requests_sent, result.requests_cached, result.retries = s.sent, s.cached, s.retries
            result.tokens = {"prompt": s.prompt_tokens, "completion": s.completion_tokens}
            result.errors = dict(s.errors)
            result.seconds = round(time.monotonic() - started, 3)

    try:
        asyncio.run(run())
    finally:
        cache.close()
        commit()
        result.rejects_by_reason = journal.failures
    result.message = (f"{into}: {result.made} items -> {result.records} conversations, {result.already} already done, "
                      f"{result.rejected} rejected; {result.requests_sent} requests sent, {result.requests_cached} from cache"
                      + (f" -> {into}@{result.version}" if result.version else ""))
    if result.stopped:
        from mmdata.synth.endpoint import EndpointDown

        raise EndpointDown(result.stopped + f" ({result.made} items made and committed)")
    return result


def _with_generation(record: dict, generation: dict) -> dict:
    previous = record.get("generation")
    record["generation"] = {**generation, **({"previous": previous} if previous else {})}
    return record


def _first_prompt(kind: str, recipe, translator, item, vision: bool) -> dict:
    """The first message an item would send (for --dry-run), rendered from its sources."""
    source = item.sources[0]
    if kind == "audio-instructions":
        text = recipe.render("questions", context=source["context"])
    elif kind == "visual-context":
        text = recipe.render("dialogue", turns=recipe.data.get("turns", [2])[0], title=source.get("title"),
                             caption=source.get("caption"), description=source.get("description"),
                             attributes=source.get("attributes") or {})
        text += "\n[+ the image as an image_url part]" if vision else ""
    elif kind == "translate":
        text = translator.render("to_ms", text=source["chat"][0]["content"])
    else:
        labels, counters = [], {"image": 0, "audio": 0}
        for s in item.sources:
            counters[s["media"]] += 1
            labels.append({"label": f"{'Picture' if s['media'] == 'image' else 'Audio'} {counters[s['media']]}", "text": s["context"]})
        text = recipe.render("answer", items=labels, question="(a question drawn from the recipe's instruction pool)")
    return {"item": item.id, "sources": [s["id"] for s in item.sources], "messages": [{"role": "user", "content": text}],
            "sampling": recipe.sampling}
