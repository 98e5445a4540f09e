"""Shared by the LLaVA and sharegpt writers: conversations in one language, their media copied beside."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

from mmdata.exporters.common import VersionReader, copy_media, turn_text

RowBuilder = Callable[[dict, list[dict], list[str], list[str]], dict]


def chat_in(record: dict, language: str) -> list[dict] | None:
    """The turns as {role, content} in ``language``; None when a turn has no text in it."""
    turns = [{"role": t["role"], "content": turn_text(t, language)} for t in record["chat"]]
    return None if any(t["content"] is None for t in turns) else turns


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
    return {"records": len(rows), "skipped": skipped}
