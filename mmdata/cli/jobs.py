"""The long, resumable jobs: ``crawl``, ``transcribe``, ``synthesize``."""

from __future__ import annotations

from importlib import import_module
from pathlib import Path

import typer

from mmdata.cli.base import (
    AddressOpt,
    CpusPerShardOpt,
    ExecutorOpt,
    GpusPerShardOpt,
    JsonOpt,
    Sharding,
    ShardRetriesOpt,
    ShardsOpt,
    WaitOpt,
    WorkersOpt,
    help_later,
    job_summary,
    print_dataclass,
    run_job,
    sharded_summary,
)


# The --type help comes from the synthesis types' registry: a new type shows up here by itself.
def _type_names() -> str:
    *rest, last = import_module("mmdata.synth.types").TYPES
    return f"{', '.join(rest)} or {last}"


SYNTH_TYPE_LINES = help_later("synth type lines", lambda: import_module("mmdata.synth.types").help_lines())
SYNTH_TYPE_HELP = f"What to make: {help_later('synth types', _type_names)} (see above)."


def crawl(
    urls: list[str] | None = typer.Argument(None, help="Videos, playlists, channels, ytsearchN:query."),
    into: str = typer.Option(..., "--into", help="Dataset of audio records."),
    from_file: Path | None = typer.Option(None, "--from", help="A file of URLs (one a line), or a yt-dlp info JSON."),
    include: list[str] = typer.Option([], "--include", help="Keep titles with any of these words (repeatable)."),
    exclude: list[str] = typer.Option([], "--exclude", help="Drop titles with any of these words (repeatable)."),
    min_duration: float | None = typer.Option(None, "--min-duration", help="Seconds."),
    max_duration: float | None = typer.Option(None, "--max-duration", help="Seconds."),
    limit: int | None = typer.Option(None, "--limit", help="At most this many items (after filters)."),
    sleep: float = typer.Option(0.0, "--sleep", help="Seconds between requests and downloads."),
    rate_limit: str | None = typer.Option(None, "--rate-limit", help="Download speed cap, e.g. 2M."),
    retries: int = typer.Option(3, "--retries"),
    shard: str | None = typer.Option(None, "--shard", help="i/n: only this machine's share of the items."),
    checkpoint: int = typer.Option(25, "--checkpoint", help="Commit a version every N downloads (0: only at the end)."),
    wait: float | None = WaitOpt,
    as_json: bool = JsonOpt,
    executor: str = ExecutorOpt,
    shards: int | None = ShardsOpt,
    workers: int | None = WorkersOpt,
    address: str | None = AddressOpt,
    gpus_per_shard: float = GpusPerShardOpt,
    cpus_per_shard: float = CpusPerShardOpt,
    shard_retries: int = ShardRetriesOpt,
):
    """Download audio with yt-dlp into the store (16 kHz mono Opus + provenance); resumable."""
    from mmdata.crawl import crawl as run
    from mmdata.render import console, progress_bar

    with progress_bar(not as_json) as progress:
        result = run_job(
            run,
            {
                "urls": urls or [],
                "into": into,
                "from_file": from_file,
                "include": include,
                "exclude": exclude,
                "min_duration": min_duration,
                "max_duration": max_duration,
                "limit": limit,
                "sleep": sleep,
                "rate_limit": rate_limit,
                "retries": retries,
                "checkpoint": checkpoint,
                "wait": wait,
            },
            shard=shard,
            progress=progress,
            sharding=Sharding(executor, shards, workers, address, gpus_per_shard, cpus_per_shard, shard_retries),
        )
    if executor != "inline":
        return sharded_summary(result, as_json)
    if as_json:
        return print_dataclass(result)
    job_summary(result, result.failures_by_reason)
    if result.failures_by_reason:
        console.print(
            f"details: mmdata query \"SELECT file, rule, message FROM _rejects WHERE dataset = '{into}'\"", markup=False
        )


