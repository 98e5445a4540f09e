"""Every page of the app, one module each. A new page is a module here with a ``ROUTES`` list,
named in ``PAGES``; ``routes()`` gathers them (imported when the app is made, not at --help)."""

from __future__ import annotations

from importlib import import_module

PAGES = ["datasets", "flags", "records", "media", "history", "diff", "rejects", "stats", "sql"]


def routes() -> list:
    """The routes of every page module, in ``PAGES`` order."""
    return [route for name in PAGES for route in import_module(f"mmdata.browse.pages.{name}").ROUTES]
