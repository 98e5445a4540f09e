"""A version's records one page at a time: keyset paging by ``id``, a SQL filter behind the same
read-only guard as ``query``, and a text search over the records' words.

Paging walks ``id`` (``WHERE id > ? ORDER BY id LIMIT n``) rather than counting an OFFSET, so a
deep page of a million rows costs what the first one does.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

from mmdata.errors import InputError, NotFoundError, QueryError
from mmdata.querying import check_read_only, open_query_connection
from mmdata.store.lake import Store, fetch_dicts
from mmdata.store.versions import VersionRef, resolve

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200

# The text a search looks in, per record kind: ILIKE over each, any one matching.
_SEARCHED = {
    "audio": ("title", "caption", "caption_ms"),
    "transcript": ("text_ms", "text_en"),
    "image": ("title", "caption", "caption_ms", "description", "description_ms"),
}


@dataclass
class Listing:
    """One page of a version's records (rows as the table holds them) and where its neighbours start."""

    version: VersionRef
    rows: list[dict]
    total: int
    has_prev: bool = False
    has_next: bool = False
    media: dict[str, dict] = field(default_factory=dict)  # media id -> its _media row


def page_size(text: str | None) -> int:
    """The ``n`` a request asked for, kept within 1..MAX_PAGE_SIZE (PAGE_SIZE when absent or not a number)."""
    try:
        n = int(text) if text else PAGE_SIZE
    except ValueError:
        return PAGE_SIZE
    return max(1, min(n, MAX_PAGE_SIZE))


def check_filter(where: str) -> str:
    """``where`` when it is one condition that cannot step outside the parentheses it is put in.

    It is placed as ``WHERE (\\n<where>\\n) AND ...``: with balanced parentheses and nothing
    unclosed (a string, a comment) swallowing the closing one, a ``) UNION SELECT ... (`` or a
    ``) --`` cannot end the condition early. The whole statement then goes through ``query``'s
    guard and runs on the sandboxed connection all the same.
    """
    where = where.strip()
    if not where:
        return ""
    depth = 0
    for offset, kind in duckdb.tokenize(where):
        char = where[offset]
        if kind == duckdb.token_type.operator and char in "();":
            if char == ";":
                raise QueryError("the filter is one condition: a ';' is not allowed")
            depth += 1 if char == "(" else -1
            if depth < 0:
                raise QueryError("the filter is one condition: a ')' closes a parenthesis it did not open")
    if depth:
        raise QueryError("the filter is one condition: a '(' is not closed")
    closed = duckdb.tokenize(where + "\n)")
    if not closed or closed[-1][0] != len(where) + 1:
        raise QueryError("the filter is one condition: a string or comment in it is not closed")
    return where


