"""``crawl-pages`` against the static test site (tests/crawl/site) served on 127.0.0.1: records and
their context, robots.txt and noai/tdm obeyed, per-host delays, media stored once, near-duplicates
flagged, rejects with reasons, kill -9 and resume, shards. No network."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

pytest.importorskip("scrapy")
pytest.importorskip("imagehash")
pytest.importorskip("extruct")
pytest.importorskip("trafilatura")

from typer.testing import CliRunner  # noqa: E402

from mmdata.cli import app  # noqa: E402
from mmdata.crawl.pages import crawl_pages  # noqa: E402
from mmdata.querying import query  # noqa: E402
from mmdata.store.lake import Store  # noqa: E402

SITE = Path(__file__).parent / "site"
CONTACT = "data-team@example.org"


class SiteServer:
    """The test site plus a redirect, a 404 and a slow page; remembers every request (path, time, user agent)."""

    def __init__(self):
        self.requests: list[tuple[str, float, str]] = []
        self.referers: list[str] = []
        self.lock = threading.Lock()
        server = self

        class Handler(SimpleHTTPRequestHandler):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, directory=str(SITE), **kwargs)

            def do_GET(self):  # noqa: N802 (http.server's naming)
                with server.lock:
                    server.requests.append((self.path, time.monotonic(), self.headers.get("User-Agent", "")))
                    server.referers.append(self.headers.get("Referer") or "")
                if self.path == "/old-recipe":
                    self.send_response(301)
                    self.send_header("Location", "/recipes/rendang.html")
                    self.end_headers()
                elif self.path == "/busy.html" and server.count("/busy.html") == 1:
                    self.send_response(503)  # the first time only: come back in half a second
                    self.send_header("Retry-After", "0.5")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                elif self.path == "/slow.html":
                    time.sleep(1.0)
                    self._send(b"<html><head><title>Slow</title></head><body><p>Slow, and no pictures.</p></body></html>")
                elif self.path == "/busy.html":
                    self._send(b"<html><head><title>Busy</title></head><body><p>Busy, then fine.</p></body></html>")
                elif self.path in ("/robots.txt", "/sitemap.xml"):
                    text = (SITE / self.path[1:]).read_text(encoding="utf-8").replace("__BASE__", server.url)
                    self._send(text.encode(), "text/plain" if self.path == "/robots.txt" else "application/xml")
                else:
                    super().do_GET()

            def _send(self, body: bytes, kind: str = "text/html; charset=utf-8"):
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def count(self, path: str) -> int:
        return sum(1 for p, _, _ in self.requests if p == path)

    def paths(self) -> list[str]:
        return [p for p, _, _ in self.requests]


@pytest.fixture
def site():
    server = SiteServer()
    yield server
    server.httpd.shutdown()


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    """One polite crawl of the whole site (delay 0.2 s, one request at a time), shared by the checks below."""
    server = SiteServer()
    store = Store(tmp_path_factory.mktemp("pages") / "store")
    result = crawl_pages(
        start_urls(server), "pages", store, depth=1, delay=0.2, concurrency_per_host=1, contact=CONTACT, min_image_size=100
    )
    yield store, server, result
    server.httpd.shutdown()


def rows(store, sql):
    return query(sql, store).table.to_pylist()


def start_urls(site) -> list[str]:
    return [
        f"{site.url}/index.html",
        f"{site.url}/old-recipe",
        f"{site.url}/missing.html",
        f"{site.url}/slow.html",
        f"{site.url}/busy.html",
    ]


def test_records_carry_their_page_context(crawled):
    store, site, result = crawled
    records = {r["source_url"].removeprefix(site.url): r for r in rows(store, "SELECT * FROM pages")}
    recipe = records["/recipes/nasi-lemak.html"]
    attributes = json.loads(recipe["attributes"])
    assert attributes["schema_type"] == "Recipe" and attributes["language"] == "ms"
    assert attributes["page_url"] == f"{site.url}/recipes/nasi-lemak.html"
    assert attributes["image_url"] == f"{site.url}/img/nasi-lemak.jpg"
    assert "2 cawan beras" in attributes["fields"]["ingredients"] and len(attributes["fields"]["steps"]) == 4
    assert attributes["crawled_at"].startswith("20") and attributes["alt"] == recipe["caption"]
    assert recipe["title"] == "Nasi Lemak Sambal Bilis" and recipe["description"].startswith("Nasi lemak ialah")
    assert recipe["width"] >= 100 and recipe["height"] >= 100
    rendang = json.loads(records["/recipes/rendang.html"]["attributes"])
    assert rendang["language"] == "en" and "creativecommons.org/licenses/by/4.0" in records["/recipes/rendang.html"]["license"]
    car = json.loads(records["/cars/myvi.html"]["attributes"])
    assert car["schema_type"] in ("Car", "Vehicle", "Product") and car["fields"].get("specs")
    assert result.images == len(rows(store, "SELECT id FROM pages")) and result.version


def test_robots_noai_tdm_and_errors_are_obeyed_and_rejected(crawled):
    store, site, result = crawled
    assert site.count("/private/secret.html") == 0  # disallowed by robots.txt: never requested
    assert site.count("/robots.txt") == 1
    # The refused pages' pictures are never fetched for them; every picture is fetched once.
    assert not [r for r in site.referers if r.endswith(("/noai.html", "/tdm.html"))]
    assert site.count("/img/rendang.jpg") == 1 and site.count("/img/news.jpg") == 1
    rejects = {
        (r["file"].removeprefix(site.url), r["rule"])
        for r in rows(store, "SELECT file, rule FROM _rejects WHERE dataset = 'pages'")
    }
    assert ("/private/secret.html", "robots") in rejects
    assert ("/noai.html", "noai") in rejects or ("/noai.html", "noimageai") in rejects
    assert ("/tdm.html", "tdm-reservation") in rejects
    assert ("/missing.html", "http-404") in rejects
    assert ("/img/tiny.png", "image-too-small") in rejects and ("/tiny.html", "no-usable-image") in rejects
    assert ("/img/broken.jpg", "image-undecodable") in rejects
    assert ("/slow.html", "no-usable-image") in rejects
    sources = {r["source_url"] for r in rows(store, "SELECT source_url FROM pages")}
    assert not any("menu.pdf" in s or "noai" in s or "tdm" in s for s in sources)  # the PDF never became a record
    assert result.failures_by_reason["robots"] == 1


def test_redirect_followed_and_polite_requests(crawled):
    store, site, result = crawled
    assert site.count("/old-recipe") == 1 and site.count("/recipes/rendang.html") >= 1
    assert all(ua == f"mmdata/{__import__('mmdata').__version__} (+{CONTACT})" for _, _, ua in site.requests)
    times = sorted(t for _, t, _ in site.requests)
    gaps = [b - a for a, b in zip(times, times[1:])]
    # One host, one request at a time, 0.2 s apart (the server sees them with some ms of jitter).
    assert min(gaps) >= 0.2 * 0.75 and sorted(gaps)[len(gaps) // 2] >= 0.19, gaps
    assert "tip: --contact" not in result.message
    busy = [t for p, t, _ in site.requests if p == "/busy.html"]
    assert len(busy) == 2 and busy[1] - busy[0] >= 0.5 * 0.9  # the 503's Retry-After waited out, then retried


def test_same_picture_stored_once_and_near_duplicate_flagged(crawled):
    store, site, result = crawled
    records = {r["source_url"].removeprefix(site.url): r for r in rows(store, "SELECT * FROM pages")}
    recipe, copy = records["/recipes/nasi-lemak.html"], records["/near-duplicate.html"]
    # same-image.html shows the recipe's very file: stored once, and its one record keeps the recipe's context
    assert "/same-image.html" not in records and site.count("/img/nasi-lemak.jpg") == 1
    assert json.loads(recipe["attributes"])["schema_type"] == "Recipe"
    assert len(rows(store, f"SELECT * FROM _media WHERE id = '{recipe['media_id']}'")) == 1
    assert not rows(store, "SELECT * FROM _rejects WHERE file LIKE '%/same-image.html'")  # not a failure either
    # The resized copy is flagged against whichever of the two the crawl met first.
    flags = {json.loads(r["attributes"]).get("near_duplicate_of") for r in (recipe, copy)}
    assert flags - {None} in ({recipe["media_id"]}, {copy["media_id"]})


def _done(store, name: str) -> list[str]:
    path = store.runs / f"crawl-pages-{name}" / "done.txt"
    return path.read_text().splitlines() if path.exists() else []


def test_kill_9_then_resume_refetches_nothing_finished(store, site, tmp_path):
    script = tmp_path / "run.py"
    script.write_text(
        "import sys\nfrom mmdata.crawl.pages import crawl_pages\n"
        f"crawl_pages([{site.url + '/index.html'!r}], 'pages', {str(store.root)!r}, depth=1, delay=0.15,"
        " concurrency_per_host=1, min_image_size=100, checkpoint=3)\n"
    )
    driver = subprocess.Popen([sys.executable, str(script)], cwd=Path(__file__).parents[2])
    deadline = time.monotonic() + 30
    while len(_done(store, "pages")) < 4 and time.monotonic() < deadline and driver.poll() is None:
        time.sleep(0.05)
    os.kill(driver.pid, signal.SIGKILL)
    driver.wait()
    finished = [u.removeprefix(site.url) for u in _done(store, "pages")]
    assert len(finished) >= 4
    time.sleep(0.6)  # the orphaned crawler notices its parent is gone and stops
    before = len(site.requests)
    result = crawl_pages([f"{site.url}/index.html"], "pages", store, depth=1, delay=0.0, min_image_size=100)
    again = [p for p, _, _ in site.requests[before:]]
    assert not set(finished) & set(again), (finished, again)
    assert result.already == len(finished) and result.pages > 0
    pages = {r["source_url"].removeprefix(site.url) for r in rows(store, "SELECT source_url FROM pages")}
    assert {"/recipes/nasi-lemak.html", "/recipes/rendang.html", "/cars/myvi.html", "/plain/page.html"} <= pages


def test_shards_cover_each_page_once(store, site):
    def shard(i: int):
        return crawl_pages(
            [f"{site.url}/index.html"], "pages", store, depth=1, delay=0.0, min_image_size=100, shard=f"{i}/2", wait=60
        )

    with ThreadPoolExecutor(2) as pool:  # two machines at once, as shards run; they take turns committing
        results = list(pool.map(shard, range(2)))
    done = [set(_shard_done(store, i)) for i in range(2)]
    assert done[0] and done[1] and not done[0] & done[1]
    assert all(r.pages for r in results)
    keys = done[0] | done[1]
    assert f"{site.url}/recipes/nasi-lemak.html" in keys and f"{site.url}/index.html" in keys


def _shard_done(store, i: int) -> list[str]:
    path = store.runs / f"crawl-pages-pages-shard-{i}-of-2" / "done.txt"
    return path.read_text().splitlines()


def test_sitemap_and_cli(store, site):
    out = CliRunner().invoke(
        app,
        [
            "--store",
            str(store.root),
            "crawl-pages",
            "--sitemap",
            f"{site.url}/sitemap.xml",
            "--into",
            "recipes",
            "--include",
            "/recipes/",
            "--depth",
            "0",
            "--delay",
            "0",
            "--min-image-size",
            "100",
            "--json",
        ],
    )
    assert out.exit_code == 0, out.output
    result = json.loads(out.output)
    assert result["images"] == 2 and "tip: --contact" in result["message"]
    assert site.count("/cars/myvi.html") == 0  # excluded by --include
    ua = next(ua for p, _, ua in site.requests if p == "/recipes/rendang.html")
    assert ua.startswith("mmdata/") and "(+" not in ua


def test_picture_checks_without_a_crawl(store):
    from mmdata.crawl.pages.images import ImageRejected, PictureIndex, keep_image

    index, img = PictureIndex(), SITE / "img"
    first = keep_image((img / "nasi-lemak.jpg").read_bytes(), store.media, index, 100)
    copy = keep_image((img / "nasi-lemak-copy.jpg").read_bytes(), store.media, index, 100)
    again = keep_image((img / "nasi-lemak.jpg").read_bytes(), store.media, index, 100)
    other = keep_image((img / "klcc.jpg").read_bytes(), store.media, index, 100)
    assert first.near_duplicate_of is None and copy.near_duplicate_of == first.media.id
    assert again.media.id == first.media.id and again.near_duplicate_of is None  # its first flag, not the copy
    assert other.near_duplicate_of is None
    for name, rule in (("tiny.png", "image-too-small"), ("broken.jpg", "image-undecodable")):
        with pytest.raises(ImageRejected) as caught:
            keep_image((img / name).read_bytes(), store.media, index, 100)
        assert caught.value.rule == rule
