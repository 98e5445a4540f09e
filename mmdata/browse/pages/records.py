"""A version's records as conversations, page by page, with a SQL filter and a text search; and one
record on its own page, the link to share."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.routing import Route

from mmdata.browse.record_view import view
from mmdata.browse.records import PAGE_SIZE, list_records, one_record, page_size
from mmdata.browse.view import page
from mmdata.errors import QueryError


def _views(listing) -> list[dict]:
    return [view(listing.version, row, listing.media) for row in listing.rows]


def _flags(request, listing) -> dict:
    """The page's review flags in one query (the flags partial asks per record otherwise)."""
    from mmdata import review

    return review.flags_for(request.app.state.store, listing.version.dataset, [row["key"] for row in listing.rows])


def records(request):
    ref = request.path_params["ref"]
    params = request.query_params
    where, search, n = params.get("where", ""), params.get("q", ""), page_size(params.get("n"))
    kept = {k: v for k, v in (("where", where.strip()), ("q", search.strip()), ("n", n if n != PAGE_SIZE else "")) if v}
    context = {"ref": ref, "where": where, "search": search, "n": n, "records": [], "listing": None}
    try:
        listing = list_records(
            request.app.state.store,
            ref,
            where=where,
            search=search,
            after=params.get("after"),
            before=params.get("before"),
            limit=n,
        )
    except QueryError as exc:
        # The page stays, with the filter to correct and why it was refused.
        return page(request, "records.html", status_code=400, error=str(exc), **context)
    base = str(request.url_for("records", ref=ref))
    rows = listing.rows
    prev_url = f"{base}?{urlencode({**kept, 'before': rows[0]['id']})}" if listing.has_prev else None
    next_url = f"{base}?{urlencode({**kept, 'after': rows[-1]['id']})}" if listing.has_next else None
    context.update(
        records=_views(listing),
        listing=listing,
        version=listing.version,
        flags=_flags(request, listing),
        prev_url=prev_url,
        next_url=next_url,
    )
    return page(request, "records.html", **context)


def record(request):
    listing = one_record(request.app.state.store, request.path_params["ref"], request.path_params["key"])
    return page(request, "record.html", ref=request.path_params["ref"], version=listing.version, record=_views(listing)[0])


# Plain (not async) functions: Starlette runs them in its thread pool, so a slow query does not
# hold up the media requests of the page that is loading.
ROUTES = [
    Route("/d/{ref}", records, name="records"),
    Route("/d/{ref}/r/{key}", record, name="record"),
]
