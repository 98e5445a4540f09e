"""``mmdata browse``: the web app over the store."""

from __future__ import annotations

import typer

from mmdata.cli.base import store


def browse(
    target: str | None = typer.Argument(None, help="Open at this dataset, NAME[@V]."),
    port: int = typer.Option(8765, "--port"),
    host: str = typer.Option("127.0.0.1", "--host", help="Another address than loopback needs --token."),
    token: str | None = typer.Option(None, "--token", envvar="MMDATA_BROWSE_TOKEN", help="Every request must carry it."),
    allow_flags: bool = typer.Option(False, "--allow-flags", help="Let reviewers flag records (the only write)."),
    open_browser: bool = typer.Option(False, "--open", help="Open the page in the default browser."),
):
    """Look at and listen to the data in a local web page: datasets, records with their media, history, diffs, SQL."""
    from mmdata.browse.app import browse as serve
    from mmdata.browse.app import check_binding, token_from_env, url
    from mmdata.render import console

    token = token_from_env(token)
    check_binding(host, token)
    address = url(host, port, f"/d/{target}" if target else "/", token)
    console.print(f"mmdata browse: {address}  (Ctrl-C stops)", markup=False, highlight=False)
    if open_browser:
        import webbrowser

        webbrowser.open(address)
    serve(store(), host=host, port=port, token=token, allow_flags=allow_flags)
