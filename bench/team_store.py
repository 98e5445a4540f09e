"""A team store (PostgreSQL catalog + S3 data) against a local store (SQLite catalog + a folder), in one run.

Starts its own throwaway PostgreSQL (unix socket) and moto's S3 server (loopback) with the test
helpers in ``tests/servers.py``, and measures, each figure with its local-store baseline:

1. ``import``: N generated conversations (``bench/import_1m.py``'s generator and runner, each
   import in a fresh process); the three queries of ``bench/query.py`` on a store of Q rows that
   its ``build`` writes (median of 11; results checked equal between the two stores);
2. commits per second with W concurrent writer processes, each making M small imports of R
   records: into one shared dataset, and into one dataset per writer (a local store serialises
   every writer with its lock file; a team store only writers into the same dataset);
3. ``transcribe`` of the same audio (real espeak-ng speech, a random Whisper built offline) in
   this process, and through ``run_shards`` as 1 and as 2 local worker processes (scaling).

moto is an in-process Python emulator of S3: object-store figures here are a floor on the CPU
cost of talking S3, not network figures (no latency, no bandwidth limit, but a slow server).

    python bench/team_store.py [--n 100000] [--query-n 1000000] [--writers 1,4,8] [--commits 10]
                               [--rows 20] [--clips 8] [--sections import,query,writers,transcribe]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))
import import_1m  # noqa: E402
import query as query_bench  # noqa: E402
from common import machine, make_media, write_conversations  # noqa: E402

from tests.servers import S3_ENV, start_postgres, start_s3, stop_postgres  # noqa: E402

SECTIONS = ("import", "query", "writers", "transcribe")


class Servers:
    """A PostgreSQL cluster and a moto S3 server; ``team(root)`` makes a fresh team store at ``root``."""

    def __init__(self):
        self.pg = start_postgres()
        try:
            self.s3 = start_s3()
        except BaseException:
            stop_postgres(self.pg)
            raise
        self.saved = {k: os.environ.get(k) for k in [*S3_ENV, "AWS_ENDPOINT_URL"]}
        # Writer processes inherit these: the code under test finds the bucket as it would find AWS.
        os.environ.update({**S3_ENV, "AWS_ENDPOINT_URL": self.s3.endpoint})

    def team(self, root: Path):
        from mmdata.stores import init_store

        return init_store(root, catalog=f"postgres:{self.pg.database()}", data=f"s3://{self.s3.bucket()}/lake/")

    def close(self) -> None:
        self.s3.process.kill()
        self.s3.process.wait()
        stop_postgres(self.pg)
        for key, value in self.saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextmanager
def servers():
    started = Servers()
    try:
        yield started
    finally:
        started.close()


def local(root: Path):
    """A fresh local store at ``root``, made by one empty transaction (as ``init_store`` makes a team one)."""
    from mmdata.store.lake import Store

    store = Store(root)
    with store.transaction(locks=["_store"]):
        pass
    return store


def versions(pg) -> str:
    import duckdb

    out = subprocess.run([str(pg.bin / "postgres"), "--version"], capture_output=True, text=True)
    return f"duckdb {duckdb.__version__}, {out.stdout.strip()}"


# -- 1. import and queries ---------------------------------------------------------------------


def bench_import(tmp: Path, srv: Servers, n: int) -> None:
    images, audios = make_media(tmp / "input")
    data = tmp / "input" / f"conversations-{n}.jsonl"
    write_conversations(data, n, images, audios)
    print(f"\n## import of {n:,} conversations ({data.stat().st_size / 2**20:,.0f} MiB JSONL), each in a fresh process")
    results = {}
    for kind in ("local", "team"):
        root = tmp / f"import-{kind}"
        local(root) if kind == "local" else srv.team(root)
        results[kind] = result = import_1m.run(import_1m.RUN_IMPORT, str(data), str(root))
        assert result["imported"] == n and result["rejected"] == 0, result
        print(
            f"{kind:5s} store: {result['seconds']:6.1f} s = {n / result['seconds']:7,.0f} rows/s, "
            f"peak RSS {result['rss_mib']:,.0f} MiB"
        )
        shutil.rmtree(root, ignore_errors=True)
    print(f"team / local: {results['team']['seconds'] / results['local']['seconds']:.2f}x the time")
    data.unlink()


def bench_queries(tmp: Path, srv: Servers, n: int) -> None:
    from mmdata.querying import query

    print(f"\n## queries of bench/query.py on {n:,} conversations, median of 11 (mmdata.query on each store)")
    stores, media = {}, None
    for kind in ("local", "team"):
        root = tmp / f"query-{kind}"
        store = local(root) if kind == "local" else srv.team(root)
        start = time.perf_counter()
        media = query_bench.build(store, n)
        built = time.perf_counter() - start
        start = time.perf_counter()
        query("SELECT 1", store)
        first = time.perf_counter() - start
        print(f"{kind:5s} store: built in {built:.1f} s; first query in the process (extensions, attach) {first * 1000:.0f} ms")
        stores[kind] = store
    print(f"{'query':30s} {'local':>10s} {'team':>10s} {'team / local':>13s}")
    for name, sql in query_bench.QUERIES.items():
        text = sql.format(t="chats", media=media)
        tables = {kind: query(text, store).table for kind, store in stores.items()}
        assert tables["local"].equals(tables["team"]), name
        t = {kind: query_bench.timed(lambda text=text, store=store: query(text, store)) for kind, store in stores.items()}
        print(
            f"{name:30s} {t['local'] * 1000:7.1f} ms {t['team'] * 1000:7.1f} ms {t['team'] / t['local']:12.2f}x"
            f"   rows {tables['team'].num_rows}"
        )
    for kind in stores:
        shutil.rmtree(tmp / f"query-{kind}", ignore_errors=True)


# -- 2. concurrent writers ---------------------------------------------------------------------

WRITER = """
import json, sys, time
from mmdata.importing import import_
from mmdata.store.lake import Store
store = Store(sys.argv[1])
jobs = json.loads(sys.argv[2])
store.connect(read_only=False).close(); store.connect(read_only=True).close()  # extensions loaded, lake attached
print("ready", flush=True)
sys.stdin.readline()
start, made = time.time(), []
for path, dataset in jobs:
    made.append(import_(path, dataset, store, wait=600).version)
