"""Setting up and checking a store: ``store init`` and ``store info``."""

from __future__ import annotations

from pathlib import Path

import typer

from mmdata.cli import base
from mmdata.cli.base import JsonOpt, WaitOpt

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="Make a team store (PostgreSQL catalog + object storage) and check where a store's parts are.",
)


@app.command("init")
def init(
    folder: Path | None = typer.Argument(
        None, help="Folder for the store's descriptor, store.yaml (default: --store / $MMDATA_HOME)."
    ),
    catalog: str = typer.Option(
        ..., "--catalog", help="postgres:<libpq conninfo>, e.g. postgres:dbname=lake host=db.example.com (no password)."
    ),
    data: str = typer.Option(..., "--data", help="Where data and media go: s3://bucket/prefix/ or an absolute shared folder."),
    wait: float | None = WaitOpt,
    as_json: bool = JsonOpt,
):
    """Create a team store, or check the one this folder names (same addresses: nothing changes)."""
    from mmdata.render import console, print_json
    from mmdata.stores import init_store

    # The root option's folder, as given: Store() would read a descriptor that may be the one being replaced.
    made = init_store(folder or base._State.store, catalog=catalog, data=data, wait=wait)
    summary = {
        "root": str(made.root),
        "descriptor": str(made.address.descriptor),
        "catalog": made.where(),
        "data": made.address.location,
    }
    if as_json:
        return print_json(summary)
    console.print(f"team store at {summary['root']}: catalog {summary['catalog']}, data {summary['data']}", markup=False)
    console.print(f"point --store or MMDATA_HOME at {summary['root']} (or a copy of {summary['descriptor']})", markup=False)


@app.command("info")
def info(as_json: bool = JsonOpt):
    """Where each part of the store is and whether this machine reaches it; exit 1 when one is not reached."""
    from dataclasses import asdict

    from mmdata.errors import MmdataError
    from mmdata.render import console, print_json, table
    from mmdata.stores import store_info

    found = store_info(base.store())
    if as_json:
        print_json({**asdict(found), "ok": found.ok})
    else:
        console.print(f"{found.kind} store at {found.root}", markup=False)
        table(None, [{**asdict(c), "ok": "yes" if c.ok else "NO"} for c in found.checks], ["part", "where", "ok", "detail"])
    failed = [c for c in found.checks if not c.ok]
    if failed:
        raise MmdataError("store check failed: " + "; ".join(f"{c.part}: {c.detail}" for c in failed))