def _like(text: str) -> str:
    """``text`` as an ILIKE pattern matching it anywhere, its own % and _ taken literally."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _search(kind: str, text: str) -> tuple[str, list]:
    """SQL matching records whose words contain ``text`` (any case), and its parameters."""
    pattern = _like(text)
    if kind == "conversation":
        # A list lambda: four times faster than unnesting the turns in a subquery.
        sql = "len(list_filter(chat, lambda t: t.content ILIKE ? ESCAPE '\\' OR t.content_ms ILIKE ? ESCAPE '\\')) > 0"
        return sql, [pattern, pattern]
    columns = _SEARCHED[kind]
    return "(" + " OR ".join(f"\"{c}\" ILIKE ? ESCAPE '\\'" for c in columns) + ")", [pattern] * len(columns)


def media_facts(con: duckdb.DuckDBPyConnection, ids: list[str]) -> dict[str, dict]:
    """What the ``_media`` table knows of each of ``ids`` (kind, ext, duration_s, width, height)."""
    ids = sorted(set(ids))
    if not ids:
        return {}
    rows = fetch_dicts(
        con,
        f"SELECT id, kind, ext, bytes, duration_s, width, height FROM lake._media WHERE id IN ({', '.join('?' for _ in ids)})",
        ids,
    )
    return {row["id"]: row for row in rows}


def _media_ids(kind: str, rows: list[dict]) -> list[str]:
    if kind == "conversation":
        return [i for row in rows for name in ("images", "audios") for i in row.get(name) or []]
    return [row["media_id"] for row in rows if row.get("media_id")]


def _cursor(value: str | None) -> str | None:
    if value is not None and len(value) > 200:
        raise InputError("a paging cursor is a record id; this one is too long")
    return value or None


def list_records(
    store: Store | str | None,
    ref: str,
    *,
    where: str = "",
    search: str = "",
    after: str | None = None,
    before: str | None = None,
    limit: int = PAGE_SIZE,
) -> Listing:
    """The records of version ``ref`` after id ``after`` (or the page before id ``before``), ``limit``
    of them, that match the SQL condition ``where`` and contain ``search``. QueryError for a filter
    that is not one read-only condition or that DuckDB rejects; NotFoundError for an unknown ``ref``."""
    store = Store.of(store)
    condition = check_filter(where)
    after, before = _cursor(after), _cursor(before)
    limit = max(1, min(int(limit), MAX_PAGE_SIZE))
    try:
        con = open_query_connection(store, condition)  # "name@V" in the filter become views
    except NotFoundError as exc:
        raise QueryError(f"filter: {exc}") from None
    try:
        version = resolve(con, ref)
        conditions, params = [], []
        if condition:
            conditions.append(f"(\n{condition}\n)")
        if search.strip():
            sql, values = _search(version.record_kind, search.strip())
            conditions.append(sql)
            params += values
        backwards = before is not None
        cursor = before if backwards else after
        paged = [*conditions, "id < ?" if backwards else "id > ?"] if cursor else conditions
        paged_params = [*params, cursor] if cursor else params
        order = f"ORDER BY id {'DESC' if backwards else 'ASC'}"
        # The page's ids first (one column), then only their rows: reading every column of the
        # row groups a top-N passes through costs ~2x more on a million rows.
        sql = (
            f"WITH page AS (SELECT id FROM {version.relation} "
            + (f"WHERE {' AND '.join(paged)} " if paged else "")
            + f"{order} LIMIT {limit + 1}) "
            f"SELECT * FROM {version.relation} WHERE id IN (SELECT id FROM page) {order} LIMIT {limit + 1}"
        )
        check_read_only(sql)
        try:
            rows = fetch_dicts(con, sql, paged_params)
            more = len(rows) > limit
            rows = rows[:limit]
            if backwards:
                rows.reverse()
            # The other direction: is there a matching row beyond this page's first (or last) id?
            beyond = None
            if rows and cursor:
                edge, op = (rows[-1]["id"], ">") if backwards else (rows[0]["id"], "<")
                probe = f"SELECT 1 FROM {version.relation} WHERE {' AND '.join([*conditions, f'id {op} ?'])} LIMIT 1"
                beyond = bool(con.execute(check_read_only(probe), [*params, edge]).fetchall())
            (total,) = con.execute(f"SELECT count(*) FROM {version.relation}").fetchone()
            media = media_facts(con, _media_ids(version.record_kind, rows))
        except duckdb.Error as exc:
            raise QueryError(f"filter: {' '.join(str(exc).split())[:400]}") from None
    finally:
        con.close()
    has_prev, has_next = (more, bool(beyond)) if backwards else (bool(beyond), more)
    return Listing(version, rows, total, has_prev=has_prev, has_next=has_next, media=media)


def one_record(store: Store | str | None, ref: str, key: str) -> Listing:
    """The record with ``key`` in version ``ref`` (as a one-row Listing); NotFoundError when absent."""
    store = Store.of(store)
    with store.reader() as con:
        version = resolve(con, ref)
        rows = fetch_dicts(con, f"SELECT * FROM {version.relation} WHERE key = ? LIMIT 1", [key])
        if not rows:
            raise NotFoundError(f"no record with key {key!r} in {version}")
        media = media_facts(con, _media_ids(version.record_kind, rows))
    return Listing(version, rows, 1, media=media)
