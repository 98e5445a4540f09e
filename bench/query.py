"""`mmdata query` vs bare DuckDB over the same Parquet files, in one run (target ratio <= 1.3).

Builds a store with N conversations (default 1,000,000; written straight into the lake so the
benchmark measures queries, not imports), then times three typical queries (median of 11).
mmdata pays its per-query work (a cursor on the process's cached store instance, version
views, the DuckLake catalog lookup); bare DuckDB is timed twice: with a new connection per
query, and on one warm connection (the stricter baseline). The one-off cost of the first
query in a process (loading the extensions) is printed separately.

    python bench/query.py [N]
"""

from __future__ import annotations

import glob
import statistics
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine  # noqa: E402

from mmdata.querying import query  # noqa: E402
from mmdata.store.lake import Store  # noqa: E402
from mmdata.store.versions import Lineage, record_version  # noqa: E402

QUERIES = {
    "count by kind": "SELECT kind, count(*) AS n FROM {t} GROUP BY kind ORDER BY kind",
    "unnest turns, group by role": "SELECT t.role, count(*) AS n, avg(len(t.content)) AS chars "
    "FROM (SELECT unnest(chat) AS t FROM {t}) GROUP BY t.role ORDER BY t.role",
    "filter by media id": "SELECT id, kind FROM {t} WHERE list_contains(images, '{media}') ORDER BY id",
}


def build(store: Store, n: int) -> str:
    """Write ``n`` conversations straight into the dataset ``chats`` of ``store`` (local or team) as
    one version; returns a media id the third query filters by. ``bench/team_store.py`` shares it."""
    rng = pl.int_range(0, n, eager=True)
    media = [f"{i:064x}" for i in range(50)]
    frame = pl.DataFrame({"i": rng}).with_columns(
        pl.col("i").cast(pl.String).alias("id"),
        pl.col("i").cast(pl.String).alias("key"),
        pl.when(pl.col("i") % 3 == 0)
        .then(pl.lit("multi-image"))
        .when(pl.col("i") % 3 == 1)
        .then(pl.lit("audio-instruction"))
        .otherwise(pl.lit("text"))
        .alias("kind"),
        pl.format("context {}", pl.col("i")).alias("context"),
    )
    turns = [
        pl.struct(
            pl.lit(role).alias("role"),
            pl.format(f"{role} {{}} nasi lemak teh tarik", pl.col("i")).alias("content"),
            pl.format("ms {} nasi lemak", pl.col("i")).alias("content_ms"),
        )
        for role in ("user", "assistant") * 2
    ]
    frame = frame.with_columns(
        pl.concat_list(turns).alias("chat"),
        pl.concat_list([pl.lit(media[k]) for k in range(2)]).list.eval(pl.element()).alias("images"),
        pl.concat_list([pl.lit(media[k]) for k in (2, 3)]).alias("audios"),
        pl.lit(None, pl.String).alias("generation"),
        pl.concat_list([pl.col("id")]).alias("source"),
        pl.lit(None, pl.String).alias("extra"),
    )
    # Vary the media per row so the media filter is selective.
    frame = frame.with_columns(
        pl.concat_list([pl.format("{}", (pl.col("i") % 50).cast(pl.String).str.zfill(64)), pl.lit(media[1])]).alias("images")
    ).drop("i")
    with store.transaction(locks=["chats"]) as con:  # a team store locks by dataset; a local one ignores it
        con.register("frame", frame.to_arrow())
        con.execute('CREATE TABLE lake."chats" AS SELECT * FROM frame')
        record_version(con, "chats", "conversation", Lineage("bench"), {"added": n})
    return f"{7:064d}"


def timed(fn, repeat: int = 11) -> float:
    """The median of ``repeat`` timings of ``fn``, after one untimed call."""
    fn()  # warm the page cache and extension loading once for both sides
    return statistics.median(_once(fn) for _ in range(repeat))


def _once(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main(n: int) -> None:
    print(f"# query benchmark on {machine()}, {n:,} conversations")
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "store")
        start = time.perf_counter()
        media = build(store, n)
        files = sorted(glob.glob(str(store.root / "data" / "main" / "chats" / "*.parquet")))
        print(f"built in {time.perf_counter() - start:.1f} s: {len(files)} Parquet file(s)")
        source = "read_parquet([" + ", ".join(f"'{f}'" for f in files) + "])"
        start = time.perf_counter()
        query("SELECT 1", store)
        print(
            f"first query in a process (loads the DuckLake and SQLite extensions, attaches the lake): "
            f"{(time.perf_counter() - start) * 1000:.0f} ms; later queries reuse that instance"
        )
        for name, sql in QUERIES.items():
            ours = query(sql.format(t="chats", media=media), store).table
            bare_sql = sql.format(t=source, media=media)
            theirs = duckdb.connect().execute(bare_sql).to_arrow_table()
            assert ours.equals(theirs), name
            ours_sql = sql.format(t="chats", media=media)
            t_ours = timed(lambda ours_sql=ours_sql: query(ours_sql, store))
            t_bare = timed(lambda bare_sql=bare_sql: duckdb.connect().execute(bare_sql).to_arrow_table())
            warm = duckdb.connect()
            t_warm = timed(lambda warm=warm, bare_sql=bare_sql: warm.execute(bare_sql).to_arrow_table())
            print(
                f"{name:30s} mmdata {t_ours * 1000:6.1f} ms | bare DuckDB, new connection {t_bare * 1000:6.1f} ms "
                f"(ratio {t_ours / t_bare:.2f}) | bare DuckDB, one warm connection {t_warm * 1000:6.1f} ms "
                f"(ratio {t_ours / t_warm:.2f}) | target <= 1.3 | rows {ours.num_rows}"
            )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
