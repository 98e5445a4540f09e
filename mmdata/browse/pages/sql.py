"""The SQL page: one read-only query (``mmdata query``'s guard), its first rows as a table, and the
whole result as a CSV or Parquet download written by ``query``'s own writer."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from starlette.routing import Route

from mmdata.browse.view import page
from mmdata.errors import QueryError
from mmdata.querying import check_read_only, open_query_connection, query
from mmdata.store.lake import Store

SHOWN = 200
EXAMPLE = "SELECT dataset, version, command, created_at FROM _versions ORDER BY created_at DESC"
_TYPES = {".csv": "text/csv; charset=utf-8", ".parquet": "application/vnd.apache.parquet"}


def preview(sql: str, store: Store, shown: int = SHOWN) -> dict:
    """The first ``shown`` rows of read-only ``sql`` and how many it gives in all. The result is read a
    batch at a time and only the shown rows kept, so a query over a million rows costs no memory."""
    import duckdb

    sql = check_read_only(sql)
    con = open_query_connection(store, sql)
    try:
        reader = con.execute(sql).to_arrow_reader(10_000)
        columns, rows, total = list(reader.schema.names), [], 0
        for batch in reader:
            if len(rows) < shown:
                rows += batch.slice(0, shown - len(rows)).to_pylist()
            total += batch.num_rows
    except duckdb.Error as exc:
        raise QueryError(f"SQL error: {' '.join(str(exc).split())[:400]}") from None
    finally:
        con.close()
    return {"columns": columns, "rows": [[_cell(row[c]) for c in columns] for row in rows], "total": total}


def _cell(value) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def sql_page(request):
    """``/sql?q=``: the form, and the query's first rows (a write is refused: 400 with the reason)."""
    sql = request.query_params.get("q", "").strip()
    context, status = {"q": sql or EXAMPLE, "ran": bool(sql), "error": "", "result": None, "shown": SHOWN}, 200
    if sql:
        try:
            context["result"] = preview(sql, request.app.state.store)
        except QueryError as exc:
            context["error"], status = str(exc), 400
    return page(request, "sql.html", status_code=status, **context)


def download(request):
    """``/sql.csv?q=`` and ``/sql.parquet?q=``: the whole result as a file, streamed from a temporary copy."""
    from starlette.background import BackgroundTask
    from starlette.responses import FileResponse

    suffix = "." + request.path_params["format"]
    if suffix not in _TYPES:
        from starlette.exceptions import HTTPException

        raise HTTPException(404, "downloads are /sql.csv and /sql.parquet")
    sql = request.query_params.get("q", "").strip()
    if not sql:
        raise QueryError("give a query: ?q=SELECT ...")
    folder = Path(tempfile.mkdtemp(prefix="mmdata-sql-"))
    try:
        result = query(sql, request.app.state.store, out=folder / f"query{suffix}")
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return FileResponse(
        result.path,
        media_type=_TYPES[suffix],
        filename=f"query{suffix}",
        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
    )


ROUTES = [
    Route("/sql", sql_page, name="sql"),
    Route("/sql.{format:str}", download, name="sql_download"),
]
