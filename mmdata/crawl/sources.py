"""What to crawl: inputs expanded to entries with yt-dlp (no download yet), then filtered and sharded."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from mmdata.errors import InputError


@dataclass
class Entry:
    """One downloadable item, as the listing saw it."""

    info: dict  # yt-dlp's (possibly unresolved) info dict
    source: str  # the input it came from

    @property
    def url(self) -> str:
        return self.info.get("webpage_url") or self.info.get("url") or self.info.get("original_url") or self.source

    @property
    def title(self) -> str:
        return self.info.get("title") or ""

    @property
    def duration(self) -> float | None:
        return self.info.get("duration")

    @property
    def archive_key(self) -> str:
        """yt-dlp's archive line ("<extractor> <id>"). The generic extractor names direct links by
        their basename, so two files called audio.mp3 would collide: we add a hash of the URL."""
        extractor = (self.info.get("ie_key") or self.info.get("extractor_key") or "generic").lower()
        video_id = str(self.info.get("id") or hashlib.sha1(self.url.encode()).hexdigest()[:16])
        if extractor == "generic":
            video_id = f"{video_id}-{hashlib.sha1(self.url.encode()).hexdigest()[:10]}"
        return f"{extractor} {video_id}"


def read_inputs(urls: list[str], from_file: Path | None) -> list[str | dict]:
    """URLs from the command line and ``--from``: a text file of URLs (``#`` comments), or a
    yt-dlp info JSON (``--write-info-json`` / ``-J`` output), passed on as a dict."""
    inputs: list[str | dict] = list(urls)
    if from_file is not None:
        path = Path(from_file)
        if not path.exists():
            raise InputError(f"--from {path}: no such file")
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".json":
            try:
                inputs.append(json.loads(text))
            except ValueError as exc:
                raise InputError(f"--from {path}: not valid JSON ({exc})") from None
        else:
            inputs += [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if not inputs:
        raise InputError("nothing to crawl: give URLs, ytsearchN:query, or --from FILE")
    return inputs


def expand(ydl, item: str | dict) -> Iterator[Entry]:
    """Entries of one input: a video, or each entry of a playlist/channel/search (flat, no download)."""
    info = item if isinstance(item, dict) else ydl.extract_info(item, download=False, process=False)
    source = item if isinstance(item, str) else (info.get("webpage_url") or info.get("id") or "info-json")
    yield from _flatten(info, source)


@dataclass
class Listing:
    """What the inputs list: the entries to fetch, how many were seen and filtered, the inputs that failed."""

    selected: list[Entry] = field(default_factory=list)
    listed: int = 0
    filtered: int = 0
    failures: list[tuple[str, Exception]] = field(default_factory=list)  # (input, why it could not be listed)


def list_entries(
    ydl,
    inputs: list[str | dict],
    mine: Callable[[str], bool],
    include: list[str],
    exclude: list[str],
    min_duration: float | None,
    max_duration: float | None,
    limit: int | None,
) -> Listing:
    """This shard's entries of ``inputs`` that pass the title and duration filters, at most ``limit``."""
    listing = Listing()
    for item in inputs:
        try:
            entries = list(expand(ydl, item))
        except Exception as exc:  # yt-dlp raises many kinds; any of them means this input failed
            listing.failures.append((item if isinstance(item, str) else "info-json", exc))
            continue
        for entry in entries:
            listing.listed += 1
            if not mine(entry.archive_key):
                continue
            if keep(entry, include, exclude, min_duration, max_duration):
                listing.filtered += 1
                continue
            if limit is None or len(listing.selected) < limit:
                listing.selected.append(entry)
    return listing


def _flatten(info: dict, source: str) -> Iterator[Entry]:
    if info.get("_type") in ("playlist", "multi_video"):
        for entry in info.get("entries") or []:
            if entry:
                yield from _flatten(entry, source)
    else:
        yield Entry(info, source)


def keep(
    entry: Entry, include: list[str], exclude: list[str], min_duration: float | None, max_duration: float | None
) -> str | None:
    """None to keep the entry, else why it is filtered out."""
    title = entry.title.lower()
    if include and not any(word.lower() in title for word in include):
        return "title has none of --include"
    if any(word.lower() in title for word in exclude):
        return "title has an --exclude word"
    return duration_filter(entry.duration, min_duration, max_duration)


def duration_filter(duration: float | None, min_duration: float | None, max_duration: float | None) -> str | None:
    if duration is None:
        return None  # unknown until downloaded (direct links); checked again after measuring
    if min_duration is not None and duration < min_duration:
        return f"shorter than --min-duration {min_duration:g}s"
    if max_duration is not None and duration > max_duration:
        return f"longer than --max-duration {max_duration:g}s"
    return None
