"""The mixture's key table, drawn in numpy: which records, how many copies, which language, which
split, what order, and each row's ``key`` and ``id``.

These steps touch only a narrow table (source, record id, a 128-bit key hash and a few flags), so
they run in memory on arrays instead of as SQL sorts over the records. Every random choice is
splitmix64's finaliser applied to the record's key hash (md5 of source entry, dataset and record
id, taken once in DuckDB) and a salt made from the seed: integer arithmetic modulo 2**64, the same
on any machine and for any numpy version, with no per-choice string hashing.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np
import polars as pl

from mmdata.mix.spec import MixSpec


def mix64(values) -> np.ndarray:
    """splitmix64's finaliser: a bijective, well-mixed 64-bit hash of each value."""
    x = np.array(values, dtype=np.uint64)  # a copy: the steps below work in place, sparing temporaries
    with np.errstate(over="ignore"):
        x ^= x >> np.uint64(30)
        x *= np.uint64(0xBF58476D1CE4E5B9)
        x ^= x >> np.uint64(27)
        x *= np.uint64(0x94D049BB133111EB)
        x ^= x >> np.uint64(31)
    return x


def salt(*parts) -> np.uint64:
    """A 64-bit constant from ``parts`` (seed, purpose, ...): the first 8 bytes of their md5."""
    return np.uint64(int.from_bytes(hashlib.md5(":".join(map(str, parts)).encode()).digest()[:8], "big"))


def key_hash(text: str) -> tuple[int, int]:
    """A 128-bit key hash (two 64-bit halves of md5(``text``)) for rows made here, not read from a source."""
    number = int.from_bytes(hashlib.md5(text.encode()).digest(), "little")
    return number >> 64, number & (2**64 - 1)


def _fraction(hashes: np.ndarray) -> np.ndarray:
    return (hashes % np.uint64(1_000_000)).astype(np.float64) / 1_000_000


def _order(primary: np.ndarray, hi: np.ndarray, lo: np.ndarray) -> tuple[np.ndarray, bool]:
    """Indices sorting by ``primary``, and whether any values were equal (rare in 64 bits). Equal
    values fall back to the key hash, so the order never depends on the order rows arrived in."""
    order = pl.Series(primary).arg_sort().to_numpy()  # polars sorts on every core
    ranked = primary[order]
    tied = bool(len(ranked) > 1 and (ranked[1:] == ranked[:-1]).any())
    return (np.lexsort((lo, hi, primary)) if tied else order), tied


def draw(cand: pl.DataFrame, spec: MixSpec, plans) -> pl.DataFrame:
    """The sampled records, with ``copy`` for repeats: per source, the ``planned`` lowest draw hashes.

    Every copy but the last is the whole source, so one order serves all copies.
    """
    parts = []
    by_source = cand.partition_by("src", as_dict=True, maintain_order=False)
    for index, plan in enumerate(plans):
        part = by_source.get((index,))
        if part is None or not plan.planned:
            continue
        if plan.planned == part.height:  # the whole source: nothing to draw
            parts.append(part.with_columns(pl.lit(0, pl.Int64).alias("copy")))
            continue
        hi, lo = part["k_hi"].to_numpy(), part["k_lo"].to_numpy()
        order, _ = _order(mix64(hi ^ salt(spec.seed, "draw")), hi, lo)
        if plan.planned < len(order):  # a subset: kept in place (row order is not a choice; mix_index is)
            kept = np.zeros(len(order), dtype=bool)
            kept[order[:plan.planned]] = True
            parts.append(part.filter(pl.Series(kept)).with_columns(pl.lit(0, pl.Int64).alias("copy")))
            continue
        copies = math.ceil(plan.planned / len(order))
        chosen = np.concatenate([order] * (copies - 1) + [order[:plan.planned - (copies - 1) * len(order)]])
        copy = np.repeat(np.arange(copies, dtype=np.int64), [len(order)] * (copies - 1) + [plan.planned - (copies - 1) * len(order)])
        parts.append(part[chosen].with_columns(pl.Series("copy", copy)))
    return pl.concat(parts) if parts else cand.head(0).with_columns(pl.lit(0, pl.Int64).alias("copy"))


