"""The front page: every dataset with its kind, newest version, rows, tags and last change."""

from __future__ import annotations

from starlette.routing import Route

from mmdata.browse.view import page
from mmdata.inspect import ls


async def datasets(request):
    search = request.query_params.get("q", "").strip().lower()
    rows = [row for row in ls(request.app.state.store) if search in row["dataset"].lower()]
    return page(request, "datasets.html", datasets=rows, search=search)


ROUTES = [Route("/", datasets, name="datasets")]
