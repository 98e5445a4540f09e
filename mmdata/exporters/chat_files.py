"""Shared by the LLaVA and sharegpt writers: one conversation -> turns in the chosen language + media paths."""

from __future__ import annotations

from pathlib import Path

from mmdata.exporters.common import VersionReader, copy_media, turn_text


def chat_in(record: dict, language: str) -> list[dict] | None:
    """The turns as {role, content} in ``language``; None when a turn has no text in it."""
    turns = [{"role": t["role"], "content": turn_text(t, language)} for t in record["chat"]]
    return None if any(t["content"] is None for t in turns) else turns


def media_paths(reader: VersionReader, record: dict, out: Path) -> tuple[list[str], list[str]]:
    images = [copy_media(reader, m, out / "images", out) for m in record.get("images", [])]
    audios = [copy_media(reader, m, out / "audios", out) for m in record.get("audios", [])]
    return images, audios
