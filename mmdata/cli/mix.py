"""``mix``, and the tables of a mixture's plan and report (``stats`` of a mixture shows them too)."""

from __future__ import annotations

from pathlib import Path

import typer

from mmdata.cli.base import JsonOpt, WaitOpt, store
from mmdata.cli.data import EXPORT_FORMAT_HELP


def mix(
    spec: Path = typer.Option(..., "--spec", help="The mixture spec (YAML)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the plan (rows per source and language); write nothing."),
    export_dir: Path | None = typer.Option(None, "--export", help="Also export the mixture to this new folder."),
    export_format: str = typer.Option("mmtrain", "--format", help=f"Export format with --export: {EXPORT_FORMAT_HELP}."),
    plot: Path | None = typer.Option(None, "--plot", help="Write PNG charts of the report into this folder."),
    workers: int | None = typer.Option(
        None, "--workers", min=0, help="Processes for near-dedupe's signatures (default: by size and cores; 0: none)."
    ),
    wait: float | None = WaitOpt,
    as_json: bool = JsonOpt,
):
    """Build a training mixture from a YAML spec: a versioned dataset and a report of what it holds."""
    from mmdata.mix import mix as run
    from mmdata.render import console, print_json, progress_bar

    with progress_bar(not as_json) as progress:
        result = run(spec, store=store(), dry_run=dry_run, wait=wait, plot_dir=plot, progress=progress, workers=workers)
        exported = None
        if export_dir is not None and not dry_run:
            from mmdata import export

            # the version just written (or unchanged)
            exported = export(result.dataset, format=export_format, out=export_dir, store=store(), progress=progress)
    if as_json:
        from dataclasses import asdict

        return print_json({**asdict(result), "export": exported})
    if result.report:
        mixture_tables(result.report)
    else:
        plan_table(result.plan, with_tokens=dry_run)
    console.print(result.message, markup=False)
    for path in result.plots:
        console.print(f"chart: {path}", markup=False)
    if exported:
        console.print(f"exported {exported['records']} records -> {exported['out']} ({export_format})", markup=False)


def plan_table(plan: list[dict], with_tokens: bool = False) -> None:
    """The plan, narrow enough for 80 columns (``--json`` has every field)."""
    from mmdata.render import table

    def language(policy) -> str:
        return policy if isinstance(policy, str) else " / ".join(f"{k} {v:g}" for k, v in policy["mix"].items())

    rows = []
    for p in plan:
        removed = {"where": p["loaded"] - p["matched"], **p["removed"]} if p["loaded"] > p["matched"] else p["removed"]
        rows.append(
            {
                "source": p["source"],
                "amount": f"{p['mode']} {p['amount']:g}",
                "language": language(p["language"]),
                "available": p["available"],
                "planned": p["planned"],
                "removed": ", ".join(f"{k} {v}" for k, v in removed.items()) or "-",
                "en": p.get("rows_en"),
                "ms": p.get("rows_ms"),
                "tokens": p.get("tokens"),
            }
        )
    table(
        "plan (records per source; rows per language)",
        rows,
        ["source", "amount", "language", "available", "planned", "removed", "en", "ms"] + (["tokens"] if with_tokens else []),
    )


def mixture_tables(report: dict) -> None:
    """A mixture's report as tables: its plan, then what the written rows hold against it."""
    from mmdata.render import table

    if report.get("plan"):
        plan_table(report["plan"])
    table("achieved share by source (from the written rows)", report["by_source"])
    for name in ("by_kind", "by_language", "by_split"):
        table(name.replace("_", " "), report[name])
    table("per record", [report["shape"]])
