"""The Scrapy side of ``crawl-pages``: one spider, its settings, and the child process that runs it.

This module runs as ``python -m mmdata.crawl.pages.spider CONFIG.json`` in a child process, so
Twisted's reactor never lives in the CLI's process: the parent stays responsive, stops the crawl
by signalling the child, and a crash of either side leaves the other's state intact.

The child reads each page (``extract_page``, pure) because it has to know a page's pictures to
fetch them, and it fetches them with Scrapy too, so robots.txt, the per-host delay and the
concurrency cap apply to pictures exactly as to pages. When a page and all its pictures are in,
it writes one JSON line to the events file (the facts, the picture files' paths, the links);
the parent tails that file and does everything that touches the store.

Resuming does not use Scrapy's JOBDIR: its request queue is only consistent after a clean close
(a ``kill -9`` loses it), and its seen-set would drop the links we re-seed. Instead the parent's
journal keeps each finished page's links; the spider walks finished pages through those links
without requesting them, and requests only what is still to do.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from dataclasses import asdict
from pathlib import Path
from urllib.parse import urldefrag, urlparse

import scrapy
from scrapy.exceptions import IgnoreRequest
from scrapy.linkextractors import LinkExtractor
from scrapy.spidermiddlewares.httperror import HttpError

from mmdata.shard import in_shard, parse_shard

MAX_IMAGES_PER_PAGE = 12  # candidates beyond this on one page are page furniture, not its subject
RETRY_HTTP_CODES = [429, 500, 502, 503, 504, 522, 524, 408]
MAX_RETRY_AFTER = 120.0  # seconds; a server asking for longer gets the normal retry backoff


def settings(config: dict) -> dict:
    """Scrapy settings for a polite crawl of ``config``."""
    delay = float(config["delay"])
    concurrency = int(config["concurrency"])
    # Scrapy randomises the delay to 0.5-1.5x by default; the user's delay is a floor here.
    from scrapy.settings import default_settings

    jitter = (
        {"DOWNLOAD_DELAY_JITTER": 0}
        if hasattr(default_settings, "DOWNLOAD_DELAY_JITTER")
        else {"RANDOMIZE_DOWNLOAD_DELAY": False}
    )
    return {
        **jitter,
        "USER_AGENT": config["user_agent"],
        "ROBOTSTXT_OBEY": True,  # always: there is no option to turn it off
        "COOKIES_ENABLED": False,  # no sessions, no logins
        "DOWNLOAD_DELAY": delay,
        "CONCURRENT_REQUESTS_PER_DOMAIN": concurrency,
        # The downloader pulls up to CONCURRENT_REQUESTS requests into per-host delay queues (FIFO),
        # which would defeat the scheduler's priorities (a page's pictures before new pages, so
        # pages finish and are journaled as the crawl goes): keep that at the hosts' share.
        "CONCURRENT_REQUESTS": concurrency * len(domains(config)),
        "AUTOTHROTTLE_ENABLED": config.get("autothrottle", True),  # slows down further when the host does
        "AUTOTHROTTLE_START_DELAY": max(delay, 0.1),
        "AUTOTHROTTLE_MAX_DELAY": max(60.0, delay),
        "AUTOTHROTTLE_TARGET_CONCURRENCY": float(concurrency),
        "RETRY_ENABLED": True,
        "RETRY_TIMES": 2,
        "RETRY_HTTP_CODES": RETRY_HTTP_CODES,
        "DOWNLOADER_MIDDLEWARES": {f"{__name__}.RetryAfter": 560},  # its process_response runs before retry's (550)
        "DOWNLOAD_TIMEOUT": 30,
        "DOWNLOAD_MAXSIZE": 64 * 1024 * 1024,
        "DEPTH_LIMIT": 0,  # depth is the spider's own ``level``: finished pages are walked without a response
        "TELNETCONSOLE_ENABLED": False,
        "REMOTE_CONTROL_ENABLED": False,  # Scrapy >= 2.19 opens a control port by default: no listening sockets
        "LOG_LEVEL": "INFO",
        "LOG_FILE": str(Path(config["workdir"]) / "scrapy.log"),
        "LOG_FILE_APPEND": False,
    }


class RetryAfter:
    """Wait out a 429/503's ``Retry-After`` before Scrapy's retry middleware retries it (Scrapy's
    own retry ignores the header). Only seconds are read; an HTTP date falls back to the backoff."""

    async def process_response(self, request, response, spider=None):
        value = response.headers.get(b"Retry-After")
        if response.status in (429, 503) and value:
            try:
                seconds = min(float(value.decode().strip()), MAX_RETRY_AFTER)
            except ValueError:
                return response
            if seconds > 0:
                from scrapy.utils.defer import maybe_deferred_to_future
                from twisted.internet import reactor
                from twisted.internet.task import deferLater

                await maybe_deferred_to_future(deferLater(reactor, seconds, lambda: None))
        return response


def domains(config: dict) -> list[str]:
    """The hosts to crawl: those given, else the start URLs' and sitemaps' hosts."""
    return list(config.get("allowed_domains") or ()) or sorted(
        {urlparse(u).hostname for u in config["start"] + config["sitemaps"] if urlparse(u).hostname}
    )


def _clean(url: str) -> str:
    return urldefrag(url)[0]


def _name(url: str) -> str:
    return hashlib.sha1(url.encode()).hexdigest()[:20]


class PagesSpider(scrapy.Spider):
    """Walks start pages and sitemaps to ``depth`` links, fetching each page's pictures."""

    name = "mmdata-pages"

    def __init__(self, config: dict, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        self.depth = int(config["depth"])
        self.max_pages = config.get("max_pages")
        self.shard = parse_shard(config.get("shard"))
        self.done = set(config.get("done", ()))
        self.done_links: dict[str, list[str]] = config.get("links", {})
        self.allowed_domains = domains(config)  # Scrapy's offsite middleware reads this
        self.include = [re.compile(p) for p in config.get("include", ())]
        self.exclude = [re.compile(p) for p in config.get("exclude", ())]
        # Domains are checked by hostname in ``visit``: the extractor's allow_domains compares host:port.
        self.links = LinkExtractor(allow=config.get("include", ()), deny=config.get("exclude", ()))
        self.fetched = Path(config["workdir"]) / "fetched"
        self.fetched.mkdir(parents=True, exist_ok=True)
        self.events = open(config["events"], "a", encoding="utf-8")  # noqa: SIM115 (open for the crawl's life)
        self.requested: set[str] = set()
        self.pages_requested = 0
        self.pending: dict[str, dict] = {}  # page key -> its event, waiting for its pictures
        self.image_files: dict[str, dict] = {}  # image URL -> its fetch result, shared by pages
        self.image_waiters: dict[str, list[str]] = {}  # image URL in flight -> the pages waiting for it

    # --- what to request ---

    async def start(self):
        for request in self.start_requests():
            yield request

    def start_requests(self):
        for url in self.config["sitemaps"]:
            yield scrapy.Request(url, callback=self.parse_sitemap, errback=self.sitemap_failed, dont_filter=True)
        for url in self.config["start"]:
            yield from self.visit(_clean(url), 0)

    def on_site(self, url: str) -> bool:
        host = urlparse(url).hostname or ""
        return any(host == d or host.endswith("." + d) for d in self.allowed_domains)

    def wanted(self, url: str) -> bool:
        """Whether a sitemap entry passes the domain and include/exclude filters (links pass the extractor's)."""
        if not self.on_site(url):
            return False
        if self.include and not any(p.search(url) for p in self.include):
            return False
        return not any(p.search(url) for p in self.exclude)

    def visit(self, url: str, level: int):
        """Requests for page ``url`` at link distance ``level``: none when seen or finished (a
        finished page is walked through the links the journal kept), when it is another shard's
        leaf, or past ``max_pages``."""
        if url in self.requested:
            return
        self.requested.add(url)
        if url in self.done:
            if level < self.depth:
                for link in self.done_links.get(url, ()):
                    yield from self.visit(link, level + 1)
            return
        mine = in_shard(url, self.shard)
        if not mine and level >= self.depth:
            return  # another shard's page whose links we would not follow anyway
        if self.max_pages is not None and self.pages_requested >= self.max_pages:
            return
        self.pages_requested += 1
        yield scrapy.Request(
            url,
            callback=self.parse,
            errback=self.page_failed,
            dont_filter=True,  # our own ``requested`` set dedupes; a redirect target is always followed
            meta={"key": url, "level": level, "mine": mine},
        )

    # --- sitemaps ---

    def parse_sitemap(self, response):
        from scrapy.utils.gz import gunzip
        from scrapy.utils.sitemap import Sitemap

        body = response.body
        if body[:2] == b"\x1f\x8b":
            body = gunzip(body)
        try:
            sitemap = Sitemap(body)
        except Exception as exc:  # not XML: say so in the log, crawl the rest
            self.logger.warning("sitemap %s does not parse: %s", response.url, exc)
            return
        for entry in sitemap:
            loc = entry.get("loc")
            if not loc:
                continue
            if sitemap.type == "sitemapindex":
                yield scrapy.Request(loc, callback=self.parse_sitemap, errback=self.sitemap_failed)
            elif self.wanted(_clean(loc)):
                yield from self.visit(_clean(loc), 0)

    def sitemap_failed(self, failure):
        self.emit({"kind": "sitemap-error", "url": failure.request.url, "message": _message(failure)})

    # --- pages ---

    def parse(self, response):
        from mmdata.crawl.pages.extract import extract_page

        key, level, mine = response.meta["key"], response.meta["level"], response.meta["mine"]
        content_type = response.headers.get(b"Content-Type", b"").decode("latin-1").lower()
        if not isinstance(response, scrapy.http.HtmlResponse) and "html" not in content_type:
            if mine:
                self.emit({"kind": "skip", "url": key, "final_url": response.url, "reason": "not-html", "type": content_type})
            return
        self.requested.add(_clean(response.url))  # a redirect's target: not requested again by its own link
        links = [_clean(link.url) for link in self.links.extract_links(response) if self.on_site(link.url)]
        links = list(dict.fromkeys(links))
        if mine:
            headers = {k.decode("latin-1"): v[0].decode("latin-1") for k, v in response.headers.items() if v}
            facts = extract_page(response.url, response.body, headers)
            event = {
                "kind": "page",
                "url": key,
                "final_url": response.url,
                "status": response.status,
                "level": level,
                "facts": asdict(facts),
                "links": links,
                "images": {},
            }
            wanted = [] if facts.refused else list(dict.fromkeys(c.url for c in facts.images))[:MAX_IMAGES_PER_PAGE]
            event["_waiting"] = set()
            self.pending[key] = event
            for image_url in wanted:
                if image_url in self.image_files:
                    event["images"][image_url] = self.image_files[image_url]
                    continue
                event["_waiting"].add(image_url)
                if image_url in self.image_waiters:  # already on its way for another page
                    self.image_waiters[image_url].append(key)
                    continue
                self.image_waiters[image_url] = [key]
                yield scrapy.Request(
                    image_url,
                    callback=self.got_image,
                    errback=self.image_failed,
                    dont_filter=True,  # our own ``image_files`` / ``image_waiters`` dedupe
                    priority=10,  # finish pages before starting new ones
                    meta={"page": key, "image": image_url, "allow_offsite": True},
                )
            self.maybe_finish(key)
        if level < self.depth:
            for link in links:
                yield from self.visit(link, level + 1)

    def page_failed(self, failure):
        request = failure.request
        if not request.meta.get("mine", True):
            return
        reason, retry, status = _why(failure)
        self.emit(
            {
                "kind": "error",
                "url": request.meta["key"],
                "reason": reason,
                "retry": retry,
                "status": status,
                "message": _message(failure),
            }
        )

    # --- pictures ---

    def got_image(self, response):
        url = response.meta["image"]
        path = self.fetched / f"img-{_name(url)}"
        path.write_bytes(response.body)
        result = {
            "path": str(path),
            "final_url": response.url,
            "type": response.headers.get(b"Content-Type", b"").decode("latin-1"),
        }
        self.image_files[url] = result
        self.image_done(url, result)

    def image_failed(self, failure):
        reason, _retry, status = _why(failure)
        self.image_done(failure.request.meta["image"], {"error": reason, "status": status, "message": _message(failure)})

    def image_done(self, url: str, result: dict) -> None:
        for page in self.image_waiters.pop(url, ()):
            event = self.pending.get(page)
            if event is not None:
                event["images"][url] = result
                event["_waiting"].discard(url)
                self.maybe_finish(page)

    def maybe_finish(self, page: str) -> None:
        event = self.pending[page]
        if not event["_waiting"]:
            del self.pending[page], event["_waiting"]
            self.emit(event)

    def emit(self, event: dict) -> None:
        self.events.write(json.dumps(event, ensure_ascii=False, default=str) + "\n")
        self.events.flush()  # the parent tails this file

    def closed(self, reason):
        self.emit({"kind": "end", "reason": reason})
        self.events.close()


def _why(failure) -> tuple[str, bool, int | None]:
    """A failed request's reject rule, whether a later run should try it again, and its status."""
    if failure.check(HttpError):
        status = failure.value.response.status
        return f"http-{status}", status >= 500 or status in (408, 429), status
    if failure.check(IgnoreRequest):
        text = str(failure.value).lower()
        return ("robots" if "robots" in text else "ignored"), False, None
    return "network-error", True, None


def _message(failure) -> str:
    return f"{failure.request.url}: {failure.getErrorMessage()}"[:500]


def _watch_parent(parent: int) -> None:
    """Stop when the parent is gone (killed): nobody would read what we fetch."""
    from twisted.internet import task

    def check():
        if os.getppid() != parent:
            os._exit(3)

    task.LoopingCall(check).start(0.5, now=False)


def main(config_path: str) -> None:
    """Run the crawl described by the JSON file ``config_path`` (written by the parent)."""
    from scrapy.crawler import CrawlerProcess

    config = json.loads(Path(config_path).read_text(encoding="utf-8"))
    process = CrawlerProcess(settings(config))  # its log goes to scrapy.log in the journal
    process.crawl(PagesSpider, config=config)
    from twisted.internet import reactor

    reactor.callWhenRunning(_watch_parent, config["parent_pid"])
    process.start()


if __name__ == "__main__":
    main(sys.argv[1])
