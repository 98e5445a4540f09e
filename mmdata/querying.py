"""``query``: read-only SQL over the store, with datasets visible by name and version.

SQL someone typed must not write, and three locks hold that:

1. DuckDB's own parser: exactly one statement, a SELECT, or an EXPLAIN whose explained statement
   is a SELECT (``EXPLAIN ANALYZE`` runs what it explains, so ``EXPLAIN ANALYZE COPY ...`` writes).
2. Its parse tree: table functions come from a read-only list, because some write files or
   settings from inside a SELECT (``checkpoint()``, ``enable_logging()``, ``ducklake_*``, ``query()``).
3. The instance it runs on (``Store.connect(sandbox=True)``): the lake attached READ_ONLY, no
   file access beyond the lake's data, no extension loading, configuration locked.

``out`` is written here from an Arrow stream, so no path is ever spelled inside SQL.
"""

from __future__ import annotations

import functools
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb

from mmdata.errors import InputError, NotFoundError, QueryError
from mmdata.store.lake import Store
from mmdata.store.versions import resolve

# "name@3" or "name@stable" as a quoted identifier selects that version.
_VERSIONED = re.compile(r'"([A-Za-z][A-Za-z0-9_\-]{0,63}@[A-Za-z0-9_\-.]+)"')
OUT_FORMATS = (".parquet", ".csv", ".jsonl", ".json", ".ndjson")
_BATCH_ROWS = 122_880  # one DuckDB row group: the Parquet written keeps DuckDB's own row-group size

# Table functions a query may call: they read. Anything else (checkpoint, enable_logging,
# enable_profiling, query, sqlite_attach, ducklake_expire_snapshots, ...) may write or run SQL
# given as a string, where this check cannot see it.
_READING_TABLE_FUNCTIONS = frozenset(
    {
        "range",
        "generate_series",
        "unnest",
        "repeat",
        "repeat_row",
        "histogram",
        "histogram_values",
        "summary",
        "read_parquet",
        "parquet_scan",
        "parquet_metadata",
        "parquet_schema",
        "parquet_file_metadata",
        "parquet_kv_metadata",
        "parquet_full_metadata",
        "parquet_bloom_probe",
        "read_csv",
        "read_csv_auto",
        "sniff_csv",
        "read_json",
        "read_json_auto",
        "read_json_objects",
        "read_json_objects_auto",
        "read_ndjson",
        "read_ndjson_auto",
        "read_ndjson_objects",
        "read_text",
        "read_blob",
        "glob",
        "json_each",
        "json_tree",
        "icu_calendar_names",
        "pg_timezone_names",
        "duckdb_columns",
        "duckdb_constraints",
        "duckdb_databases",
        "duckdb_dependencies",
        "duckdb_extensions",
        "duckdb_functions",
        "duckdb_indexes",
        "duckdb_keywords",
        "duckdb_memory",
        "duckdb_optimizers",
        "duckdb_schemas",
        "duckdb_sequences",
        "duckdb_settings",
        "duckdb_tables",
        "duckdb_types",
        "duckdb_views",
        "duckdb_variables",
        "duckdb_temporary_files",
        "pragma_version",
        "pragma_platform",
        "pragma_table_info",
        "pragma_show",
        "pragma_database_size",
        "pragma_collations",
        "pragma_storage_info",
        "pragma_metadata_info",
        "ducklake_snapshots",
        "ducklake_current_snapshot",
        "ducklake_last_committed_snapshot",
        "ducklake_table_info",
        "ducklake_list_files",
        "ducklake_table_changes",
        "ducklake_table_insertions",
        "ducklake_table_deletions",
        "ducklake_options",
        "ducklake_settings",
    }
)
# Scalar functions with an effect beyond their value.
_EFFECT_FUNCTIONS = frozenset({"write_log"})


@dataclass
class QueryResult:
    columns: list[str]
    table: object | None = None  # pyarrow.Table when the result came back in memory
    rows: int = 0
    path: Path | None = None  # the file the result streamed to


def _refuse(what: str) -> QueryError:
    return QueryError(f"the store is read-only here: {what} is not allowed (use SELECT)")


