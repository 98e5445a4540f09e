"""``diff`` and ``tag``: compare versions, name them."""

from __future__ import annotations

from mmdata.errors import InputError
from mmdata.options import at_least
from mmdata.store.lake import Store, fetch_dicts
from mmdata.store.tables import from_row
from mmdata.store.versions import resolve, set_tag, split_ref


def diff(a: str, b: str, store: Store | str | None = None, limit: int = 3) -> dict:
    """Records added, removed and changed from version ``a`` to ``b``, with a few of each.

    Records are matched by key (see ``tables.record_key``): same key and different content is
    a change. Both versions come from DuckLake time travel, not copies.
    """
    at_least(0, limit=limit)
    store = Store.of(store)
    with store.reader() as con:
        old, new = resolve(con, a), resolve(con, b)
        if old.record_kind != new.record_kind:
            raise InputError(f"cannot diff {old} ({old.record_kind}) with {new} ({new.record_kind})")
        con.execute(
            f"""CREATE TEMP TABLE pairs AS
                SELECT o.key AS old_key, o.id AS old_id, n.key AS new_key, n.id AS new_id
                FROM (SELECT key, id FROM {old.relation}) o FULL OUTER JOIN (SELECT key, id FROM {new.relation}) n
                ON o.key = n.key"""
        )
        added, removed, changed, unchanged = con.execute(
            """SELECT count(*) FILTER (WHERE old_key IS NULL), count(*) FILTER (WHERE new_key IS NULL),
                      count(*) FILTER (WHERE old_id <> new_id), count(*) FILTER (WHERE old_id = new_id) FROM pairs"""
        ).fetchone()

        def ids(condition: str, column: str) -> list:
            return con.execute(f"SELECT {column} FROM pairs WHERE {condition} ORDER BY 1 LIMIT {int(limit)}").fetchall()

        def fetch(relation: str, wanted: list[str]) -> dict[str, dict]:
            rows = fetch_dicts(con, f"SELECT * FROM {relation} WHERE id IN (SELECT unnest(?))", [wanted])
            return {row["id"]: from_row(old.record_kind, row) for row in rows}

        added_ids = [r[0] for r in ids("old_key IS NULL", "new_id")]
        removed_ids = [r[0] for r in ids("new_key IS NULL", "old_id")]
        changed_ids = ids("old_id <> new_id", "old_id, new_id")
        before = fetch(old.relation, removed_ids + [o for o, _ in changed_ids])
        after = fetch(new.relation, added_ids + [n for _, n in changed_ids])
        samples = {
            "added": [after[i] for i in added_ids],
            "removed": [before[i] for i in removed_ids],
            "changed": [{"before": before[o], "after": after[n]} for o, n in changed_ids],
        }
    return {
        "a": str(old),
        "b": str(new),
        "counts": {"added": added, "removed": removed, "changed": changed, "unchanged": unchanged},
        "samples": samples,
    }


def tag(ref: str, name: str, store: Store | str | None = None, wait: float | None = None) -> dict:
    """Point tag ``name`` at version ``ref`` (``name@N``); ``ref``'s dataset then answers to ``dataset@name``."""
    store = Store.of(store)
    with store.transaction(wait, locks=[split_ref(ref)[0]]) as con:
        version = resolve(con, ref)
        set_tag(con, version, name)
    return {"dataset": version.dataset, "version": version.version, "tag": name}
