"""``crawl``: download audio with yt-dlp into the store as ``audio`` records, resumably."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from mmdata.errors import InputError
from mmdata.options import at_least
from mmdata.progress import ProgressCallback, silent
from mmdata.shard import in_shard, parse_shard
from mmdata.store.journal import JobJournal
from mmdata.store.lake import Store
from mmdata.store.media import sha256_file
from mmdata.store.versions import Lineage, check_name


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
    killed run resumes. Items that fail are recorded with a reason and never stop the run.
    Versions are committed every ``checkpoint`` downloads and at the end.

    >>> crawl(["https://www.youtube.com/@channel/videos"], into="ceramah", include=["ceramah"], limit=50)
    CrawlResult(dataset='ceramah', version=1, listed=812, downloaded=50, ...)
    """
    at_least(0, limit=limit, sleep=sleep, retries=retries, checkpoint=checkpoint, wait=wait,
             min_duration=min_duration, max_duration=max_duration)
    if min_duration is not None and max_duration is not None and min_duration > max_duration:
        raise InputError(f"--min-duration {min_duration:g} is more than --max-duration {max_duration:g}: nothing would pass")
    import yt_dlp

    from mmdata.crawl.download import audio_record, download, failure_reason, normalise, ytdlp_options
    from mmdata.crawl.sources import duration_filter, expand, keep, read_inputs

    store = Store.of(store)
    check_name(into)
    shard_spec = parse_shard(shard)
    inputs = read_inputs(list(urls), Path(from_file) if from_file else None)
    journal = JobJournal.for_job(store.runs, "crawl", into, shard_spec)
    workdir = journal.dir / "downloads"
    done = set(journal.lines("archive.txt"))  # yt-dlp's download-archive format
    result = CrawlResult(into, journal=str(journal.dir))
    lineage = Lineage("crawl", {
        "urls": list(urls), "from": str(from_file) if from_file else None, "include": list(include),
        "exclude": list(exclude), "min_duration": min_duration, "max_duration": max_duration, "limit": limit,
        "sleep": sleep, "rate_limit": rate_limit, "retries": retries, "shard": shard},
        inputs=[{"path": str(from_file), "sha256": sha256_file(Path(from_file))}] if from_file else [])

    def fail(url: str, reason: str, message: str, what: dict) -> None:
        journal.fail(url, reason, message, what, field_path="url")
        result.failed += 1

    def commit() -> None:
        committed = journal.commit(store, into, "audio", lineage, {"downloaded": result.downloaded, "failed": result.failed}, wait)
        result.version = committed.version or result.version

    downloader = f"yt-dlp {yt_dlp.version.__version__}"
    with yt_dlp.YoutubeDL(ytdlp_options(workdir, sleep, rate_limit, retries)) as ydl:
        selected = []
        for item in inputs:
            try:
                entries = list(expand(ydl, item))
            except Exception as exc:  # yt-dlp raises many kinds; any of them means this input failed
                name = item if isinstance(item, str) else "info-json"
                fail(name, failure_reason(str(exc)), str(exc), {"url": name})
                continue
            for entry in entries:
                result.listed += 1
                if not in_shard(entry.archive_key, shard_spec):
                    continue
                if keep(entry, include, exclude, min_duration, max_duration):
                    result.filtered += 1
                    continue
                if limit is None or len(selected) < limit:
                    selected.append(entry)
        todo = [e for e in selected if e.archive_key not in done]
        result.already = len(selected) - len(todo)
        for n, entry in enumerate(todo, start=1):
            what = {"url": entry.url, "id": entry.info.get("id"), "title": entry.title, "archive_key": entry.archive_key}
            try:
                info, path = download(ydl, entry)
                media, seconds = normalise(path, store.media)
                if duration_filter(seconds, min_duration, max_duration):
                    result.filtered += 1
                else:
                    journal.append("media.jsonl", media.row())
                    journal.append("records.jsonl", audio_record(entry, info, media, seconds, downloader))
                    result.downloaded += 1
                    result.hours += seconds / 3600
                journal.append("archive.txt", entry.archive_key)
            except Exception as exc:  # one bad item never stops the run; its reason is kept
                fail(entry.url, failure_reason(str(exc)), str(exc), what)
            finally:
                shutil.rmtree(workdir, ignore_errors=True)
            progress("downloading", n, len(todo))
            if checkpoint and result.downloaded and result.downloaded % checkpoint == 0:
                commit()
    commit()
    result.failures_by_reason = journal.failures
    result.message = (f"{into}: {result.downloaded} downloaded ({result.hours:.2f} h), {result.already} already stored, "
                      f"{result.filtered} filtered, {result.failed} failed"
                      + (f" -> {into}@{result.version}" if result.version else ""))
    return result
