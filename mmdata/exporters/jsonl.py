"""Our own format: ``data.jsonl`` of records, media under ``media/ab/<id>.<ext>``, ``mmdata.json``.

Importing the folder's ``data.jsonl`` into any store gives back the same records (same ids).
"""

from __future__ import annotations

import json
from pathlib import Path

from mmdata.exporters.common import VersionReader, copy_media
from mmdata.exporters.exporter import Exporter
from mmdata.records import MEDIA_FIELDS


def write(reader: VersionReader, out: Path, language: str, progress) -> dict:
    kind = reader.version.record_kind
    written = 0
    with open(out / "data.jsonl", "w", encoding="utf-8") as fh:
        for record in reader.records():
            ids = [m for field in MEDIA_FIELDS.get(kind, {}) for m in record.get(field, [])] or [record.get("media_id")]
            for media_id in filter(None, ids):
                copy_media(reader, media_id, out / "media" / media_id[:2], out)
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
            written += 1
            progress("exporting", written, reader.count)
    reader.manifest(out, format="jsonl")
    return {"records": written, "skipped": 0}


EXPORTER = Exporter(
    name="jsonl",
    write=write,
    writes="`data.jsonl` (our records), `media/ab/<id>.<ext>`, `mmdata.json`; importing it gives back the same records",
)
