"""`mmdata mix` on 1,000,000 conversations from three sources vs a hand-written polars pipeline.

Both do the same work in the same run: weights 5:3:2 over three sources, a per-record language
mix (ms 0.5 / en 0.5, Malay where it exists), exact dedupe on the normalised chat text, and a
written Parquet result. mmdata also writes a versioned dataset, its lineage and its report.
Target: ratio <= 1.5.

    python bench/mix.py [N] [--no-near] [--rounds R]
"""

from __future__ import annotations

import glob
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import machine  # noqa: E402

from mmdata.mix import mix  # noqa: E402
from mmdata.store.lake import Store  # noqa: E402
from mmdata.store.versions import Lineage, record_version  # noqa: E402


def source_frame(n: int, tag: str, duplicate_every: int) -> pl.DataFrame:
    i = pl.int_range(0, n, eager=True)
    base = pl.DataFrame({"i": i}).with_columns(
        # every `duplicate_every`-th record repeats an earlier one's text (dedupe has work to do)
        (pl.when(pl.col("i") % duplicate_every == 0).then(pl.col("i") // 2).otherwise(pl.col("i"))).alias("t")
    )

    def turn(role: str, col: pl.Expr) -> pl.Expr:
        return pl.struct(
            pl.lit(role).alias("role"),
            pl.format(f"{role} {tag} {{}} nasi lemak", pl.col("t")).alias("content"),
            col.alias("content_ms"),
        )

    malay = pl.when(pl.col("i") % 5 == 0).then(pl.lit(None, pl.String)).otherwise(pl.format(f"ms {tag} {{}} nasi", pl.col("t")))
    return base.with_columns(
        pl.format(f"{tag}-{{}}", pl.col("i")).alias("id"),
        pl.format(f"{tag}-{{}}", pl.col("i")).alias("key"),
        pl.lit("text").alias("kind"),
        pl.lit(None, pl.String).alias("context"),
        pl.concat_list([turn("user", malay), turn("assistant", malay)]).alias("chat"),
        pl.lit([], pl.List(pl.String)).alias("images"),
        pl.lit([], pl.List(pl.String)).alias("audios"),
        pl.lit(None, pl.String).alias("generation"),
        pl.lit([], pl.List(pl.String)).alias("source"),
        pl.lit(None, pl.String).alias("extra"),
    ).drop("i", "t")


class Phases:
    """A progress callback that times each phase of the mix, from its first report to its last."""

    def __init__(self):
        self.spans: dict[str, list[float]] = {}

    def __call__(self, task, done, total=None, note=None):
        now = time.perf_counter()
        self.spans.setdefault(task, [now, now])[1] = now

    def __str__(self):
        return ", ".join(f"{task} {end - begin:.2f} s" for task, (begin, end) in self.spans.items())


def polars_pipeline(files: dict[str, list[str]], weights: dict[str, int], out: Path, seed: int) -> int:
    """The same mixture by hand: dedupe, weights, per-record language, write."""
    frames = []
    for order, (name, paths) in enumerate(files.items()):
        frames.append(pl.scan_parquet(paths).with_columns(pl.lit(order).alias("src"), pl.lit(name).alias("src_name")))
    data = pl.concat(frames).with_columns(
        pl.col("chat")
        .list.eval(pl.element().struct.field("content"))
        .list.join(" ")
        .str.to_lowercase()
        .str.replace_all(r"\s+", " ")
        .str.strip_chars()
        .hash(seed)
        .alias("norm")
    )
    data = data.sort("src", "id").unique("norm", keep="first", maintain_order=True).collect()
    available = {name: data.filter(pl.col("src_name") == name).height for name in files}
    total_weight = sum(weights.values())
    room = min(available[n] * total_weight // weights[n] for n in files)
    picked = []
    for name in files:
        want = round(room * weights[name] / total_weight)
        part = data.filter(pl.col("src_name") == name)
        picked.append(part.with_columns(pl.col("id").hash(seed).alias("h")).sort("h").head(want))
    mixed = pl.concat(picked)
    has_malay = pl.col("chat").list.eval(pl.element().struct.field("content_ms").is_null()).list.any().not_()
    choose_ms = ((pl.col("id").hash(seed + 1) % 1000) < 500) & has_malay
    mixed = mixed.with_columns(
        pl.when(choose_ms)
        .then(
            pl.col("chat").list.eval(
                pl.struct(pl.element().struct.field("role"), pl.element().struct.field("content_ms").alias("content"))
            )
        )
        .otherwise(pl.col("chat").list.eval(pl.struct(pl.element().struct.field("role"), pl.element().struct.field("content"))))
        .alias("chat"),
        pl.when(choose_ms).then(pl.lit("ms")).otherwise(pl.lit("en")).alias("language"),
    )
    mixed.drop("norm", "h").sort(pl.col("id").hash(seed + 2)).write_parquet(out)
    return mixed.height


# A process's own peak RSS. Not ru_maxrss: Linux carries the spawning parent's peak into a child
# across fork and exec, so a child of this (2+ GiB) process would report the parent's figure.
PEAK = """
import resource
def peak_mib():
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) / 1024 for line in status if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
"""

NEAR = (
    PEAK
    + """
import random, sys, time
from types import SimpleNamespace
import duckdb
from mmdata.mix.filters import NEAR_DEDUPE, apply_filter
from mmdata.mix.near import default_workers
from mmdata.mix.state import MixState
n = int(sys.argv[1])
rng = random.Random(0)
words = "nasi lemak teh tarik durian kampung pasar malam kuala lumpur penang laksa wau songket batik rumah".split()
texts = [" ".join(rng.choice(words) for _ in range(30)) for _ in range(n)]
for i in range(0, n, 20):  # 1 in 20 is a near copy of the one before it: one word of 30 changed
    if i + 1 < n:
        w = texts[i].split(); w[25] = "sambal"; texts[i + 1] = " ".join(w)
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")
workers = None if sys.argv[2] == "auto" else int(sys.argv[2])
state = MixState(con, SimpleNamespace(filters={"near_dedupe": {"threshold": 0.7, "fields": ["user"]}}), workers=workers,
                 plans=[SimpleNamespace(removed={})])
con.execute("CREATE TEMP TABLE src AS SELECT unnest(?) AS t", [texts])
con.execute(f"CREATE TEMP TABLE {state.records} AS SELECT 0 AS src, 'r' || lpad((row_number() OVER ())::VARCHAR, 9, '0') AS id, "
            "[{'role': 'user', 'content': t}] AS chat, NULL::VARCHAR AS context FROM src")
con.execute(f"CREATE TEMP TABLE {state.candidates} AS SELECT src, id FROM {state.records}")  # the key table, as mix builds it
con.execute("DROP TABLE src")
del texts
start = time.perf_counter()
apply_filter(state, NEAR_DEDUPE)
seconds = time.perf_counter() - start
print(seconds, state.plans[0].removed.get("near_dedupe", 0), peak_mib(),
      default_workers(n) if workers is None else workers)
"""
)


WORKER = (
    PEAK
    + """
import random, sys
from mmdata.mix.near import signatures
rng = random.Random(0)
words = "nasi lemak teh tarik durian kampung pasar malam kuala lumpur penang laksa wau songket batik rumah".split()
texts = [" ".join(rng.choice(words) for _ in range(30)) for _ in range(int(sys.argv[1]))]
for _ in range(3):
    signatures(texts, 64)
print(peak_mib())
"""
)


def near(n: int) -> None:
    """Near-dedupe alone, in a fresh process (its peak RSS is the figure), in one process and then
    with the default worker processes for the signatures: the same rows go either way."""
    import subprocess

    print(f"near-dedupe of {n:,} short texts (30 words each, 1 in 20 a one-word edit; MinHash 64 perms, LSH at 0.7):")
    runs = []
    # A worker's own peak, measured in a process doing just what a worker does.
    worker_rss = float(
        subprocess.run(
            [sys.executable, "-c", WORKER, "20000"],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parents[1],
        ).stdout
    )
    for workers in ("0", "auto"):
        out = subprocess.run(
            [sys.executable, "-c", NEAR, str(n), workers],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parents[1],
        ).stdout.split()
        seconds, removed, rss, used = float(out[0]), int(out[1]), float(out[2]), int(out[3])
        runs.append(seconds)
        total = rss + used * worker_rss
        print(
            f"  {used} worker processes: {seconds:.1f} s = {n / seconds:,.0f} rows/s, {removed:,} near copies removed, "
            f"peak RSS {rss:,.0f} MiB"
            + (f" + {used} x {worker_rss:,.0f} MiB per worker" if used else "")
            + f" (target < 4 GiB: {total < 4096})"
        )
    print(f"  speed-up from the workers: {runs[0] / runs[1]:.2f}x")


def main(n: int, rounds: int = 5) -> None:
    print(f"# mix benchmark on {machine()}, {n:,} conversations in three sources")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        store = Store(tmp / "store")
        sizes = {"a": n // 2, "b": n * 3 // 10, "c": n - n // 2 - n * 3 // 10}
        start = time.perf_counter()
        for name, size in sizes.items():
            frame = source_frame(size, name, duplicate_every=50)
            with store.transaction() as con:
                con.register("frame", frame.to_arrow())
                con.execute(f'CREATE TABLE lake."{name}" AS SELECT * FROM frame')
                record_version(con, name, "conversation", Lineage("bench"), {"rows": size})
        print(f"sources built in {time.perf_counter() - start:.1f} s")
        files = {name: sorted(glob.glob(str(store.root / "data" / "main" / name / "*.parquet"))) for name in sizes}
        # This machine's timings drift by +-20% with its neighbours' load: the two pipelines take
        # turns, `rounds` rounds each, and the medians are compared. A first round warms both up
        # (one-off costs: mmdata opens the store's reader, a fresh DuckDB instance loading its
        # extensions; caches are cold) and is shown but not counted.
        ours, theirs = [], []
        for round_ in range(rounds + 1):
            spec = tmp / f"spec{round_}.yaml"
            spec.write_text(
                f"name: mixed{round_}\nseed: 1\nlanguage: {{mix: {{ms: 0.5, en: 0.5}}}}\ndedupe: {{exact: [chat]}}\n"
                "sources:\n  - {dataset: a, weight: 5}\n  - {dataset: b, weight: 3}\n  - {dataset: c, weight: 2}\n"
            )
            phases = Phases()
            start = time.perf_counter()
            result = mix(spec, store, progress=phases)
            mine = time.perf_counter() - start
            start = time.perf_counter()
            rows = polars_pipeline(files, {"a": 5, "b": 3, "c": 2}, tmp / f"polars{round_}.parquet", seed=1)
            polars_s = time.perf_counter() - start
            if round_:
                ours.append(mine)
                theirs.append(polars_s)
            print(
                f"  {f'round {round_}' if round_ else 'warm-up'}: mmdata mix {mine:.2f} s ({result.rows:,} rows) | "
                f"polars {polars_s:.2f} s ({rows:,} rows) | ratio {mine / polars_s:.2f}\n    mmdata's phases: {phases}"
            )
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        ours_s, theirs_s = statistics.median(ours), statistics.median(theirs)
        print(
            f"median: mmdata mix {ours_s:.2f} s (versioned + report) | polars by hand {theirs_s:.2f} s "
            f"| ratio {ours_s / theirs_s:.2f} (target <= 1.5) | peak RSS of the process {rss:,.0f} MiB"
        )


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    size = int(args[0]) if args else 1_000_000
    main(size, int(sys.argv[sys.argv.index("--rounds") + 1]) if "--rounds" in sys.argv else 5)
    if "--no-near" not in sys.argv:
        near(size)
