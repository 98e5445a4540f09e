"""LLaMA-Factory sharegpt: ``data.json`` plus the ``dataset_info.json`` entry that registers it.

Media paths are relative to the folder, which is what LLaMA-Factory's ``media_dir`` defaults
to when this folder is its ``dataset_dir``.
"""

from __future__ import annotations

import json
from pathlib import Path

from mmdata.exporters.chat_files import write_chats
from mmdata.exporters.common import VersionReader


def dataset_info(name: str) -> dict:
    return {name: {
        "file_name": "data.json",
        "formatting": "sharegpt",
        "columns": {"messages": "messages", "images": "images", "audios": "audios"},
        "tags": {"role_tag": "role", "content_tag": "content", "user_tag": "user",
                 "assistant_tag": "assistant", "system_tag": "system"},
    }}


def _row(record: dict, turns: list[dict], images: list[str], audios: list[str]) -> dict:
    row = {"messages": turns}
    if images:
        row["images"] = images
    if audios:
        row["audios"] = audios
    return row


def write(reader: VersionReader, out: Path, language: str, progress) -> dict:
    counts = write_chats(reader, out, language, progress, _row)
    name = reader.version.dataset + ("_ms" if language == "ms" else "")
    (out / "dataset_info.json").write_text(json.dumps(dataset_info(name), indent=2) + "\n")
    reader.manifest(out, format="sharegpt", language=language)
    return counts
