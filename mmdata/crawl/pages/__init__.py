"""Crawl web pages for pictures with structured context (issue 16): Scrapy fetches, extract.py reads pages.

``crawl_pages`` runs Scrapy in a child process (``spider.py``, started by ``fetch.py``) and turns
each page it streams back into ``image`` records (``outcome.py``, ``images.py``) through the
shared job machinery: keyed by page URL, journaled, resumable, shardable by URL.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mmdata.errors import InputError
from mmdata.extras import import_extra
from mmdata.jobs import Failed, Job, Made
from mmdata.options import at_least
from mmdata.progress import ProgressCallback, silent
from mmdata.store.lake import Store
from mmdata.store.versions import Lineage


@dataclass
class PageCrawlResult:
    dataset: str
    version: int | None = None
    pages: int = 0  # pages this run fetched and settled (made, skipped or rejected)
    already: int = 0  # pages earlier runs finished, not fetched again
    images: int = 0  # image records made
    near_duplicates: int = 0
    duplicates: int = 0  # pictures already stored from an earlier page, not described again
    skipped: int = 0  # not HTML, or a redirect to a page already done
    failed: int = 0
    failures_by_reason: dict = field(default_factory=dict)
    journal: str = ""
    message: str = ""


def crawl_pages(
    start: list[str],
    into: str,
    store: Store | str | None = None,
    *,
    sitemaps: list[str] = (),
    allowed_domains: list[str] = (),
    include: list[str] = (),
    exclude: list[str] = (),
    depth: int = 2,
    max_pages: int | None = None,
    min_image_size: int = 200,
    delay: float = 1.0,
    concurrency_per_host: int = 2,
    contact: str | None = None,
    shard: str | None = None,
    checkpoint: int = 25,
    wait: float | None = None,
    progress: ProgressCallback = silent,
) -> PageCrawlResult:
    """Crawl ``start`` pages and ``sitemaps`` into dataset ``into`` as ``image`` records.

    Pages are followed ``depth`` links from the start pages (sitemap entries count as start
    pages), within ``allowed_domains`` (default: the start URLs' hosts) and the ``include`` /
    ``exclude`` URL patterns, ``max_pages`` at most per run. robots.txt is always obeyed, and
    pages that reserve their content (``noai``, ``noimageai``, ``tdm-reservation``) are skipped
    with a reject saying so; requests carry no cookies, wait ``delay`` seconds between requests
    to one host, ``concurrency_per_host`` at most in flight, and a user agent naming ``contact``.
    Each kept picture (shorter side at least ``min_image_size`` px) is stored once by content,
    with its page's structured context in ``attributes``. Pages are the job's keys: a killed run
    resumes without fetching a finished page again, and ``shard`` i/n takes its share by URL.
    """
    at_least(0, depth=depth, max_pages=max_pages, min_image_size=min_image_size, delay=delay, checkpoint=checkpoint, wait=wait)
    at_least(1, concurrency_per_host=concurrency_per_host)
    if not start and not sitemaps:
        raise InputError("nothing to crawl: give start URLs or --sitemap")
    for url in [*start, *sitemaps]:
        if not url.startswith(("http://", "https://")):
            raise InputError(f"{url}: not an http(s) URL")
    for pattern in [*include, *exclude]:
        _check_regex(pattern)
    import_extra("scrapy", "pages", "crawl-pages")
    import_extra("imagehash", "pages", "crawl-pages")

    from mmdata import __version__
    from mmdata.crawl.pages.fetch import run_spider
    from mmdata.crawl.pages.images import PictureIndex
    from mmdata.crawl.pages.outcome import page_outcome

    store = Store.of(store)
    job = Job(store, "crawl-pages", into, "image", shard=shard, checkpoint=checkpoint, wait=wait)
    options = {
        "start": list(start),
        "sitemaps": list(sitemaps),
        "allowed_domains": list(allowed_domains),
        "include": list(include),
        "exclude": list(exclude),
        "depth": depth,
        "max_pages": max_pages,
        "min_image_size": min_image_size,
        "delay": delay,
        "concurrency_per_host": concurrency_per_host,
        "contact": contact,
        "shard": shard,
    }
    result = PageCrawlResult(into)
    job.start(Lineage("crawl-pages", options), counts=lambda: {"images": result.images, "failed": job.failures.items})
    result.journal = str(job.journal.dir)
    result.already = len(job.done)
    index = PictureIndex()
    links: dict[str, list[str]] = {}
    for row in job.journal.read("links.jsonl"):
        links[row["url"]] = row["links"]
    for record in job.journal.read("records.jsonl"):  # earlier runs' pictures count for near-duplicates
        attributes = record.get("attributes") or {}
        if attributes.get("phash"):
            index.add(
                record["media_id"], attributes["phash"], bool(attributes.get("fields")), attributes.get("near_duplicate_of")
            )
    user_agent = f"mmdata/{__version__}" + (f" (+{contact})" if contact else "")
    spider_keys = ("start", "sitemaps", "allowed_domains", "include", "exclude", "depth", "max_pages", "delay", "shard")
    config = {
        **{key: options[key] for key in spider_keys},
        "concurrency": concurrency_per_host,
        "user_agent": user_agent,
        "done": sorted(job.done),
        "links": links,
    }
    workdir = job.journal.dir / "spider"
    events = run_spider(config, workdir)
    try:
        for event in events:
            if event["kind"] == "sitemap-error":
                job.fail(Failed("sitemap-error", event["message"], {"url": event["url"]}, file=event["url"], retry=True))
                continue
            key = event["url"]
            if key in job.done:
                continue  # fetched twice in one run (a redirect to a page also linked): made once
            final = event.get("final_url") or key
            if final != key and final in job.done:
                outcome, rejects = Made(stats={"skipped": 1}), []  # a redirect to a page already done
            else:
                outcome, rejects = page_outcome(event, store.media, index, min_image_size)
            for reject in rejects:
                job.fail(reject)
            if event.get("links"):
                job.journal.append("links.jsonl", {"url": key, "links": event["links"]})  # before done: resume walks them
            due = job.settle(key, outcome)
            if final != key and isinstance(outcome, Made) and outcome.records:
                job.settle(final, Made(stats={"skipped": 1}))  # the redirect target is this page: done too
            _count(result, outcome)
            progress("crawling", result.pages, None, f"{result.images} images, {job.failures.items} failed")
            if due:
                job.commit()
    finally:
        events.close()  # stops the crawler now, also on Ctrl-C (a traceback would keep the generator alive)
        # Also after Ctrl-C or a crash of the crawler: what was settled becomes a version.
        result.version = job.commit()
        result.failed = job.failures.items
        result.failures_by_reason = job.failures.rules()
    note = "" if contact else " (tip: --contact EMAIL puts a way to reach you in the user agent, as site owners ask)"
    result.message = (
        job.summary(
            f"{into}: {result.images} images from {result.pages} pages ({result.already} already done, "
            f"{result.skipped} skipped, {result.duplicates} duplicates, {result.near_duplicates} near-duplicates), {result.failed} failed"
        )
        + note
    )
    return result


def _count(result: PageCrawlResult, outcome) -> None:
    result.pages += 1
    if isinstance(outcome, Made):
        result.images += int(outcome.stats.get("images", 0))
        result.near_duplicates += int(outcome.stats.get("near_duplicates", 0))
        result.skipped += int(outcome.stats.get("skipped", 0))
        result.duplicates += int(outcome.stats.get("duplicates", 0))


def _check_regex(pattern: str) -> None:
    import re

    try:
        re.compile(pattern)
    except re.error as exc:
        raise InputError(f"--include/--exclude {pattern!r} is not a regular expression: {exc}") from None
