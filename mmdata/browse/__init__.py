"""``mmdata browse``: a local web app to look at, listen to and review the data in a store.

Server-rendered pages (Starlette + Jinja2, a little plain JavaScript, no build step) over the
same library functions the CLI uses: ``ls``, ``log``, ``show``, ``diff``, ``stats``, ``query``.
The app only reads, except review flags, and those only when started with ``allow_flags``.
"""

from __future__ import annotations

from mmdata.browse.app import browse, create_app

__all__ = ["browse", "create_app"]
