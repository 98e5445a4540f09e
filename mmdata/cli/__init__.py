"""The ``mmdata`` command line: a thin Typer layer over the library, one wrapper per command.

Only this package (and ``mmtrain.cli``, built on ``mmdata.cli.base``) turns library errors into a
red one-line message and an exit code. Heavy modules are imported inside the commands so
``mmdata --help`` stays fast. This package never imports ``mmtrain``.
"""

from __future__ import annotations

from pathlib import Path

import typer

from mmdata.cli import data, demo, inspect, jobs, mix, web
from mmdata.cli import store as store_commands
from mmdata.cli.base import HelpLater, new_app, set_store, store_option

app = new_app("Versioned bilingual (English/Malay) multimodal instruction data.")


def _print_version(wanted: bool) -> None:
    if wanted:
        from mmdata import __version__

        print(__version__)
        raise typer.Exit()


@app.callback()
def _root(
    store: Path | None = store_option(),
    # Eager: handled while parsing, so `mmdata --version` needs no command after it.
    version: bool = typer.Option(False, "--version", is_eager=True, callback=_print_version, help="Print the version and exit."),
):
    from mmdata.paths import folder_to_write
    from mmdata.store.lake import resolve_root

    folder_to_write(resolve_root(store), "--store")  # a file there fails late, after the work, otherwise
    set_store(store)


# In the order `mmdata --help` lists them: the data's path through the tool, then the looking, then out.
for _name, _command in [
    ("import", data.import_),
    ("crawl", jobs.crawl),
    ("crawl-pages", jobs.crawl_pages),
    ("transcribe", jobs.transcribe),
    ("synthesize", jobs.synthesize),
    ("mix", mix.mix),
    ("validate", inspect.validate),
    ("query", inspect.query),
    ("ls", inspect.ls),
    ("log", inspect.log),
    ("show", inspect.show),
    ("diff", inspect.diff),
    ("tag", inspect.tag),
    ("stats", inspect.stats),
    ("export", data.export),
    ("browse", web.browse),
    ("copy", data.copy),
    ("demo", demo.demo),
]:
    app.command(_name, cls=HelpLater)(_command)
app.add_typer(store_commands.app, name="store")


def main() -> None:
    app()
