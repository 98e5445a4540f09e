"""`mmdata browse` over a 1,000,000-conversation dataset vs bare DuckDB over the same Parquet files.

Builds the dataset the way bench/query.py does (straight into the lake), serves the app with
uvicorn on a loopback port (real HTTP, one keep-alive connection), and times, median of 7 after
one untimed request: time to first byte (status line and headers in) and full load (the whole
body) of the records page (50 conversations): the first page, a deep page (keyset paging with
``after=``, 900,000 rows in), the filter page (a SQL WHERE) and a text search; and an image's
thumbnail, first (made from a 1920x1080 JPEG) and then cached. Each page is compared with a bare
DuckDB query of the same rows on one warm connection (`SELECT * ... ORDER BY id LIMIT 51`, what
the page fetches: one row more tells it there is a next page); the thumbnail with making the
same thumbnail with Pillow directly, and the cached one with reading its file.

    python bench/browse.py [N]
"""

from __future__ import annotations

import glob
import http.client
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

import duckdb

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent))
from common import machine  # noqa: E402
from query import build  # noqa: E402

from mmdata.store.lake import Store  # noqa: E402
from tests.browse.browser import serving  # noqa: E402

REPEAT = 7


def _median(fn, repeat: int = REPEAT) -> tuple[float, ...]:
    """Per position, the median over ``repeat`` calls of ``fn`` (which returns a tuple of seconds), after one untimed call."""
    fn()
    runs = [fn() for _ in range(repeat)]
    return tuple(statistics.median(run[i] for run in runs) for i in range(len(runs[0])))


def _get(conn: http.client.HTTPConnection, path: str) -> tuple[float, float, bytes]:
    start = time.perf_counter()
    conn.request("GET", path)
    response = conn.getresponse()
    first = time.perf_counter()  # the status line and headers are in: the first bytes
    body = response.read()
    end = time.perf_counter()
    if response.status != 200:
        raise SystemExit(f"GET {path}: {response.status} {body[:300]!r}")
    return first - start, end - start, body


def _photo(path: Path) -> Path:
    """A 1920x1080 JPEG with detail in it (a gradient under noise), like a camera's picture."""
    from PIL import Image

    noise = Image.effect_noise((1920, 1080), 64).convert("RGB")
    gradient = Image.linear_gradient("L").resize((1920, 1080)).convert("RGB")
    Image.blend(noise, gradient, 0.5).save(path, quality=90)
    return path


def main(n: int) -> None:
    from mmdata.browse import create_app
    from mmdata.browse.records import list_records
    from mmdata.browse.thumbs import render, thumb_path

    print(f"# browse benchmark on {machine()}, {n:,} conversations; load average {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "store")
        start = time.perf_counter()
        media = build(store, n)
        image = store.media.add(_photo(Path(tmp) / "photo.jpg")).id
        files = sorted(glob.glob(str(store.root / "data" / "main" / "chats" / "*.parquet")))
        print(f"built in {time.perf_counter() - start:.1f} s: {len(files)} Parquet file(s)")
        source = "read_parquet([" + ", ".join(f"'{f}'" for f in files) + "])"
        warm = duckdb.connect()
        deep = warm.execute(f"SELECT id FROM {source} ORDER BY id LIMIT 1 OFFSET {n * 9 // 10}").fetchone()[0]
        where = f"list_contains(images, '{media}')"
        pattern = f"%user {n // 2} nasi%"
        search = "len(list_filter(chat, lambda t: t.content ILIKE ? OR t.content_ms ILIKE ?)) > 0"
        cases = [
            ("first page", {}, "", []),
            (f"deep page (after={deep}, 90% in)", {"after": deep}, f"WHERE id > '{deep}'", []),
            ("filter page (WHERE list_contains(images, ...))", {"where": where}, f"WHERE {where}", []),
            (f"text search ({pattern.strip('%')!r})", {"q": pattern.strip("%")}, f"WHERE {search}", [pattern, pattern]),
        ]
        # Keep-alive long enough to outlast the DuckDB timings between two requests.
        with serving(create_app(store), timeout_keep_alive=600) as url:
            conn = http.client.HTTPConnection(url.removeprefix("http://"), timeout=120)
            start = time.perf_counter()
            _get(conn, "/d/chats")
            print(
                f"first page in a fresh process (extensions loaded, the lake attached): "
                f"{(time.perf_counter() - start) * 1000:.0f} ms"
            )
            print(load_line())
            for name, params, condition, values in cases:
                path = "/d/chats" + ("?" + urlencode(params) if params else "")
                sql = f"SELECT * FROM {source} {condition} ORDER BY id LIMIT 51"
                cursor = warm.execute(sql, values)
                column = [d[0] for d in cursor.description].index("id")
                rows = [(row[column],) for row in cursor.fetchall()]
                body = _get(conn, path)[2].decode()
                shown = [r[0] for r in rows[:50]]
                ids = re.findall(r'<article class="record[^>]* data-id="([^"]*)"', body)
                assert ids == [str(i) for i in shown], (name, ids[:3], shown[:3])  # the same rows as DuckDB's
                ttfb, full = _median(lambda path=path: _get(conn, path)[:2])
                asked = {{"q": "search"}.get(k, k): v for k, v in params.items()}  # the URL's names -> list_records'
                (library,) = _median(lambda asked=asked: (_once(lambda: list_records(store, "chats", **asked)),))
                (bare,) = _median(lambda sql=sql, values=values: (_once(lambda: warm.execute(sql, values).fetchall()),))
                print(
                    f"{name:52s} TTFB {ttfb * 1000:7.1f} ms | full load {full * 1000:7.1f} ms ({len(body) // 1024} KiB) "
                    f"| bare DuckDB {bare * 1000:7.1f} ms | ratio {full / bare:5.2f} | rows {len(shown)} "
                    f"| the page's query alone (list_records) {library * 1000:7.1f} ms"
                )
            target = thumb_path(store, image)

            def first_thumb():
                target.unlink(missing_ok=True)
                return _get(conn, f"/thumb/{image}")[:2]

            ttfb, full = _median(first_thumb)
            source_file = store.media.find(image)
            (bare,) = _median(lambda: (_once(lambda: render(source_file, Path(tmp) / "bare.jpg")),))
            print(
                f"{'thumbnail, first (1920x1080 JPEG -> 256 px)':52s} TTFB {ttfb * 1000:7.1f} ms | full load {full * 1000:7.1f} ms "
                f"| Pillow alone {bare * 1000:7.1f} ms | ratio {full / bare:5.2f}"
            )
            ttfb, full = _median(lambda: _get(conn, f"/thumb/{image}")[:2])
            (bare,) = _median(lambda: _get(conn, "/static/app.css")[1:2])
            print(
                f"{'thumbnail, cached':52s} TTFB {ttfb * 1000:7.1f} ms | full load {full * 1000:7.1f} ms "
                f"| a static file of the app {bare * 1000:7.1f} ms | ratio {full / bare:5.2f} ({target.stat().st_size // 1024} KiB)"
            )
            print(load_line())


def _once(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def load_line() -> str:
    return "load average (1, 5, 15 min): " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
