"""Step 4, draw: which candidates each source gives, and how many copies (``repeat``): per source, the
``planned`` lowest draw hashes."""

from __future__ import annotations

import math

import numpy as np
import polars as pl

from mmdata.mix.hashing import hash_order, mix64, salt
from mmdata.mix.spec import MixSpec


def draw(candidates: pl.DataFrame, spec: MixSpec, plans) -> pl.DataFrame:
    """The sampled records, with ``copy`` for repeats. Every copy but the last is the whole source,
    so one order serves all copies."""
    parts = []
    by_source = candidates.partition_by("src", as_dict=True, maintain_order=False)
    for index, plan in enumerate(plans):
        part = by_source.get((index,))
        if part is None or not plan.planned:
            continue
        if plan.planned == part.height:  # the whole source: nothing to draw
            parts.append(part.with_columns(pl.lit(0, pl.Int64).alias("copy")))
            continue
        hi, lo = part["k_hi"].to_numpy(), part["k_lo"].to_numpy()
        order, _ = hash_order(mix64(hi ^ salt(spec.seed, "draw")), hi, lo)
        if plan.planned < len(order):  # a subset: kept in place (row order is not a choice; mix_index is)
            kept = np.zeros(len(order), dtype=bool)
            kept[order[: plan.planned]] = True
            parts.append(part.filter(pl.Series(kept)).with_columns(pl.lit(0, pl.Int64).alias("copy")))
            continue
        copies = math.ceil(plan.planned / len(order))
        chosen = np.concatenate([order] * (copies - 1) + [order[: plan.planned - (copies - 1) * len(order)]])
        copy = np.repeat(
            np.arange(copies, dtype=np.int64), [len(order)] * (copies - 1) + [plan.planned - (copies - 1) * len(order)]
        )
        parts.append(part[chosen].with_columns(pl.Series("copy", copy)))
    return pl.concat(parts) if parts else candidates.head(0).with_columns(pl.lit(0, pl.Int64).alias("copy"))
