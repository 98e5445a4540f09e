"""Data in and out of the store: ``import`` and ``export``."""

from __future__ import annotations

from importlib import import_module
from pathlib import Path

import typer

from mmdata.cli.base import JsonOpt, WaitOpt, help_later, store

# The --format help of both commands comes from the registries: a new format or exporter shows up in the help by itself.
IMPORT_FORMAT_HELP = help_later("import formats", lambda: import_module("mmdata.formats.registry").help_text())
EXPORT_FORMAT_HELP = help_later("export formats", lambda: import_module("mmdata.exporters.registry").help_text())


def import_(
    source: Path = typer.Argument(..., help="File or folder to import."),
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
):
    """Import a dataset into the store as a new version (name@N)."""
    from rich.markup import escape

    from mmdata import import_ as run
    from mmdata.render import console, print_json, problems, progress_bar

    with progress_bar(not as_json) as progress:
        result = run(
            source,
            into=into,
            store=store(),
            format=format,
            media_root=media_root,
            replace=replace,
            wait=wait,
            progress=progress,
            allow_empty=allow_empty,
        )
    counts = {"imported": result.imported, "rejected": result.rejected, "skipped": result.skipped}
    if as_json:
        return print_json(
            {
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
        )
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
