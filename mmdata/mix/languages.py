"""Step 5, languages: one row per drawn record and language, under each source's language policy."""

from __future__ import annotations

import polars as pl

from mmdata.mix.filters import NO_MALAY
from mmdata.mix.hashing import fraction, mix64, salt
from mmdata.mix.spec import MixSpec


def apply_languages(picked: pl.DataFrame, spec: MixSpec, plans) -> pl.DataFrame:
    """Add ``language``; ``plan.removed["no_malay"]`` counts records a Malay policy could not use."""
    parts = []
    for index, plan in enumerate(plans):
        part = picked.filter(pl.col("src") == index)
        policy = plan.language
        if isinstance(policy, str):
            languages = ["en", "ms"] if policy == "both" else [policy]
            if "ms" in languages and (missing := part.height - int(part.select(NO_MALAY.usable().sum()).item())):
                plan.removed[NO_MALAY.name] = missing
            for language in languages:
                rows = part.filter(NO_MALAY.usable()) if language == "ms" else part
                parts.append(rows.with_columns(pl.lit(language).alias("language")))
        else:
            share = policy["mix"].get("ms", 0) / max(sum(policy["mix"].values()), 1e-9)
            hashes = mix64(part["k_lo"].to_numpy() ^ salt(spec.seed, "language") ^ mix64(part["copy"].to_numpy()))
            malay = pl.Series((fraction(hashes) < share) & part.select(NO_MALAY.usable()).to_series().to_numpy())
            parts.append(part.with_columns(pl.when(malay).then(pl.lit("ms")).otherwise(pl.lit("en")).alias("language")))
    return pl.concat(parts) if parts else picked.with_columns(pl.lit("en").alias("language"))


def rows_by_language(rows: pl.DataFrame, src: int) -> dict:
    """``{"rows_en": n, "rows_ms": m}`` for one source's rows."""
    counts = dict(rows.filter(pl.col("src") == src).group_by("language").len().iter_rows())
    return {"rows_en": counts.get("en", 0), "rows_ms": counts.get("ms", 0)}
