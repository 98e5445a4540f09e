"""Step 7a, order and name: each row's place in the mixture (``mix_index``) and its ``key`` and ``id``."""

from __future__ import annotations

import numpy as np
import polars as pl

from mmdata.mix.hashing import hash_order, mix64, salt
from mmdata.mix.spec import MixSpec


def order_and_name(rows: pl.DataFrame, spec: MixSpec) -> tuple[pl.DataFrame, bool]:
    """``rows`` with ``mix_index`` (the rows themselves keep their order: the writer sorts the full
    records once) and the ``key`` and ``id`` halves (``key_hi``/``key_lo``, ``id_hi``/``id_lo``; the
    write makes them 32 hex digits); and whether every key is unique (a source with repeated record
    ids gives repeats).

    A row's key hashes where it came from (source entry, dataset, record id, language, copy), so it
    stays put when the spec is edited; its id adds how it was made (the spec's hash, split, place).
    """
    hi, lo = rows["k_hi"].to_numpy(), rows["k_lo"].to_numpy()
    language = (rows["language"] == "ms").to_numpy().astype(np.uint64)
    variant = mix64(rows["copy"].to_numpy().astype(np.uint64) * np.uint64(2) + language + salt("key"))
    key_hi, key_lo = mix64(hi ^ variant), mix64(lo ^ mix64(variant))
    # The order hash is a bijection of key_hi: no tie in it means no two keys alike.
    order, tied = hash_order(mix64(key_hi ^ salt(spec.seed, "order")), key_hi, key_lo)
    index = np.empty(len(order), dtype=np.uint64)
    index[order] = np.arange(len(order), dtype=np.uint64)
    made = mix64(index * np.uint64(2) + (rows["split"] == "test").to_numpy().astype(np.uint64) + salt(spec.hash, "id"))
    rows = rows.with_columns(
        pl.Series("mix_index", index.astype(np.int64)),
        pl.Series("key_hi", key_hi),
        pl.Series("key_lo", key_lo),
        pl.Series("id_hi", mix64(key_hi ^ made)),
        pl.Series("id_lo", mix64(key_lo ^ mix64(made))),
    )
    return rows, not (tied and rows.select(pl.struct("key_hi", "key_lo").is_duplicated().any()).item())