def crawl_pages(
    start: list[str] | None = typer.Argument(None, help="Start pages (followed --depth links)."),
    into: str = typer.Option(..., "--into", help="Dataset of image records."),
    sitemaps: list[str] = typer.Option([], "--sitemap", help="A sitemap.xml whose pages are start pages (repeatable)."),
    allowed_domains: list[str] = typer.Option([], "--allow-domain", help="Crawl only these hosts (default: the start URLs')."),
    include: list[str] = typer.Option([], "--include", help="Follow only URLs matching any of these regexes (repeatable)."),
    exclude: list[str] = typer.Option([], "--exclude", help="Never follow URLs matching these regexes (repeatable)."),
    depth: int = typer.Option(2, "--depth", help="Links followed from the start pages (0: only them)."),
    max_pages: int | None = typer.Option(None, "--max-pages", help="At most this many pages per run."),
    min_image_size: int = typer.Option(200, "--min-image-size", help="Pixels on a picture's shorter side, at least."),
    delay: float = typer.Option(1.0, "--delay", help="Seconds between requests to one host."),
    concurrency: int = typer.Option(2, "--concurrency", help="Requests in flight per host at most."),
    contact: str | None = typer.Option(None, "--contact", help="An email or URL for site owners, sent in the user agent."),
    shard: str | None = typer.Option(None, "--shard", help="i/n: only this machine's share of the pages (by URL)."),
    checkpoint: int = typer.Option(25, "--checkpoint", help="Commit a version every N pages (0: only at the end)."),
    wait: float | None = WaitOpt,
    as_json: bool = JsonOpt,
):
    """Crawl web pages for pictures with their structured context (schema.org) with Scrapy; resumable.

    robots.txt is always obeyed; pages marked noai, noimageai or tdm-reservation are skipped."""
    from mmdata.crawl.pages import crawl_pages as run
    from mmdata.render import progress_bar

    with progress_bar(not as_json) as progress:
        result = run_job(
            run,
            {
                "start": start or [],
                "into": into,
                "sitemaps": sitemaps,
                "allowed_domains": allowed_domains,
                "include": include,
                "exclude": exclude,
                "depth": depth,
                "max_pages": max_pages,
                "min_image_size": min_image_size,
                "delay": delay,
                "concurrency_per_host": concurrency,
                "contact": contact,
                "checkpoint": checkpoint,
                "wait": wait,
            },
            shard=shard,
            progress=progress,
            sharding=Sharding(),
        )
    if as_json:
        return print_dataclass(result)
    job_summary(result, result.failures_by_reason)


def transcribe(
    source: str = typer.Argument(..., help="Audio dataset, name[@V]."),
    into: str = typer.Option(..., "--into", help="Dataset of transcript records."),
    model: str = typer.Option("large-v3", "--model", help="faster-whisper model name, or a local CTranslate2 folder."),
    device: str = typer.Option("auto", "--device", help="auto|cpu|cuda"),
    compute_type: str = typer.Option("default", "--compute-type", help="e.g. float16, int8_float16, int8."),
    batch_size: int = typer.Option(8, "--batch-size", help="Chunks per batch in faster-whisper's batched pipeline."),
    beam_size: int = typer.Option(5, "--beam-size"),
    chunking: str = typer.Option("vad", "--chunking", help="vad (cut at silences) or fixed (the reference's 30 s windows)."),
    max_chunk_seconds: float = typer.Option(30.0, "--max-chunk-seconds"),
    languages: str = typer.Option("ms,en", "--languages", help="One pass per language (ms,en), or auto."),
    shard: str | None = typer.Option(None, "--shard", help="i/n: only this machine's share of the audio."),
    checkpoint: int = typer.Option(50, "--checkpoint", help="Commit a version every N audio items (0: only at the end)."),
    wait: float | None = WaitOpt,
    as_json: bool = JsonOpt,
    executor: str = ExecutorOpt,
    shards: int | None = ShardsOpt,
    workers: int | None = WorkersOpt,
    address: str | None = AddressOpt,
    gpus_per_shard: float = GpusPerShardOpt,
    cpus_per_shard: float = CpusPerShardOpt,
    shard_retries: int = ShardRetriesOpt,
):
    """Pseudo-label stored audio with faster-whisper: chunks, texts per language, quality signals."""
    from mmdata.render import progress_bar
    from mmdata.transcribe import transcribe as run

    with progress_bar(not as_json) as progress:
        result = run_job(
            run,
            {
                "source": source,
                "into": into,
                "model": model,
                "device": device,
                "compute_type": compute_type,
                "batch_size": batch_size,
                "beam_size": beam_size,
                "chunking": chunking,
                "max_chunk_seconds": max_chunk_seconds,
                "languages": languages,
                "checkpoint": checkpoint,
                "wait": wait,
            },
            shard=shard,
            progress=progress,
            sharding=Sharding(executor, shards, workers, address, gpus_per_shard, cpus_per_shard, shard_retries),
        )
    if executor != "inline":
        return sharded_summary(result, as_json)
    if as_json:
        return print_dataclass(result)
    job_summary(result, result.failures_by_reason)


