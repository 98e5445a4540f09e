"""LLaVA JSON: ``data.json`` = [{id, image, conversations: [{from, value}]}], media beside it.

``image`` is a path (one image) or a list (several); audio, which LLaVA itself does not
read, goes to an ``audio`` key in the same way.
"""

from __future__ import annotations

from pathlib import Path

from mmdata.exporters.chat_files import write_chats
from mmdata.exporters.common import VersionReader

SPEAKERS = {"user": "human", "assistant": "gpt", "system": "system"}


def _row(record: dict, turns: list[dict], images: list[str], audios: list[str]) -> dict:
    row = {"id": record["id"], "conversations": [{"from": SPEAKERS[t["role"]], "value": t["content"]} for t in turns]}
    if images:
        row["image"] = images[0] if len(images) == 1 else images
    if audios:
        row["audio"] = audios[0] if len(audios) == 1 else audios
    return row


def write(reader: VersionReader, out: Path, language: str, progress) -> dict:
    counts = write_chats(reader, out, language, progress, _row)
    reader.manifest(out, format="llava", language=language)
    return counts
