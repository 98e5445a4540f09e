"""Page crawl (issue 16): crawl throughput against its politeness limit, and extraction cost per page.

(a) ``crawl_pages`` over a loopback site of N generated pages (one JSON-LD Recipe and one distinct
    picture each, listed in a sitemap), every response held back a fixed latency. Pictures are
    fetched by the same Scrapy slot as pages, so a page costs two requests, and the limit in pages/s
    is ``min(concurrency / latency, 1 / delay) / 2``. Achieved is measured two ways: the whole call
    (the Scrapy child's start, robots.txt and the sitemap included) and the steady state (the
    server's first to last page request). The ratio is steady-state achieved / limit.
(b) ``extract_page`` on a real-sized page (~150 KB: head scripts and styles, a mega-menu, a long
    article, comments, a footer, a JSON-LD Recipe): CPU ms/page, against lxml parsing the same page
    (the floor any extraction pays) as the baseline.

    python bench/crawl_pages.py [--pages 120] [--latency 0.05] [--only a|b]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import WORDS, machine  # noqa: E402

MALAY = (
    "nasi dimasak dengan santan dan daun pandan sehingga wangi kemudian dihidangkan bersama sambal bilis "
    "yang pedas telur rebus kacang goreng dan hirisan timun resipi ini mudah untuk keluarga"
).split()


# --- (b) a real-sized page ---


def big_page(seed: int = 0, target_kb: int = 150) -> str:
    """A recipe page shaped like a real one: most bytes are boilerplate, not the recipe."""
    rng = random.Random(seed)

    def sentence(n: int) -> str:
        return " ".join(rng.choice(MALAY + WORDS) for _ in range(n)).capitalize() + "."

    script = "window.dataLayer=window.dataLayer||[];" + "".join(
        f"function f{i}(a,b){{var x{i}=a*{i}+b;return x{i}.toString(16)+'{sentence(3)}';}}" for i in range(300)
    )
    style = "".join(f".c{i}{{margin:{i % 17}px;padding:{i % 5}px;color:#{i * 4099 % 0xFFFFFF:06x}}}" for i in range(600))
    menu = "".join(
        f'<li><a href="/kategori/{i}/">{sentence(2)}</a><ul>'
        + "".join(f'<li><a href="/kategori/{i}/{j}/">{sentence(2)}</a></li>' for j in range(8))
        + "</ul></li>"
        for i in range(25)
    )
    ingredients = [f"{rng.randint(1, 5)} cawan {rng.choice(MALAY)}" for _ in range(12)]
    steps = [sentence(rng.randint(10, 25)) for _ in range(8)]
    recipe = {
        "@context": "https://schema.org",
        "@type": "Recipe",
        "name": "Nasi Lemak Sambal Bilis",
        "description": sentence(25),
        "image": ["/img/nasi-lemak-1200.jpg", "/img/nasi-lemak-800.jpg"],
        "recipeCuisine": "Malaysian",
        "prepTime": "PT20M",
        "cookTime": "PT40M",
        "totalTime": "PT1H",
        "recipeIngredient": ingredients,
        "recipeInstructions": [{"@type": "HowToStep", "text": s} for s in steps],
        "author": {"@type": "Person", "name": "Dapur Ujian"},
        "aggregateRating": {"@type": "AggregateRating", "ratingValue": 4.7, "ratingCount": 312},
    }
    article = "".join(
        f"<h2>{sentence(4)}</h2>"
        + "".join(f"<p>{sentence(rng.randint(30, 60))}</p>" for _ in range(4))
        + (
            f'<figure><img src="/img/step-{i}.jpg" srcset="/img/step-{i}-400.jpg 400w, /img/step-{i}-800.jpg 800w" alt="{sentence(6)}"></figure>'
        )
        for i in range(12)
    )
    comments = "".join(
        f'<div class="comment c{i}"><b>pembaca{i}</b><p>{sentence(rng.randint(8, 30))}</p><a href="/balas/{i}">Balas</a></div>'
        for i in range(60)
    )
    footer = "".join(f'<a href="/halaman/{i}">{sentence(2)}</a> ' for i in range(120))
    html = (
        '<!DOCTYPE html><html lang="ms"><head><meta charset="utf-8"><title>Resipi Nasi Lemak Sambal Bilis | Dapur Ujian</title>'
        f'<meta name="description" content="{sentence(20)}"><meta property="og:image" content="/img/nasi-lemak-1200.jpg">'
        f"<style>{style}</style><script>{script}</script>"
        f'<script type="application/ld+json">{json.dumps(recipe, ensure_ascii=False)}</script></head><body>'
        f'<header><nav><ul class="menu">{menu}</ul></nav></header>'
        f'<main><article><h1>Nasi Lemak Sambal Bilis</h1><img src="/img/nasi-lemak-800.jpg" alt="Sepinggan nasi lemak">'
        f"{article}<h2>Bahan-bahan</h2><ul>{''.join(f'<li>{x}</li>' for x in ingredients)}</ul>"
        f"<h2>Cara memasak</h2><ol>{''.join(f'<li>{x}</li>' for x in steps)}</ol></article>"
        f'<section class="comments">{comments}</section></main>'
        f"<aside>{''.join(f'<div class=ad{i}><script>{script[:400]}</script></div>' for i in range(10))}</aside>"
        f"<footer>{footer}<p>Hak cipta Dapur Ujian.</p></footer></body></html>"
    )
    # pad with comments to the target size so the figure is per a known page size
    while len(html.encode()) < target_kb * 1024:
        html = html.replace("</section>", comments[:4000] + "</section>", 1)
    return html


def extraction(repeats: int) -> dict:
    import extruct
    import lxml.html

    from mmdata.crawl.pages.extract import SYNTAXES, _main_text, extract_page

    pages = [big_page(seed) for seed in range(4)]
    size = sum(len(p.encode()) for p in pages) / len(pages)
    url = "https://dapur.example/resipi/nasi-lemak"
    facts = extract_page(url, pages[0])  # warm: imports, trafilatura's and extruct's first-call setup
    assert facts.schema_type == "Recipe" and facts.fields.get("ingredients"), facts

    def cpu_ms(fn) -> float:
        start = time.process_time()
        for i in range(repeats):
            fn(pages[i % len(pages)])
        return (time.process_time() - start) * 1000 / repeats

    extract = cpu_ms(lambda page: extract_page(url, page))
    parse = cpu_ms(lambda page: lxml.html.fromstring(page))
    # where the time goes: each extruct syntax (each parses the page itself) and trafilatura's main text
    parts = {
        syntax: cpu_ms(lambda page, s=syntax: extruct.extract(page, base_url=url, syntaxes=[s], uniform=True, errors="ignore"))
        for syntax in SYNTAXES
    }
    parts["trafilatura"] = cpu_ms(lambda page: _main_text(page, url))
    return {
        "size_kb": size / 1024,
        "extract_ms": extract,
        "parse_ms": parse,
        "parts": parts,
        "images": len(facts.images),
        "text_chars": len(facts.text),
    }


# --- (a) crawl throughput ---


def site_handler(pages: int, latency: float, images: dict[int, bytes], log: list):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):  # noqa: N802 (http.server's naming)
            base = f"http://127.0.0.1:{self.server.server_address[1]}"
            path = self.path
            if path == "/robots.txt":
                body, kind = f"User-agent: *\nAllow: /\nSitemap: {base}/sitemap.xml\n".encode(), "text/plain"
            elif path == "/sitemap.xml":
                urls = "".join(f"<url><loc>{base}/p/{i}.html</loc></url>" for i in range(pages))
                body = (
                    f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'.encode()
                )
                kind = "application/xml"
            elif path.startswith("/p/"):
                log.append(time.monotonic())
                time.sleep(latency)
                i = int(path[3:].split(".")[0])
                body, kind = small_page(i).encode(), "text/html; charset=utf-8"
            elif path.startswith("/img/"):
                time.sleep(latency)
                body, kind = images[int(path[5:].split(".")[0])], "image/jpeg"
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    return Handler


def small_page(i: int) -> str:
    recipe = {
        "@context": "https://schema.org",
        "@type": "Recipe",
        "name": f"Resipi {i}",
        "description": f"Resipi nombor {i} dengan santan dan daun pandan.",
        "image": f"/img/{i}.jpg",
        "recipeIngredient": ["2 cawan beras", "1 cawan santan"],
        "recipeInstructions": [{"@type": "HowToStep", "text": "Masak beras bersama santan."}],
    }
    return (
        f'<!DOCTYPE html><html lang="ms"><head><meta charset="utf-8"><title>Resipi {i}</title>'
        f'<script type="application/ld+json">{json.dumps(recipe)}</script></head><body><main><article>'
        f'<h1>Resipi {i}</h1><img src="/img/{i}.jpg" alt="Hidangan {i}"><p>{" ".join(MALAY)}</p></article></main></body></html>'
    )


def picture(i: int) -> bytes:
    """A distinct 320x240 JPEG per page (random blocks), so none is a duplicate of another."""
    from PIL import Image

    rng = random.Random(i)
    image = Image.new("RGB", (8, 6))
    image.putdata([tuple(rng.randrange(256) for _ in range(3)) for _ in range(48)])
    out = io.BytesIO()
    image.resize((320, 240), Image.NEAREST).save(out, "JPEG", quality=80)
    return out.getvalue()


def crawl_run(pages: int, latency: float, delay: float, concurrency: int) -> dict:
    from mmdata.crawl.pages import crawl_pages
    from mmdata.store.lake import Store

    log: list[float] = []
    images = {i: picture(i) for i in range(pages)}
    server = ThreadingHTTPServer(("127.0.0.1", 0), site_handler(pages, latency, images, log))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with tempfile.TemporaryDirectory() as tmp:
            store = Store(Path(tmp) / "store")
            cpu = _cpu()
            start = time.perf_counter()
            result = crawl_pages(
                [],
                into="bench_pages",
                store=store,
                sitemaps=[f"{base}/sitemap.xml"],
                delay=delay,
                concurrency_per_host=concurrency,
            )
            seconds = time.perf_counter() - start
            cpu = _cpu() - cpu  # this process (the store side) + the Scrapy child (reaped when the crawl ends)
    finally:
        server.shutdown()
    limit = min(concurrency / latency, 1 / delay if delay else float("inf")) / 2
    steady = (len(log) - 1) / (log[-1] - log[0]) if len(log) > 1 and log[-1] > log[0] else 0.0
    return {
        "pages": len(log),
        "images": result.images,
        "seconds": seconds,
        "overall": result.pages / seconds,
        "steady": steady,
        "limit": limit,
        "ratio": steady / limit,
        "cpu_ms": cpu * 1000 / max(len(log), 1),
        "cores": cpu / seconds,  # CPU seconds per second of the call: near the cores we get, the crawl is CPU-bound
    }


def _cpu() -> float:
    import resource

    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=120)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--only", choices=["a", "b"])
    args = parser.parse_args()
    print(f"machine: {machine()}; load average {os.getloadavg()[0]:.1f} at the start")
    if args.only != "b":
        print(f"(a) crawl_pages over {args.pages} loopback pages + 1 picture each, {args.latency * 1000:.0f} ms per response")
        for delay, concurrency in [(0.25, 2), (0.05, 2), (0.0, 2), (0.0, 8)]:
            r = crawl_run(args.pages, args.latency, delay, concurrency)
            print(
                f"  delay {delay:.2f} s, concurrency {concurrency}: {r['pages']} pages, {r['images']} images in {r['seconds']:.1f} s; "
                f"overall {r['overall']:.1f} pages/s, steady {r['steady']:.1f} pages/s, limit {r['limit']:.1f} -> ratio {r['ratio']:.2f}; "
                f"CPU {r['cpu_ms']:.0f} ms/page (both processes), "
                f"{r['cores']:.2f} cores busy"
            )
    if args.only != "a":
        r = extraction(args.repeats)
        print(
            f"(b) extract_page on a {r['size_kb']:.0f} KB recipe page ({r['images']} pictures, {r['text_chars']} chars of main text): "
            f"{r['extract_ms']:.1f} CPU ms/page; lxml parse alone {r['parse_ms']:.1f} ms -> ratio {r['extract_ms'] / r['parse_ms']:.1f}"
        )
        print("    of which: " + ", ".join(f"{name} {ms:.1f} ms" for name, ms in r["parts"].items()))
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