def _one_statement(sql: str):
    # DuckDB's parser reads the files IMPORT DATABASE names (schema.sql, load.sql) while parsing
    starts = [offset for offset, _ in duckdb.tokenize(sql)]
    firsts = [0] + [i + 1 for i, offset in enumerate(starts) if sql[offset] == ";"]
    if any(i < len(starts) and re.match(r"(?i)import\b", sql[starts[i] :]) for i in firsts):
        raise _refuse("IMPORT")
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise QueryError(f"bad SQL: {str(exc).splitlines()[0]}") from None
    if len(statements) != 1:
        raise QueryError(f"give exactly one SQL statement (got {len(statements)})")
    return statements[0]


def _explained(sql: str) -> str:
    """The statement an EXPLAIN is about: what follows ``ANALYZE``/``VERBOSE`` or an option list.

    DuckDB's tokenizer skips comments, so ``EXPLAIN /* */ ANALYZE`` cannot hide the keyword.
    """
    starts = [offset for offset, _ in duckdb.tokenize(sql)]

    def word(i: int) -> str:
        match = re.match(r"\w+", sql[starts[i] :])
        return match.group(0).upper() if match else sql[starts[i]]

    i = 1
    while i < len(starts) and word(i) in ("ANALYZE", "ANALYSE", "VERBOSE"):
        i += 1
    if i == 1 and i < len(starts) and word(i) == "(":
        depth = 0
        for j in range(i, len(starts)):
            depth += {"(": 1, ")": -1}.get(sql[starts[j]], 0)
            if depth == 0:
                break
        if j + 1 < len(starts):  # else "EXPLAIN (SELECT 1)": the parenthesis was the statement
            i = j + 1
    return sql[starts[i] :] if i < len(starts) else ""


def _functions(node, found: list[tuple[str, bool]]) -> list[tuple[str, bool]]:
    """Every function a serialized parse tree calls, as (name, called as a table function)."""
    if isinstance(node, dict):
        if node.get("type") == "TABLE_FUNCTION" and isinstance(node.get("function"), dict):
            found.append((str(node["function"].get("function_name", "")).lower(), True))
        if node.get("class") == "FUNCTION":
            found.append((str(node.get("function_name", "")).lower(), False))
        for value in node.values():
            _functions(value, found)
    elif isinstance(node, list):
        for value in node:
            _functions(value, found)
    return found


@functools.cache
def _parser() -> duckdb.DuckDBPyConnection:
    # An empty in-memory instance, made once: json_serialize_sql only parses, and a new instance
    # per query cost 10 ms, more than a small query itself.
    return duckdb.connect()


def _check_functions(select: str) -> None:
    con = _parser().cursor()
    try:
        tree = json.loads(con.execute("SELECT json_serialize_sql(?)", [select]).fetchone()[0])
    finally:
        con.close()
    if tree.get("error"):
        # e.g. a PIVOT inside a subquery, which DuckDB rewrites into several statements
        raise QueryError(f"cannot check this query for writes ({tree.get('error_message')}); write it as a plain SELECT")
    for name, table in _functions(tree, []):
        if (table and name not in _READING_TABLE_FUNCTIONS) or name in _EFFECT_FUNCTIONS:
            raise _refuse(f"{name}()")


def check_read_only(sql: str) -> str:
    """``sql`` when it is one statement that only reads; else a QueryError saying what is refused."""
    statement = _one_statement(sql)
    if statement.type == duckdb.StatementType.EXPLAIN:
        inner = _explained(sql)
        explained = _one_statement(inner) if inner.strip() else None
        if explained is None or explained.type != duckdb.StatementType.SELECT:
            raise _refuse(f"EXPLAIN of {explained.type.name if explained else 'nothing'}")
        statement = explained
    elif statement.type != duckdb.StatementType.SELECT:
        raise _refuse(statement.type.name)
    _check_functions(statement.query)  # the parser's own text: "PRAGMA version" reads as SELECT * FROM pragma_version()
    return sql


def open_query_connection(store: Store, sql: str) -> duckdb.DuckDBPyConnection:
    """A sandboxed connection where datasets resolve by name and ``"name@V"`` views exist for the SQL."""
    con = store.connect(sandbox=True)
    try:
        con.execute("USE lake")  # unqualified names are the lake's tables: each dataset's newest version
        for name in sorted(set(_VERSIONED.findall(sql))):
            ref = resolve(con, name)
            con.execute(f'CREATE TEMP VIEW "{name}" AS SELECT * FROM {ref.relation}')
    except (NotFoundError, InputError):
        con.close()
        raise
    return con