print(json.dumps({"start": start, "end": time.time(), "versions": made}), flush=True)
"""


def small_file(path: Path, n: int, tag: str) -> str:
    rows = [
        {
            "kind": "conversation",
            "id": f"{tag}-{i}",
            "chat": [
                {"role": "user", "content": f"{tag} soalan {i}: berapa harga durian?", "content_ms": f"[ms] {tag} {i}"},
                {"role": "assistant", "content": f"jawapan {i}: sepuluh ringgit.", "content_ms": f"[ms] jawapan {i}"},
            ],
        }
        for i in range(n)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def writers_run(root: Path, writers: int, commits: int, rows: int, shared: bool, inputs: Path) -> float:
    """Commits per second of ``writers`` processes started together; checks every version is there."""
    jobs = [
        [(small_file(inputs / f"w{w}-c{c}.jsonl", rows, f"w{w}c{c}"), "shared" if shared else f"set{w}") for c in range(commits)]
        for w in range(writers)
    ]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(root), json.dumps(job)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for job in jobs
    ]
    try:
        for proc in procs:
            line = proc.stdout.readline().strip()
            assert line == "ready", (line, proc.stderr.read()[-2000:])
        for proc in procs:
            proc.stdin.write("go\n")
            proc.stdin.flush()
        outs = [proc.communicate(timeout=900) for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    for proc, (_, err) in zip(procs, outs):
        assert proc.returncode == 0, err[-2000:]
    done = [json.loads(out.strip().splitlines()[-1]) for out, _ in outs]
    made = sorted(v for d in done for v in d["versions"])
    expected = list(range(1, writers * commits + 1)) if shared else sorted(list(range(1, commits + 1)) * writers)
    assert made == expected, made
    return writers * commits / (max(d["end"] for d in done) - min(d["start"] for d in done))


def bench_writers(tmp: Path, srv: Servers, counts: list[int], commits: int, rows: int) -> None:
    print(
        f"\n## commits per second: W writer processes started together, each making {commits} imports of "
        f"{rows} conversations (start-up excluded)"
    )
    print(f"{'writers':>7s} {'into':20s} {'local':>9s} {'team':>9s} {'team / local':>13s} {'team vs 1 writer':>17s}")
    one: dict[bool, float] = {}
    for shared in (True, False):
        for writers in counts:
            rate = {}
            for kind in ("local", "team"):
                root = tmp / f"writers-{kind}"
                local(root) if kind == "local" else srv.team(root)
                inputs = tmp / "writer-inputs"
                inputs.mkdir(exist_ok=True)
                rate[kind] = writers_run(root, writers, commits, rows, shared, inputs)
                shutil.rmtree(root, ignore_errors=True)
                shutil.rmtree(inputs, ignore_errors=True)
            one.setdefault(shared, rate["team"])
            print(
                f"{writers:7d} {'one shared dataset' if shared else 'a dataset per writer':20s} "
                f"{rate['local']:6.2f}/s {rate['team']:6.2f}/s {rate['team'] / rate['local']:12.2f}x "
                f"{rate['team'] / one[shared]:16.2f}x"
            )


# -- 3. transcribe: inline and as local shards -------------------------------------------------

SENTENCES = [
    "Selamat pagi semua, hari ini kita belajar sejarah Malaysia.",
    "The weather in Kuala Lumpur is hot and humid today.",
    "Harga durian di pasar malam naik lagi minggu ini.",
    "Nasi lemak and teh tarik make a classic Malaysian breakfast.",
    "Kereta api dari Ipoh tiba lewat sepuluh minit pagi tadi.",
]
SHAPES = {
    "test": dict(d_model=32, layers=2, heads=2, ffn=64, n_mels=80),
    "whisper-tiny": dict(d_model=384, layers=4, heads=6, ffn=1536, n_mels=80),
}


def bench_transcribe(tmp: Path, clips: int, sentences: int, shape: str) -> None:
    from mmdata.executors import run_shards
    from mmdata.importing import import_
    from mmdata.querying import query
    from mmdata.shard import in_shard
    from mmdata.transcribe import transcribe
    from mmdata.transcribe.tiny import build_tiny_whisper
    from tests.conftest import make_speech

    model = str(build_tiny_whisper(tmp / "whisper" / "tiny", **SHAPES[shape]))
    folder = tmp / "speech"
    for c in range(clips):
        text = f"Klip nombor {c}. " + " ".join(SENTENCES[(c + k) % len(SENTENCES)] for k in range(sentences))
        make_speech(folder / f"clip-{c}.wav", text, pause_s=0.5)
    store = local(tmp / "transcribe-store")
    assert import_(folder, "speech", store).imported == clips
    seconds = query("SELECT sum(duration) AS s FROM speech", store).table.to_pylist()[0]["s"]
    job = dict(source="speech", model=model, beam_size=1, batch_size=8, device="cpu", compute_type="int8")
    print(
        f"\n## transcribe: {clips} espeak-ng clips, {seconds:.0f} s of speech, random Whisper of shape {shape} "
        f"{SHAPES[shape]}, VAD chunks, ms+en passes, beam 1; local store; {os.cpu_count()} cores"
    )
    items = query("SELECT media_id, duration FROM speech", store).table.to_pylist()
    split = [sum(r["duration"] for r in items if in_shard(r["media_id"], (i, 2))) for i in range(2)]
    print(
        f"2 shards hold {split[0]:.0f} s and {split[1]:.0f} s of it (split by a hash of the media id): "
        f"at best {seconds / max(split):.2f}x on 2 shards"
    )
    runs = {}
    cpu = _cpu_seconds()
    start = time.perf_counter()
    chunks = transcribe(into="tx_inline", store=store, **job).chunks
    runs["inline, this process"] = (time.perf_counter() - start, _cpu_seconds() - cpu, chunks)
    for shards in (1, 2):
        cpu = _cpu_seconds()
        start = time.perf_counter()
        result = run_shards(transcribe, store, {**job, "into": f"tx_{shards}"}, shards=shards, executor="local", workers=shards)
        wall = time.perf_counter() - start
        runs[f"run_shards local, {shards} shard{'s' * (shards > 1)}"] = (wall, _cpu_seconds() - cpu, result.totals["chunks"])
    assert len({c for *_, c in runs.values()}) == 1, runs
    base = runs["inline, this process"][0]
    one = runs["run_shards local, 1 shard"][0]
    for name, (wall, cpu, chunks) in runs.items():
        print(
            f"{name:30s} {wall:6.1f} s {seconds / wall:7.1f} audio-s/s  speed-up vs inline {base / wall:4.2f}x, "
            f"vs 1 local shard {one / wall:4.2f}x  CPU {cpu / wall:4.2f} cores busy  ({chunks} chunks)"
        )


def _cpu_seconds() -> float:
    """User + system CPU of this process and its reaped children (a finished run_shards reaps its workers)."""
    import resource

    return sum(
        usage.ru_utime + usage.ru_stime
        for usage in (resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN))
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100_000, help="conversations to import")
    parser.add_argument("--query-n", type=int, default=1_000_000, help="conversations in the query store")
    parser.add_argument("--writers", default="1,4,8", help="concurrent writer processes, comma-separated")
    parser.add_argument("--commits", type=int, default=10, help="imports per writer")
    parser.add_argument("--rows", type=int, default=20, help="conversations per writer import")
    parser.add_argument("--clips", type=int, default=8, help="speech clips to transcribe")
    parser.add_argument("--sentences", type=int, default=6, help="sentences per clip (~3 s each)")
    parser.add_argument("--shape", choices=sorted(SHAPES), default="whisper-tiny", help="the random Whisper's shape")
    parser.add_argument("--sections", default=",".join(SECTIONS), help=f"which to run, of {','.join(SECTIONS)}")
    args = parser.parse_args()
    sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections {sorted(unknown)}")
    tmp = Path(tempfile.mkdtemp(prefix="mmdata-team-bench-"))
    try:
        with servers() as srv:
            print(f"# team store benchmark on {machine()}; {versions(srv.pg)}; S3: moto server on loopback")
            started = time.perf_counter()
            runs = {
                "import": lambda: bench_import(tmp, srv, args.n),
                "query": lambda: bench_queries(tmp, srv, args.query_n),
                "writers": lambda: bench_writers(tmp, srv, [int(w) for w in args.writers.split(",")], args.commits, args.rows),
                "transcribe": lambda: bench_transcribe(tmp, args.clips, args.sentences, args.shape),
            }
            for section in sections:
                before = os.getloadavg()[0]
                runs[section]()
                # Other work on the machine moves every figure: say how busy it was.
                print(f"(load average over 1 min: {before:.1f} before, {os.getloadavg()[0]:.1f} after; {os.cpu_count()} cores)")
            print(f"\nwhole run {time.perf_counter() - started:.0f} s")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
