"""Data in and out of the store: ``import``, ``export`` and ``copy`` (between stores)."""

from __future__ import annotations

from importlib import import_module
from pathlib import Path

import typer

from mmdata.cli.base import (
    AddressOpt,
    CpusPerShardOpt,
    ExecutorOpt,
    JsonOpt,
    Sharding,
    ShardRetriesOpt,
    ShardsOpt,
    WaitOpt,
    WorkersOpt,
    help_later,
    inline_only,
    run_job,
    sharded_summary,
    store,
)

# The --format help of both commands comes from the registries: a new format or exporter shows up in the help by itself.
IMPORT_FORMAT_HELP = help_later("import formats", lambda: import_module("mmdata.formats.registry").help_text())
EXPORT_FORMAT_HELP = help_later("export formats", lambda: import_module("mmdata.exporters.registry").help_text())


def import_(
    sources: list[Path] = typer.Argument(
        ..., help="File or folder to import; several are imported one after another (or one shard each with --executor)."
    ),
    into: str = typer.Option(..., "--into", help="Dataset name."),
    format: str | None = typer.Option(None, "--format", help=IMPORT_FORMAT_HELP),
    media_root: Path | None = typer.Option(
        None, "--media-root", help="Where relative media paths start (default: beside the input)."
    ),
    replace: bool = typer.Option(False, "--replace", help="Make the new version exactly the input (remove records it lacks)."),
    allow_empty: bool = typer.Option(
        False, "--allow-empty", help="With --replace: allow emptying the dataset when no record is valid."
    ),
    wait: float | None = WaitOpt,
    as_json: bool = JsonOpt,
    executor: str = ExecutorOpt,
    shards: int | None = ShardsOpt,
    workers: int | None = WorkersOpt,
    address: str | None = AddressOpt,
    cpus_per_shard: float = CpusPerShardOpt,
    shard_retries: int = ShardRetriesOpt,
):
    """Import a dataset into the store as a new version (name@N)."""
    from mmdata.errors import InputError
    from mmdata.render import print_json, progress_bar

    if replace and len(sources) > 1:
        raise InputError(
            f"--replace makes the dataset exactly one input, and {len(sources)} were given: import them without --replace"
        )
    options = {"format": format, "media_root": media_root, "allow_empty": allow_empty, "wait": wait}
    if executor == "inline":
        inline_only(shards=shards, workers=workers, address=address)
        listed = [] if as_json and len(sources) > 1 else None  # several with --json: a list of the single answers
        for source in sources:  # one after another, each reported as a single import is
            _import_one(source, into, replace, options, as_json, listed)
        if listed is not None:
            print_json(listed)
        return
    from mmdata.importing import import_each

    with progress_bar(not as_json) as progress:
        result = run_job(
            import_each,
            {"sources": sources, "into": into, **options},
            shard=None,
            progress=progress,
            sharding=Sharding(executor, shards, workers, address, cpus_per_shard=cpus_per_shard, shard_retries=shard_retries),
            default_shards=len(sources),  # one shard per file
        )
    sharded_summary(result, as_json)


def _import_one(source: Path, into: str, replace: bool, options: dict, as_json: bool, listed: list | None) -> None:
    from rich.markup import escape

    from mmdata import import_ as run
    from mmdata.render import console, print_json, problems, progress_bar

    with progress_bar(not as_json) as progress:
        result = run(
            source,
            into=into,
            store=store(),
            format=options["format"],
            media_root=options["media_root"],
            replace=replace,
            wait=options["wait"],
            progress=progress,
            allow_empty=options["allow_empty"],
        )
    counts = {"imported": result.imported, "rejected": result.rejected, "skipped": result.skipped}
    if as_json:
        summary = {
            "dataset": into,
            "version": result.version,
            "format": result.format,
            **counts,
            "added": result.added,
            "changed": result.changed,
            "removed": result.removed,
            "rejects_by_rule": result.rejects_by_rule,
            "reject_samples": result.reject_samples,
            "message": result.message,
        }
        return listed.append(summary) if listed is not None else print_json(summary)
    console.print(f"[bold]{escape(result.message)}[/bold]  [dim](format {result.format}, {result.record_kind} records)[/dim]")
    problems(result.reject_samples, sum(result.rejects_by_rule.values()))


def export(
    ref: str = typer.Argument(..., help="name, name@N or name@tag."),
    format: str = typer.Option(..., "--format", help=EXPORT_FORMAT_HELP),
    out: Path = typer.Option(..., "--out", help="New folder to write."),
    language: str = typer.Option("en", "--language", help="en or ms (llava/sharegpt: which side of the chat)."),
    as_json: bool = JsonOpt,
):
    """Export a version for training."""
    from mmdata import export as run
    from mmdata.render import console, print_json, progress_bar

    with progress_bar(not as_json) as progress:
        result = run(ref, format=format, out=out, store=store(), language=language, progress=progress)
    if as_json:
        return print_json(result)
    reasons = result.get("skipped_reasons") or ({"left out": result["skipped"]} if result["skipped"] else {})
    skipped = "; left out: " + ", ".join(f"{why} {n}" for why, n in sorted(reasons.items())) if reasons else ""
    console.print(f"{result['version']}: {result['records']} records -> {result['out']} ({format}){skipped}", markup=False)


def copy(
    ref: str = typer.Argument(..., help="name, name@N or name@tag in this store (--store)."),
    to: Path = typer.Option(..., "--to", help="The store to copy into: a folder, local or team (store.yaml)."),
    into: str | None = typer.Option(None, "--as", help="Dataset name there (default: the same name)."),
    tags: bool = typer.Option(False, "--tags", help="Also point the version's tags at the copy."),
    wait: float | None = WaitOpt,
    as_json: bool = JsonOpt,
):
    """Copy one version, with its media and lineage, into another store (run again: resumes, or does nothing)."""
    from mmdata import copy as run
    from mmdata.cli.base import print_dataclass
    from mmdata.render import console, progress_bar

    with progress_bar(not as_json) as progress:
        result = run(ref, to, store(), into=into, tags=tags, wait=wait, progress=progress)
    if as_json:
        return print_dataclass(result)
    console.print(result.message, markup=False)