def synthesize(
    type: str = typer.Option(..., "--type", help=SYNTH_TYPE_HELP),
    sources: list[str] = typer.Option(..., "--from", help="Source dataset NAME[@V] (repeatable)."),
    into: str = typer.Option(..., "--into", help="Dataset of conversations to write."),
    endpoint: str | None = typer.Option(None, "--endpoint", envvar="OPENAI_BASE_URL", help="OpenAI-compatible base URL."),
    model: str = typer.Option("default", "--model", help="Model name the endpoint serves."),
    api_key_env: str = typer.Option("OPENAI_API_KEY", "--api-key-env", help="Environment variable holding the key."),
    concurrency: int = typer.Option(32, "--concurrency", help="Requests in flight at most."),
    rpm: int | None = typer.Option(None, "--rpm", help="Requests per minute at most."),
    tpm: int | None = typer.Option(None, "--tpm", help="Tokens per minute at most."),
    limit: int | None = typer.Option(None, "--limit", help="At most this many items."),
    seed: int = typer.Option(0, "--seed"),
    recipe: str | None = typer.Option(None, "--recipe", help="A recipe YAML instead of the shipped one."),
    shard: str | None = typer.Option(None, "--shard", help="i/n: only this machine's share of the items."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Render the first prompts; send nothing."),
    items: int = typer.Option(2, "--items", help="Items related per record (multi-image, multi-audio, image-audio)."),
    vision: bool = typer.Option(False, "--vision", help="visual-context: send the image itself (vision endpoint)."),
    checkpoint: int = typer.Option(200, "--checkpoint", help="Commit a version every N items (0: only at the end)."),
    timeout: float = typer.Option(120.0, "--timeout", help="Seconds per request."),
    give_up_after: float = typer.Option(300.0, "--give-up-after", help="Stop when nothing succeeds for this long."),
    where: str | None = typer.Option(
        None, "--where", help="Only source records matching this SQL condition (read-only, as a mix source's where)."
    ),
    no_quality_filter: bool = typer.Option(
        False, "--no-quality-filter", help="Keep transcripts that fail the default quality filter."
    ),
    templates: bool = typer.Option(
        False, "--templates", help="visual-context: fill the shipped bilingual templates; no model, no endpoint."
    ),
    as_json: bool = JsonOpt,
    executor: str = ExecutorOpt,
    shards: int | None = ShardsOpt,
    workers: int | None = WorkersOpt,
    address: str | None = AddressOpt,
    gpus_per_shard: float = GpusPerShardOpt,
    cpus_per_shard: float = CpusPerShardOpt,
    shard_retries: int = ShardRetriesOpt,
):
    from mmdata.errors import InputError
    from mmdata.render import console, progress_bar
    from mmdata.synth import synthesize as run

    if dry_run and executor != "inline":
        raise InputError("--dry-run shows the first prompts from this process: leave out --executor")
    with progress_bar(not as_json and not dry_run) as progress:
        result = run_job(
            run,
            {
                "type": type,
                "sources": sources,
                "into": into,
                "endpoint": endpoint,
                "model": model,
                "api_key_env": api_key_env,
                "concurrency": concurrency,
                "rpm": rpm,
                "tpm": tpm,
                "limit": limit,
                "seed": seed,
                "recipe": recipe,
                "dry_run": dry_run,
                "items_per_record": items,
                "vision": vision,
                "checkpoint": checkpoint,
                "timeout": timeout,
                "give_up_after": give_up_after,
                "where": where,
                "quality_filter": not no_quality_filter,
                "templates": templates,
            },
            shard=shard,
            progress=progress,
            sharding=Sharding(executor, shards, workers, address, gpus_per_shard, cpus_per_shard, shard_retries),
        )
    if executor != "inline":
        return sharded_summary(result, as_json)
    if as_json:
        return print_dataclass(result)
    for prompt in result.prompts:
        console.rule(f"item {prompt['item']}  sampling {prompt['sampling']}")
        console.print(prompt["messages"][0]["content"], markup=False, highlight=False)
    job_summary(result, result.rejects_by_reason, "rejected")


# Built rather than written so the --type lines have one source (Typer shows the docstring as the help).
synthesize.__doc__ = f"""Generate bilingual conversations against any OpenAI-compatible endpoint; resumable, cached.

--type is one of:
{SYNTH_TYPE_LINES}

--templates (visual-context): conversations from the shipped bilingual templates, no endpoint.
--where SQL and --no-quality-filter choose the source records.
"""