def _check_out(out: str | Path, store: Store) -> Path:
    out = Path(out)
    if out.suffix.lower() not in OUT_FORMATS:
        raise InputError(f"--out {out}: use a .parquet, .csv or .jsonl file")
    if out.resolve().is_relative_to(store.root.resolve()):
        raise InputError(f"--out {out} is inside the store {store.root}; a query never writes there")
    if out.is_dir():
        raise InputError(f"--out {out} is a folder; give a file name")
    from mmdata.paths import file_to_write

    return file_to_write(out, "--out")  # a file among its parents: no folder can be made for it


# Types pyarrow's CSV writer takes as they are; others (lists, structs, maps, blobs, ...) are cast
# to DuckDB's text form, which is what COPY ... (FORMAT csv) writes too.
_CSV_PLAIN = {
    "boolean",
    "tinyint",
    "smallint",
    "integer",
    "bigint",
    "utinyint",
    "usmallint",
    "uinteger",
    "ubigint",
    "float",
    "double",
    "decimal",
    "varchar",
    "date",
    "timestamp",
    "timestamp with time zone",
    "timestamp_s",
    "timestamp_ms",
    "timestamp_ns",
}


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _write(rel: duckdb.DuckDBPyRelation, out: Path) -> QueryResult:
    """Stream ``rel`` into ``out`` (written beside it under a temporary name, then renamed)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    columns = list(rel.columns)
    suffix = out.suffix.lower()
    if suffix == ".csv":
        rel = rel.project(
            ", ".join(
                _quoted(c) if t.id in _CSV_PLAIN else f"CAST({_quoted(c)} AS VARCHAR) AS {_quoted(c)}"
                for c, t in zip(columns, rel.types)
            )
        )
    elif suffix != ".parquet":  # JSON lines: DuckDB renders each row, as its COPY ... (FORMAT json) does
        rel = rel.set_alias("mmdata_row").project('to_json("mmdata_row")')
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial")
    rows = 0
    try:
        reader = rel.to_arrow_reader(_BATCH_ROWS)
        if suffix == ".parquet":
            with pq.ParquetWriter(partial, reader.schema) as writer:
                for batch in reader:
                    writer.write_batch(batch)
                    rows += batch.num_rows
        elif suffix == ".csv":
            with pacsv.CSVWriter(partial, reader.schema) as writer:
                for batch in reader:
                    writer.write_batch(batch)
                    rows += batch.num_rows
        else:
            with open(partial, "w", encoding="utf-8") as f:
                for batch in reader:
                    lines = batch.column(0).to_pylist()
                    f.writelines(line + "\n" for line in lines)
                    rows += len(lines)
        os.replace(partial, out)
    except OSError as exc:
        raise InputError(f"--out {out}: {exc.strerror or exc}") from None
    except pa.ArrowException as exc:
        raise QueryError(f"cannot write {out.suffix} from this result: {str(exc).splitlines()[0]}") from None
    finally:
        partial.unlink(missing_ok=True)
    return QueryResult(columns, None, rows, out)


def query(sql: str, store: Store | str | None = None, out: str | Path | None = None) -> QueryResult:
    """Run one read-only SQL statement; return the rows, or stream them into ``out``.

    Datasets are tables by name (newest version); ``"name@N"`` / ``"name@tag"`` select a
    version; ``_versions``, ``_tags``, ``_rejects``, ``_media``, ``_flags`` and ``_shards`` are the store's bookkeeping.
    ``out`` ending in .parquet, .csv or .jsonl streams the result there without holding it in memory.
    Only the store's own data can be read: files elsewhere, writes and settings are refused.
    """
    store = Store.of(store)
    sql = check_read_only(sql)
    if out is not None:
        out = _check_out(out, store)
    con = open_query_connection(store, sql)
    try:
        if out is None:
            table = con.execute(sql).to_arrow_table()
            return QueryResult(table.column_names, table, table.num_rows)
        return _write(con.sql(sql), out)
    except duckdb.Error as exc:
        message = " ".join(str(exc).split())
        if "disabled by configuration" in message:
            message += " (a query reads the store's datasets only)"
        raise QueryError(f"SQL error: {message[:400]}") from None
    finally:
        con.close()
