"""Shared by the LLaVA and sharegpt writers: conversations in one language, their media copied beside."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from mmdata.exporters.common import VersionReader, copy_media, turn_text

RowBuilder = Callable[[dict, list[dict], list[str], list[str]], dict]

# What the writers map themselves, and the store's own provenance (kept by the jsonl export).
_NOT_KEPT = {"id", "kind", "chat", "images", "audios", "turn_fields", "source_id", "generation", "source"}


def kept_fields(record: dict) -> dict:
    """The record's other fields (``context``, input fields the schema does not name), written back beside the chat."""
    return {k: v for k, v in record.items() if k not in _NOT_KEPT and v is not None}


def chat_in(record: dict, language: str) -> list[dict] | None:
    """The turns as ``{role, content, content_ms?, fields}`` in ``language``; None when a turn has no text in it.

    An English export keeps the Malay side as ``content_ms`` (the formats have room for it and
    a re-import gets it back); ``fields`` are the turn's other input fields (``turn_fields``).
    """
    kept = record.get("turn_fields") or []
    turns = []
    for i, turn in enumerate(record["chat"]):
        text = turn_text(turn, language)
        if text is None:
            return None
        out = {"role": turn["role"], "content": text, "fields": kept[i] if i < len(kept) else {}}
        if language == "en" and turn.get("content_ms") is not None:
            out["content_ms"] = turn["content_ms"]
        turns.append(out)
    return turns


def write_chats(reader: VersionReader, out: Path, language: str, progress, build: RowBuilder) -> dict:
    """Write ``data.json`` with ``build(record, turns, image_paths, audio_paths)`` per record."""
    rows, skipped = [], 0
    for n, record in enumerate(reader.records(), start=1):
        turns = chat_in(record, language)
        if turns is None:
            skipped += 1
            continue
        images = [copy_media(reader, m, out / "images", out) for m in record.get("images", [])]
        audios = [copy_media(reader, m, out / "audios", out) for m in record.get("audios", [])]
        rows.append(build(record, turns, images, audios))
        progress("exporting", n, reader.count)
    (out / "data.json").write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8")
    return {"records": len(rows), "skipped": skipped, "skipped_reasons": {f"no-{language}-text": skipped} if skipped else {}}