def apply_languages(picked: pl.DataFrame, spec: MixSpec, plans) -> pl.DataFrame:
    """One row per picked record and language; ``plan.removed["no_malay"]`` counts records a Malay
    policy could not use."""
    parts = []
    for index, plan in enumerate(plans):
        part = picked.filter(pl.col("src") == index)
        policy = plan.language
        if isinstance(policy, str):
            languages = ["en", "ms"] if policy == "both" else [policy]
            if "ms" in languages and (missing := part.height - int(part["has_malay"].sum())):
                plan.removed["no_malay"] = missing
            for language in languages:
                rows = part.filter(pl.col("has_malay")) if language == "ms" else part
                parts.append(rows.with_columns(pl.lit(language).alias("language")))
        else:
            share = policy["mix"].get("ms", 0) / max(sum(policy["mix"].values()), 1e-9)
            hashes = mix64(part["k_lo"].to_numpy() ^ salt(spec.seed, "language") ^ mix64(part["copy"].to_numpy()))
            malay = pl.Series((_fraction(hashes) < share) & part["has_malay"].to_numpy())
            parts.append(part.with_columns(pl.when(malay).then(pl.lit("ms")).otherwise(pl.lit("en")).alias("language")))
    return pl.concat(parts) if parts else picked.with_columns(pl.lit("en").alias("language"))


def rows_by_language(rows: pl.DataFrame, src: int) -> dict:
    """``{"rows_en": n, "rows_ms": m}`` for one source's rows."""
    counts = dict(rows.filter(pl.col("src") == src).group_by("language").len().iter_rows())
    return {"rows_en": counts.get("en", 0), "rows_ms": counts.get("ms", 0)}


def apply_split(con, rows: pl.DataFrame, spec: MixSpec) -> pl.DataFrame:
    """Add ``split``: whole groups (rows sharing media, a source recording, or a record id) go to
    ``test`` with probability ``split.test``."""
    if not spec.split:
        return rows.with_columns(pl.lit("train").alias("split"))
    by = spec.split.get("group_by", "media")
    if by == "media":
        groups = pl.Series(_media_groups(rows))
    else:
        groups = rows["first_source" if by == "source" else "id"]
    # Group keys are strings (media paths, record ids): md5 them in DuckDB, as the key hashes are.
    con.register("split_groups", pl.DataFrame({"grp": groups}).unique().to_arrow())
    drawn = pl.from_arrow(con.execute(
        f"SELECT grp, (md5_number_lower(grp || ':split:{spec.seed}') % 1000000)::DOUBLE / 1000000 < {float(spec.split['test'])} "
        "AS test FROM split_groups").to_arrow_table())
    con.unregister("split_groups")
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


def order_and_name(rows: pl.DataFrame, spec: MixSpec) -> tuple[pl.DataFrame, bool]:
    """Each row's place in the mixture's order (``mix_index``; the rows themselves keep theirs: the
    writer sorts the full records once) and its ``key`` and ``id`` halves (``key_hi``/``key_lo``,
    ``id_hi``/``id_lo``; ``finish`` writes them as 32 hex digits).

    A row's key hashes where it came from (source entry, dataset, record id, language, copy), so it
    stays put when the spec is edited; its id adds how it was made (the spec's hash, split, place).
    Also says whether every key is unique (a source with repeated record ids gives repeats).
    """
    hi, lo = rows["k_hi"].to_numpy(), rows["k_lo"].to_numpy()
    language = (rows["language"] == "ms").to_numpy().astype(np.uint64)
    variant = mix64(rows["copy"].to_numpy().astype(np.uint64) * np.uint64(2) + language + salt("key"))
    key_hi, key_lo = mix64(hi ^ variant), mix64(lo ^ mix64(variant))
    # The order hash is a bijection of key_hi: no tie in it means no two keys alike.
    order, tied = _order(mix64(key_hi ^ salt(spec.seed, "order")), key_hi, key_lo)
    index = np.empty(len(order), dtype=np.uint64)
    index[order] = np.arange(len(order), dtype=np.uint64)
    made = mix64(index * np.uint64(2) + (rows["split"] == "test").to_numpy().astype(np.uint64) + salt(spec.hash, "id"))
    rows = rows.with_columns(pl.Series("mix_index", index.astype(np.int64)), pl.Series("key_hi", key_hi),
                             pl.Series("key_lo", key_lo), pl.Series("id_hi", mix64(key_hi ^ made)),
                             pl.Series("id_lo", mix64(key_lo ^ mix64(made))))
    return rows, not (tied and rows.select(pl.struct("key_hi", "key_lo").is_duplicated().any()).item())
