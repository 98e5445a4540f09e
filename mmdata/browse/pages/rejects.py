"""A version's rejects: counts by rule, and the rejected lines with file, line, field path, rule and
message (what ``mmdata show`` lists), a page at a time, optionally one rule only."""

from __future__ import annotations

from starlette.routing import Route

from mmdata.browse.view import page
from mmdata.store.lake import Store, fetch_dicts
from mmdata.store.versions import resolve

PAGE = 100


def rejects(ref: str, store: Store, rule: str | None = None, offset: int = 0, limit: int = PAGE) -> dict:
    """The rejects recorded for version ``ref``: counts by rule and one page of lines (of ``rule`` only, if given)."""
    with store.reader() as con:
        version = resolve(con, ref)
        where, args = "dataset = ? AND version = ?", [version.dataset, version.version]
        by_rule = fetch_dicts(
            con, f"SELECT rule, count(*) AS n FROM lake._rejects WHERE {where} GROUP BY rule ORDER BY n DESC, rule", args
        )
        if rule:
            where, args = where + " AND rule = ?", [*args, rule]
        lines = fetch_dicts(
            con,
            f"SELECT file, line, field_path, rule, message, record FROM lake._rejects WHERE {where} "
            "ORDER BY file, line, field_path LIMIT ? OFFSET ?",
            [*args, int(limit), int(offset)],
        )
    total = sum(r["n"] for r in by_rule if not rule or r["rule"] == rule)
    return {"version": str(version), "by_rule": by_rule, "lines": lines, "total": total}


def rejects_page(request):
    """``/d/{ref}/rejects``: counts by rule, then the rejected lines (``?rule=`` one rule, ``?page=`` paging)."""
    ref = request.path_params["ref"]
    rule = request.query_params.get("rule") or None
    try:
        number = max(int(request.query_params.get("page", 1)), 1)
    except ValueError:
        number = 1
    found = rejects(ref, request.app.state.store, rule, (number - 1) * PAGE)
    pages = max((found["total"] + PAGE - 1) // PAGE, 1)
    return page(request, "rejects.html", ref=ref, rule=rule, number=number, pages=pages, **found)


ROUTES = [Route("/d/{ref}/rejects", rejects_page, name="rejects")]
