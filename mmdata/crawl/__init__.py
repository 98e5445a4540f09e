"""``crawl``: download audio with yt-dlp into the store as ``audio`` records, resumably."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mmdata.errors import InputError
from mmdata.extras import import_extra
from mmdata.jobs import Failed, Job, Made, Outcome
from mmdata.options import at_least
from mmdata.progress import ProgressCallback, silent
from mmdata.store.lake import Store
from mmdata.store.media import sha256_file
from mmdata.store.versions import Lineage


@dataclass
class CrawlResult:
    dataset: str
    version: int | None = None
    listed: int = 0
    filtered: int = 0
    already: int = 0
    downloaded: int = 0
    failed: int = 0
    failures_by_reason: dict = field(default_factory=dict)
    hours: float = 0.0
    journal: str = ""
    message: str = ""


def crawl(
    urls: list[str],
    into: str,
    store: Store | str | None = None,
    *,
    from_file: str | Path | None = None,
    include: list[str] = (),
    exclude: list[str] = (),
    min_duration: float | None = None,
    max_duration: float | None = None,
    limit: int | None = None,
    sleep: float = 0.0,
    rate_limit: str | None = None,
    retries: int = 3,
    shard: str | None = None,
    checkpoint: int = 25,
    wait: float | None = None,
    progress: ProgressCallback = silent,
) -> CrawlResult:
    """Crawl videos, playlists, channels or ``ytsearchN:query`` results into dataset ``into``.

    Each item's best audio is downloaded, decoded, stored as 16 kHz mono Opus, and described by
    an ``audio`` record (source URL, id, title, channel, upload date, measured duration,
    license, yt-dlp version). The run journal ``runs/crawl-<into>[-shard-i-of-n]/`` holds the
    download archive and what was fetched, so a re-run downloads nothing already stored and a
    killed run resumes. Items that fail are recorded with a reason, never stop the run, and are
    tried again by the next run. Versions are committed every ``checkpoint`` items and at the end.
    """
    at_least(
        0,
        limit=limit,
        sleep=sleep,
        retries=retries,
        checkpoint=checkpoint,
        wait=wait,
        min_duration=min_duration,
        max_duration=max_duration,
    )
    if min_duration is not None and max_duration is not None and min_duration > max_duration:
        raise InputError(f"--min-duration {min_duration:g} is more than --max-duration {max_duration:g}: nothing would pass")
    yt_dlp = import_extra("yt_dlp", "crawl", "crawl")

    from mmdata.crawl.download import failure_reason, fetch, ytdlp_options
    from mmdata.crawl.sources import list_entries, read_inputs

    store = Store.of(store)
    job = Job(store, "crawl", into, "audio", shard=shard, checkpoint=checkpoint, wait=wait, marker="archive.txt")
    inputs = read_inputs(list(urls), Path(from_file) if from_file else None)
    result = CrawlResult(into)
    job.start(
        Lineage(
            "crawl",
            {
                "urls": list(urls),
                "from": str(from_file) if from_file else None,
                "include": list(include),
                "exclude": list(exclude),
                "min_duration": min_duration,
                "max_duration": max_duration,
                "limit": limit,
                "sleep": sleep,
                "rate_limit": rate_limit,
                "retries": retries,
                "shard": shard,
            },
            inputs=[{"path": str(from_file), "sha256": sha256_file(Path(from_file))}] if from_file else [],
        ),
        counts=lambda: {"downloaded": result.downloaded, "failed": job.failures.items},
    )
    result.journal = str(job.journal.dir)
    workdir = job.journal.dir / "downloads"
    downloader = f"yt-dlp {yt_dlp.version.__version__}"
    with yt_dlp.YoutubeDL(ytdlp_options(workdir, sleep, rate_limit, retries)) as ydl:
        listing = list_entries(ydl, inputs, job.mine, list(include), list(exclude), min_duration, max_duration, limit)
        for name, exc in listing.failures:
            job.fail(Failed(failure_reason(str(exc)), str(exc), {"url": name}, file=name, field_path="url"))
        result.listed, result.filtered = listing.listed, listing.filtered
        todo = job.pending(listing.selected, _key)
        result.already = len(listing.selected) - len(todo)
        attempted = 0

        def report(_entry, outcome: Outcome) -> None:
            nonlocal attempted
            if isinstance(outcome, Made) and outcome.records:
                result.downloaded += 1
                result.hours += outcome.stats["seconds"] / 3600
            elif isinstance(outcome, Made):  # measured only now, and out of bounds
                result.filtered += 1
            attempted += 1
            progress("downloading", attempted, len(todo))

        job.run(todo, _key, lambda entry: fetch(ydl, entry, store.media, workdir, downloader, min_duration, max_duration), report)
    result.version = job.commit()
    result.failed = job.failures.items
    result.failures_by_reason = job.failures.rules()
    result.message = job.summary(
        f"{into}: {result.downloaded} downloaded ({result.hours:.2f} h), {result.already} already "
        f"stored, {result.filtered} filtered, {result.failed} failed"
    )
    return result


def _key(entry) -> str:
    return entry.archive_key
