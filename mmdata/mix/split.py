"""Step 6, split: whole groups of rows (sharing media, a first source, or a record id) go to ``test``
with probability ``split.test``, so nothing seen in training leaks into the test side."""

from __future__ import annotations

import polars as pl

from mmdata.mix.spec import MixSpec


def split_columns(spec: MixSpec) -> list[tuple[str, str]]:
    """(name, SQL over the record) columns the split needs on the candidate key table."""
    by = spec.split.get("group_by", "media") if spec.split else None
    if by == "media":
        return [("images", "images"), ("audios", "audios")]
    return [("first_source", "coalesce(source[1], id)")] if by == "source" else []


def apply_split(state, rows: pl.DataFrame) -> pl.DataFrame:
    """Add ``split`` to the drawn ``rows``."""
    spec, con = state.spec, state.con
    if not spec.split:
        return rows.with_columns(pl.lit("train").alias("split"))
    by = spec.split.get("group_by", "media")
    if by == "media":
        groups = pl.Series(_media_groups(rows))
    else:
        groups = rows["first_source" if by == "source" else "id"]
    # Group keys are strings (media paths, record ids): md5 them in DuckDB, as the key hashes are.
    con.register(state.split_groups, pl.DataFrame({"grp": groups}).unique().to_arrow())
    drawn = pl.from_arrow(
        con.execute(
            f"SELECT grp, (md5_number_lower(grp || ':split:{spec.seed}') % 1000000)::DOUBLE / 1000000 < {float(spec.split['test'])} "
            f"AS test FROM {state.split_groups}"
        ).to_arrow_table()
    )
    con.unregister(state.split_groups)
    side = pl.DataFrame({"grp": groups}).join(drawn, on="grp", how="left", maintain_order="left")["test"]
    return rows.with_columns(pl.when(side).then(pl.lit("test")).otherwise(pl.lit("train")).alias("split"))


def _media_groups(rows: pl.DataFrame) -> list[str]:
    """Each row's group: rows linked by any shared image or audio (connected components), named by
    the smallest record id in the group so the name does not depend on row order."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    ids = rows["id"].to_list()
    for record_id, images, audios in zip(ids, rows["images"].to_list(), rows["audios"].to_list()):
        first = find(f"r:{record_id}")
        for m in (images or []) + (audios or []):
            root = find(f"m:{m}")
            if root != first:
                parent[root] = first
    smallest: dict[str, str] = {}
    for record_id in ids:
        root = find(f"r:{record_id}")
        smallest[root] = min(smallest.get(root, record_id), record_id)
    return [smallest[find(f"r:{record_id}")] for record_id in ids]
