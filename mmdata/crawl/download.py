"""Download one entry with yt-dlp and turn it into stored 16 kHz mono Opus plus an audio record."""

from __future__ import annotations

import logging
import re
import shutil
from pathlib import Path

from mmdata.audio import SAMPLE_RATE, encode_opus, load_16k_mono
from mmdata.crawl.sources import Entry, duration_filter
from mmdata.errors import MediaError
from mmdata.jobs import Failed, Made, Outcome
from mmdata.store.media import MediaFolder, MediaInfo

log = logging.getLogger("mmdata.crawl")

# yt-dlp's words for why an item cannot be had, mapped to our reasons (checked in order).
_REASONS = [
    (
        re.compile(r"file is empty|did not get any data|does not decode|no samples|no audio stream|without a file", re.I),
        "bad-audio",
    ),
    (re.compile(r"private video|members-only|sign in to confirm", re.I), "private"),
    (re.compile(r"not available in your country|geo.?restrict|blocked it in your country", re.I), "region-blocked"),
    (re.compile(r"HTTP Error 404|not found|no such file", re.I), "not-found"),
    (re.compile(r"unavailable|has been removed|no longer available|terminated", re.I), "unavailable"),
    (re.compile(r"HTTP Error 429|too many requests", re.I), "rate-limited"),
]


def failure_reason(message: str) -> str:
    return next((reason for pattern, reason in _REASONS if pattern.search(message)), "download-error")


class _YtdlpLogger:
    """yt-dlp talks through this logger instead of printing (the library never prints)."""

    def debug(self, msg: str) -> None:
        log.debug(msg)

    def info(self, msg: str) -> None:
        log.debug(msg)

    def warning(self, msg: str) -> None:
        log.warning(msg)

    def error(self, msg: str) -> None:
        log.debug(msg)  # errors come back to us as exceptions, with the same text


def ytdlp_options(workdir: Path, sleep: float, rate_limit: str | None, retries: int) -> dict:
    from yt_dlp.utils import parse_bytes

    options = {
        "format": "bestaudio/best",
        "outtmpl": str(workdir / "%(id)s.%(ext)s"),
        "quiet": True,
        "noprogress": True,
        "no_warnings": True,
        "logger": _YtdlpLogger(),
        "enable_file_urls": True,
        "extract_flat": "in_playlist",  # list playlists/channels/searches without resolving every video
        "retries": retries,
        "fragment_retries": retries,
        "extractor_retries": retries,
        "sleep_interval": sleep,
        "sleep_interval_requests": sleep,
        "noplaylist": False,
        "overwrites": True,
    }
    if rate_limit:
        options["ratelimit"] = parse_bytes(rate_limit)
    return options


def fetch(
    ydl, entry: Entry, media: MediaFolder, workdir: Path, downloader: str, min_duration: float | None, max_duration: float | None
) -> Outcome:
    """The crawl's work on one entry: download, store as Opus, describe; filtered out when its
    measured duration is out of bounds (direct links are measured only now)."""
    try:
        info, path = download(ydl, entry)
        stored, seconds = normalise(path, media)
        if duration_filter(seconds, min_duration, max_duration):
            return Made(stats={"seconds": seconds})
        return Made([audio_record(entry, info, stored, seconds, downloader)], [stored.row()], {"seconds": seconds})
    except Exception as exc:  # one bad item never stops the run; its reason is kept, and the next run tries again
        return Failed(
            failure_reason(str(exc)),
            str(exc),
            {"url": entry.url, "id": entry.info.get("id"), "title": entry.title, "archive_key": entry.archive_key},
            file=entry.url,
            field_path="url",
            retry=True,
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def download(ydl, entry: Entry) -> tuple[dict, Path]:
    """Fetch ``entry``'s best audio; the resolved info dict and the file on disk."""
    if entry.info.get("_type") == "url" or "formats" not in entry.info and "url" not in entry.info:
        info = ydl.extract_info(entry.url, download=True)
    else:
        info = ydl.process_ie_result(dict(entry.info), download=True)
    if info.get("_type") in ("playlist", "multi_video"):
        info = next(e for e in info.get("entries") or [] if e)
    files = [d.get("filepath") for d in info.get("requested_downloads") or [] if d.get("filepath")]
    if not files or not Path(files[0]).exists():
        raise MediaError(f"{entry.url}: yt-dlp finished without a file")
    return info, Path(files[0])


def normalise(path: Path, media: MediaFolder) -> tuple[MediaInfo, float]:
    """Store ``path`` as 16 kHz mono Opus; its MediaInfo and measured duration in seconds."""
    samples = load_16k_mono(path)
    info = media.add_bytes(encode_opus(samples), ".ogg")
    return info, samples.size / SAMPLE_RATE


def audio_record(entry: Entry, info: dict, media: MediaInfo, duration: float, downloader: str) -> dict:
    """The ``audio`` record, with provenance and the original format kept in ``extractor``."""
    original = {
        k: info.get(k)
        for k in ("format_id", "ext", "acodec", "abr", "asr", "audio_channels", "filesize")
        if info.get(k) is not None
    }
    extractor = {
        "extractor": info.get("extractor_key") or info.get("extractor"),
        "id": info.get("id"),
        "webpage_url": info.get("webpage_url"),
        "original_format": original,
        "archive_key": entry.archive_key,
    }
    for field in ("view_count", "like_count", "categories", "tags", "language"):
        if info.get(field):
            extractor[field] = info[field]
    return {
        "media_id": media.id,
        "source_url": info.get("webpage_url") or entry.url,
        "video_id": str(info.get("id")) if info.get("id") is not None else None,
        "title": info.get("title") or entry.title or None,
        "channel": info.get("channel") or info.get("uploader"),
        "upload_date": info.get("upload_date"),
        "duration": round(duration, 3),
        "license": info.get("license"),
        "downloader": downloader,
        "extractor": extractor,
    }
