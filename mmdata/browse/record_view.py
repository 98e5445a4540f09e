"""A stored row as a page shows it: turns split into text and media placeholders, each medium with
its measurements, the rest folded into labelled fields. Plain data only: the templates escape it."""

from __future__ import annotations

import json
import re

from mmdata.browse.thumbs import THUMB_SIZE
from mmdata.records import JSON_FIELDS, PLACEHOLDERS, SINGLE_MEDIA
from mmdata.store.tables import field_names
from mmdata.store.versions import VersionRef

_PLACEHOLDER = re.compile("(" + "|".join(re.escape(p) for p in PLACEHOLDERS.values()) + ")")
_KIND_OF = {text: kind for kind, text in PLACEHOLDERS.items()}
_ROLES = {"user", "assistant", "system"}
# English / Malay pairs among the media kinds' fields: the language toggle shows one side or both.
_LANG = {"caption": "en", "caption_ms": "ms", "description": "en", "description_ms": "ms", "text_en": "en", "text_ms": "ms"}


def duration(seconds: float | None) -> str:
    """``1.0 s`` under a minute, ``m:ss`` above; empty when unknown.

    >>> duration(1.04), duration(125.4), duration(None)
    ('1.0 s', '2:05', '')
    """
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}:{rest:02d}"


def thumb_box(width: int | None, height: int | None, size: int = THUMB_SIZE) -> tuple[int | None, int | None]:
    """The size an image's thumbnail is shown at (its own size, shrunk to fit ``size``), so the
    page does not jump as thumbnails arrive; (None, None) when its size is unknown."""
    if not width or not height:
        return None, None
    scale = min(1.0, size / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def medium(media_id: str, kind: str, n: int, facts: dict, key: str) -> dict:
    """One image or clip of a record: its id, label ("image 1"), anchor and measurements."""
    fact = facts.get(media_id) or {}
    width, height = thumb_box(fact.get("width"), fact.get("height"))
    return {
        "id": media_id,
        "kind": kind,
        "n": n,
        "label": f"{kind} {n}",
        "anchor": f"m-{key}-{kind}-{n}",
        "width": fact.get("width"),
        "height": fact.get("height"),
        "thumb_width": width,
        "thumb_height": height,
        "duration": duration(fact.get("duration_s")),
        "known": bool(fact),
    }


def _segments(text: str | None, seen: dict[str, int], media: dict[str, list]) -> list[dict] | None:
    """``text`` as text pieces and placeholders, each placeholder numbered by its medium across the
    whole conversation (``seen`` carries the count from turn to turn)."""
    if text is None:
        return None
    out = []
    for piece in _PLACEHOLDER.split(text):
        if piece in _KIND_OF:
            kind = _KIND_OF[piece]
            seen[kind] = seen.get(kind, 0) + 1
            items = media.get(kind, [])
            n = seen[kind]
            out.append({"placeholder": kind, "n": n, "item": items[n - 1] if n <= len(items) else None})
        elif piece:
            out.append({"text": piece})
    return out


def _pretty(value) -> str:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return value
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True)


def conversation(row: dict, facts: dict) -> dict:
    """Turns (English and Malay pieces, the media first named in each), the media no placeholder
    names, and the folded-away metadata of a conversation row."""
    key = row["key"]
    media = {
        kind: [medium(i, kind, n, facts, key) for n, i in enumerate(row.get(column) or [], 1)]
        for column, kind in (("images", "image"), ("audios", "audio"))
    }
    seen_en: dict[str, int] = {}
    seen_ms: dict[str, int] = {}
    shown: set[str] = set()
    turns = []
    for turn in row.get("chat") or []:
        en = _segments(turn.get("content"), seen_en, media)
        ms = _segments(turn.get("content_ms"), seen_ms, media)
        here = []
        for piece in (en or []) + (ms or []):
            item = piece.get("item")
            if item and item["anchor"] not in shown:
                shown.add(item["anchor"])
                here.append(item)
        role = turn.get("role") or ""
        turns.append({"role": role, "cls": role if role in _ROLES else "other", "en": en, "ms": ms, "media": here})
    loose = [item for items in media.values() for item in items if item["anchor"] not in shown]
    meta = []
    if row.get("context"):
        meta.append(("context", row["context"]))
    if row.get("generation"):
        meta.append(("generation", _pretty(row["generation"])))
    if row.get("source"):
        meta.append(("source", "\n".join(row["source"])))
    if row.get("extra"):
        meta.append(("extra", _pretty(row["extra"])))
    return {"turns": turns, "loose": loose, "meta": meta}


def media_record(kind: str, row: dict, facts: dict) -> dict:
    """An audio, image or transcript row: its one medium and its other fields, labelled by language."""
    item = medium(row["media_id"], SINGLE_MEDIA[kind], 1, facts, row["key"]) if row.get("media_id") else None
    if item and kind == "transcript" and row.get("start") is not None and row.get("end") is not None:
        item["fragment"] = f"#t={row['start']:g},{row['end']:g}"  # the player plays this segment of the clip
    fields = []
    for name in [*field_names(kind), "extra"]:
        value = row.get(name)
        if name == "media_id" or value is None or value == "":
            continue
        text = _pretty(value) if name in JSON_FIELDS else str(value)
        fields.append({"name": name, "value": text, "lang": _LANG.get(name, ""), "block": name in JSON_FIELDS})
    return {"item": item, "fields": fields, "meta": []}


def view(version: VersionRef, row: dict, facts: dict) -> dict:
    """Everything ``_conversation.html`` shows of one row of ``version``."""
    kind = version.record_kind
    body = conversation(row, facts) if kind == "conversation" else media_record(kind, row, facts)
    return {
        "id": row["id"],
        "key": row["key"],
        "record_kind": kind,
        "kind": row.get("kind") if kind == "conversation" else kind,
        "dataset": version.dataset,
        "version": version.version,
        "ref": f"{version.dataset}@{version.version}",
        **body,
    }
