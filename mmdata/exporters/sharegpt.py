"""LLaMA-Factory sharegpt: ``data.json`` plus the ``dataset_info.json`` entry that registers it.

Media paths are relative to the folder, which is what LLaMA-Factory's ``media_dir`` defaults
to when this folder is its ``dataset_dir``.
"""

from __future__ import annotations

import json
from pathlib import Path

from mmdata.exporters.chat_files import chat_in, media_paths
from mmdata.exporters.common import VersionReader


def dataset_info(name: str) -> dict:
    return {name: {
        "file_name": "data.json",
        "formatting": "sharegpt",
        "columns": {"messages": "messages", "images": "images", "audios": "audios"},
        "tags": {"role_tag": "role", "content_tag": "content", "user_tag": "user",
                 "assistant_tag": "assistant", "system_tag": "system"},
    }}


def write(reader: VersionReader, out: Path, language: str, progress) -> dict:
    rows, skipped = [], 0
    for n, record in enumerate(reader.records(), start=1):
        turns = chat_in(record, language)
        if turns is None:
            skipped += 1
            continue
        images, audios = media_paths(reader, record, out)
        row = {"messages": turns}
        if images:
            row["images"] = images
        if audios:
            row["audios"] = audios
        rows.append(row)
        progress("exporting", n, reader.count)
    (out / "data.json").write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8")
    name = reader.version.dataset + ("_ms" if language == "ms" else "")
    (out / "dataset_info.json").write_text(json.dumps(dataset_info(name), indent=2) + "\n")
    reader.manifest(out, format="sharegpt", language=language)
    return {"records": len(rows), "skipped": skipped}
