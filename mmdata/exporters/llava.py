"""LLaVA JSON: ``data.json`` = [{id, image, conversations: [{from, value}]}], media beside it.

``image`` is a path (one image) or a list (several); audio, which LLaVA itself does not
read, goes to an ``audio`` key in the same way.
"""

from __future__ import annotations

import json
from pathlib import Path

from mmdata.exporters.chat_files import chat_in, media_paths
from mmdata.exporters.common import VersionReader

SPEAKERS = {"user": "human", "assistant": "gpt", "system": "system"}


def write(reader: VersionReader, out: Path, language: str, progress) -> dict:
    rows, skipped = [], 0
    for n, record in enumerate(reader.records(), start=1):
        turns = chat_in(record, language)
        if turns is None:
            skipped += 1
            continue
        images, audios = media_paths(reader, record, out)
        row = {"id": record["id"], "conversations": [{"from": SPEAKERS[t["role"]], "value": t["content"]} for t in turns]}
        if images:
            row["image"] = images[0] if len(images) == 1 else images
        if audios:
            row["audio"] = audios[0] if len(audios) == 1 else audios
        rows.append(row)
        progress("exporting", n, reader.count)
    (out / "data.json").write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8")
    reader.manifest(out, format="llava", language=language)
    return {"records": len(rows), "skipped": skipped}
