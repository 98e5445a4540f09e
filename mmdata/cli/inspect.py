"""Looking at the store: ``validate``, ``query``, ``ls``, ``log``, ``show``, ``diff``, ``tag``, ``stats``."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from mmdata.cli.base import JsonOpt, WaitOpt, store
from mmdata.cli.mix import mixture_tables


def validate(
    target: str = typer.Argument(..., help="name, name@N, name@tag, or a file/folder to check before importing."),
    format: str | None = typer.Option(None, "--format", help="Input format when TARGET is a file."),
    media_root: Path | None = typer.Option(None, "--media-root"),
    as_json: bool = JsonOpt,
):
    """Check every record against the schemas, rules and media. Exit 0 only when clean."""
    from mmdata import validate as run
    from mmdata.render import console, print_json, problems, progress_bar, table

    with progress_bar(not as_json) as progress:
        report = run(target, store=store(), format=format, media_root=media_root, progress=progress)
    if as_json:
        print_json(
            {
                "target": report.target,
                "checked": report.checked,
                "invalid": report.invalid,
                "by_rule": report.by_rule,
                "samples": report.samples,
            }
        )
    else:
        verdict = "[green]clean[/green]" if report.ok else f"[red]{report.invalid} invalid[/red]"
        console.print(f"{report.target}: {report.checked} {report.record_kind} records checked, {verdict}")
        if report.by_rule:
            table("violations by rule", [{"rule": k, "count": v} for k, v in sorted(report.by_rule.items())])
            problems(report.samples, sum(report.by_rule.values()))
    raise typer.Exit(0 if report.ok else 1)


def query(
    sql: str = typer.Argument(..., help='One SELECT; datasets by name, versions as "name@N".'),
    format: str = typer.Option("table", "--format", help="table|json|csv"),
    out: Path | None = typer.Option(None, "--out", help="Stream the result to a .parquet, .csv or .jsonl file."),
    limit: int = typer.Option(50, "--limit", help="Rows shown by --format table."),
):
    """Run read-only SQL (DuckDB) over the store."""
    from mmdata import query as run
    from mmdata.options import at_least
    from mmdata.render import console, table

    at_least(0, limit=limit)  # only this command shows rows, so only it checks (before the query runs)
    if format not in ("table", "json", "csv"):
        raise typer.BadParameter("--format must be table, json or csv")
    result = run(sql, store=store(), out=out)
    if out is not None:
        return console.print(f"{result.rows} rows -> {result.path}", markup=False)
    if format == "json":
        from mmdata.render import print_json

        return print_json(result.table.to_pylist())
    if format == "csv":
        import pyarrow.csv as pacsv

        return pacsv.write_csv(result.table, sys.stdout.buffer)
    table(None, result.table.slice(0, limit).to_pylist(), result.columns)
    if result.rows > limit:
        console.print(f"[dim]{result.rows} rows, {limit} shown (--limit, or --out FILE for all)[/dim]")


def ls(as_json: bool = JsonOpt):
    """List datasets with their newest version."""
    from mmdata import ls as run
    from mmdata.render import console, print_json, table

    rows = run(store=store())
    if as_json:
        return print_json(rows)
    if not rows:
        return console.print("no datasets yet: mmdata import FILE --into NAME")
    table("datasets", rows)


def log(name: str = typer.Argument(..., help="Dataset name."), as_json: bool = JsonOpt):
    """Every version of a dataset, with its lineage."""
    from mmdata import log as run
    from mmdata.render import print_json, table

    rows = run(name, store=store())
    if as_json:
        return print_json(rows)
    table(
        f"{name}: versions",
        [{**r, "version": f"@{r['version']}"} for r in rows],
        ["version", "created_at", "command", "counts", "parents", "tags", "arguments"],
    )


def show(
    ref: str = typer.Argument(..., help="name, name@N or name@tag."),
    limit: int = typer.Option(3, "--limit"),
    as_json: bool = JsonOpt,
):
    """One version: lineage, columns, sample records, rejects."""
    from mmdata import show as run
    from mmdata.render import console, key_values, print_json, table

    info = run(ref, store=store(), limit=limit)
    if as_json:
        return print_json(info)
    key_values(info["version"], {k: v for k, v in info.items() if k not in ("sample", "reject_samples", "columns")})
    for record in info["sample"]:
        console.print_json(data=record)
    if info["reject_samples"]:
        table("rejected records", info["reject_samples"])


def diff(
    a: str = typer.Argument(..., help="Older version, name@N."),
    b: str = typer.Argument(..., help="Newer version."),
    limit: int = typer.Option(3, "--limit"),
    as_json: bool = JsonOpt,
):
    """Records added, removed and changed between two versions."""
    from mmdata import diff as run
    from mmdata.render import console, print_json, table

    result = run(a, b=b, store=store(), limit=limit)
    if as_json:
        return print_json(result)
    table(f"{result['a']} -> {result['b']}", [result["counts"]])
    for what, records in result["samples"].items():
        for record in records:
            console.print(f"[bold]{what}[/bold]")
            console.print_json(data=record)


def tag(
    ref: str = typer.Argument(..., help="name@N"),
    name: str = typer.Argument(..., help="Tag, e.g. stable."),
    wait: float | None = WaitOpt,
):
    """Point a tag at a version: name@TAG then means name@N."""
    from mmdata import tag as run
    from mmdata.render import console

    result = run(ref, name=name, store=store(), wait=wait)
    console.print(f"{result['dataset']}@{result['tag']} -> {result['dataset']}@{result['version']}")


def stats(ref: str = typer.Argument(..., help="name, name@N or name@tag."), as_json: bool = JsonOpt):
    """Turns, lengths, media per record, Malay fill and kinds of a version."""
    from mmdata import stats as run
    from mmdata.render import key_values, print_json

    result = run(ref, store=store())
    if as_json:
        return print_json(result)
    mixture = result.pop("mixture", None)
    key_values(result.pop("version"), result)
    if mixture:
        mixture_tables(mixture)
