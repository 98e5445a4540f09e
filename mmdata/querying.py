"""``query``: read-only SQL over the store, with datasets visible by name and version."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import duckdb

from mmdata.errors import InputError, NotFoundError, QueryError
from mmdata.store.lake import Store
from mmdata.store.versions import resolve

# "name@3" or "name@stable" as a quoted identifier selects that version.
_VERSIONED = re.compile(r'"([A-Za-z][A-Za-z0-9_\-]{0,63}@[A-Za-z0-9_\-.]+)"')
_READ_ONLY = {duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN}
OUT_FORMATS = {".parquet": "(FORMAT parquet)", ".csv": "(FORMAT csv, HEADER true)",
               ".jsonl": "(FORMAT json)", ".json": "(FORMAT json)", ".ndjson": "(FORMAT json)"}


@dataclass
class QueryResult:
    columns: list[str]
    table: object | None = None  # pyarrow.Table when the result came back in memory
    rows: int = 0
    path: Path | None = None  # the file the result streamed to


def _check_read_only(sql: str) -> str:
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise QueryError(f"bad SQL: {str(exc).splitlines()[0]}") from None
    if len(statements) != 1:
        raise QueryError(f"give exactly one SQL statement (got {len(statements)})")
    if statements[0].type not in _READ_ONLY:
        raise QueryError(f"the store is read-only here: {statements[0].type.name} is not allowed (use SELECT)")
    return sql.strip().rstrip(";")


def open_query_connection(store: Store, sql: str) -> duckdb.DuckDBPyConnection:
    """A read-only connection where datasets resolve by name and ``"name@V"`` views exist for the SQL."""
    con = store.connect(read_only=True)
    try:
        con.execute("USE lake")  # unqualified names are the lake's tables: each dataset's newest version
        for name in sorted(set(_VERSIONED.findall(sql))):
            ref = resolve(con, name)
            con.execute(f'CREATE TEMP VIEW "{name}" AS SELECT * FROM {ref.relation}')
    except (NotFoundError, InputError):
        con.close()
        raise
    return con


def query(sql: str, store: Store | str | None = None, out: str | Path | None = None) -> QueryResult:
    """Run one read-only SQL statement; return the rows, or stream them into ``out``.

    Datasets are tables by name (newest version); ``"name@N"`` / ``"name@tag"`` select a
    version; ``_versions``, ``_tags``, ``_rejects`` and ``_media`` are the store's bookkeeping.
    ``out`` ending in .parquet, .csv or .jsonl streams the result there without holding it in memory.

    >>> query('SELECT kind, count(*) FROM chats GROUP BY kind').table.to_pylist()
    [{'kind': 'audio-instruction', 'count_star()': 2}]
    >>> query('SELECT * FROM "chats@1"', out="chats-v1.parquet").rows
    2
    """
    store = Store.of(store)
    sql = _check_read_only(sql)
    if out is not None and Path(out).suffix.lower() not in OUT_FORMATS:
        raise InputError(f"--out {out}: use a .parquet, .csv or .jsonl file")
    con = open_query_connection(store, sql)
    try:
        if out is None:
            result = con.execute(sql)
            table = result.to_arrow_table()
            return QueryResult(table.column_names, table, table.num_rows)
        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        columns = [d[0] for d in con.execute(f"DESCRIBE {sql}").fetchall()]
        (rows,) = con.execute(f"COPY ({sql}) TO '{out}' {OUT_FORMATS[out.suffix.lower()]}").fetchone()
        return QueryResult(columns, None, rows, out)
    except duckdb.Error as exc:
        raise QueryError(f"SQL error: {' '.join(str(exc).split())[:400]}") from None
    finally:
        con.close()
