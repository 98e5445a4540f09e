"""One fetched page (the spider's event) into the job's outcome: image records, or a reject."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from mmdata.crawl.pages.images import ImageRejected, PictureIndex, keep_image
from mmdata.jobs import Failed, Made, Outcome
from mmdata.store.media import MediaFolder

SUMMARY_CHARS = 400


def page_outcome(event: dict, media: MediaFolder, index: PictureIndex, min_size: int) -> tuple[Outcome, list[Failed]]:
    """The page's outcome, and the rejects of single pictures on it (too small, broken, ...)."""
    kind, url = event["kind"], event["url"]
    if kind == "error":
        return Failed(event["reason"], event["message"], {"page_url": url}, file=url, retry=event["retry"]), []
    if kind == "skip":
        return Made(stats={"skipped": 1}), []
    facts = event["facts"]
    page_url = event.get("final_url") or url
    if facts.get("refused"):
        message = f"{page_url}: the page reserves its content from AI/TDM use ({facts['refused']})"
        return Failed(facts["refused"], message, {"page_url": page_url}, file=url), []
    crawled_at = datetime.now(UTC).isoformat(timespec="seconds")
    alts = {c["url"]: c.get("alt") for c in facts["images"]}
    records, rows, rejects, seen, duplicates, replaced = [], [], [], set(), 0, 0
    structured = bool(facts.get("fields"))
    for image_url, fetched in event["images"].items():
        about = {"page_url": page_url, "image_url": image_url}
        if "error" in fetched:
            reason = fetched["error"] if fetched["error"] == "robots" else f"image-{fetched['error']}"
            rejects.append(Failed(reason, fetched["message"], about, file=image_url, field_path="image_url"))
            continue
        try:
            kept = keep_image(Path(fetched["path"]).read_bytes(), media, index, min_size)
        except ImageRejected as exc:
            rejects.append(Failed(exc.rule, f"{image_url}: {exc}", about, file=image_url, field_path="image_url"))
            continue
        if kept.media.id in seen:
            continue  # the page shows the same picture twice (og:image and the photo): one record
        seen.add(kept.media.id)
        if not index.replaces(kept.media.id, structured):
            duplicates += 1  # stored once, described by the earlier page
            continue
        replacing = kept.media.id in index.recorded  # a richer description of a picture already recorded
        replaced += replacing
        index.recorded[kept.media.id] = structured
        records.append(image_record(facts, page_url, image_url, alts.get(image_url), kept, crawled_at))
        if not replacing:  # its media row went with the first record
            rows.append(kept.media.row())
    if not records and duplicates:
        return Made(stats={"duplicates": duplicates}), rejects
    if not records:
        why = "no picture candidates" if not event["images"] else "none of its pictures could be kept"
        return Failed("no-usable-image", f"{page_url}: {why}", {"page_url": page_url}, file=url), rejects
    near = sum(1 for r in records if "near_duplicate_of" in r["attributes"])
    return Made(records, rows, {"images": len(records) - replaced, "near_duplicates": near, "duplicates": duplicates}), rejects


def image_record(facts: dict, page_url: str, image_url: str, alt: str | None, kept, crawled_at: str) -> dict:
    """The ``image`` record of one kept picture, its page's context in ``attributes``."""
    fields = facts.get("fields") or {}
    attributes = {
        "page_url": page_url,
        "image_url": image_url,
        "schema_type": facts.get("schema_type"),
        "fields": fields,
        "alt": alt,
        "language": facts.get("language"),
        "crawled_at": crawled_at,
        "phash": kept.phash,
    }
    if kept.near_duplicate_of:
        attributes["near_duplicate_of"] = kept.near_duplicate_of
    return {
        "media_id": kept.media.id,
        "title": fields.get("name") or fields.get("headline") or facts.get("title"),
        "caption": alt or None,
        "description": fields.get("description") or fields.get("summary") or _summary(facts.get("text") or ""),
        "source_url": page_url,
        "license": facts.get("license"),
        "width": kept.media.width,
        "height": kept.media.height,
        "attributes": attributes,
    }


def _summary(text: str) -> str | None:
    """The main text's opening, cut at a sentence or word boundary."""
    text = " ".join(text.split())
    if len(text) <= SUMMARY_CHARS:
        return text or None
    cut = text[:SUMMARY_CHARS]
    end = cut.rfind(". ")
    return cut[: end + 1] if end > SUMMARY_CHARS // 2 else cut.rsplit(" ", 1)[0] + "…"
