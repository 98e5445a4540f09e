"""What ``mmtrain`` reads: ``train.jsonl`` and ``test.jsonl`` of single-language conversations, media beside.

Each line follows ``specs/schemas/training-record.json`` (the whole contract between the two
tools): ``messages`` in one language, ``images`` / ``audios`` as paths relative to the folder in
placeholder order. A mixture's rows are single-language already and carry their split; for any
other conversation dataset every row is English (``content``) and goes to train. Conversations
with tool turns (``function_call`` / ``observation``) are left out and counted: mmtrain's chat
template has no tool roles, and training them as user or assistant text would teach the wrong thing.
"""

from __future__ import annotations

import json
from pathlib import Path

from mmdata.exporters.common import VersionReader, copy_media
from mmdata.exporters.exporter import Exporter

TRAINED_ROLES = {"system", "user", "assistant"}


def write(reader: VersionReader, out: Path, language: str, progress) -> dict:
    files = {split: open(out / f"{split}.jsonl", "w", encoding="utf-8") for split in ("train", "test")}
    counts = {"train": 0, "test": 0}
    skipped: dict[str, int] = {}
    try:
        for n, record in enumerate(reader.records(), start=1):
            progress("exporting", n, reader.count)
            if any(t["role"] not in TRAINED_ROLES for t in record["chat"]):
                skipped["tool-roles"] = skipped.get("tool-roles", 0) + 1
                continue
            split = record.get("split", "train")
            row = {
                "id": record["id"],
                "kind": record["kind"],
                "language": record.get("language", language),
                "messages": [{"role": t["role"], "content": t["content"]} for t in record["chat"]],
                "images": [copy_media(reader, m, out / "media", out) for m in record.get("images", [])],
                "audios": [copy_media(reader, m, out / "media", out) for m in record.get("audios", [])],
                "source": record.get("mix_source", str(reader.version)),
            }
            files[split].write(json.dumps(row, ensure_ascii=False) + "\n")
            counts[split] += 1
    finally:
        for fh in files.values():
            fh.close()
    reader.manifest(out, format="mmtrain", splits=counts, schema="training-record.json", skipped=skipped)
    return {
        "records": counts["train"] + counts["test"],
        "skipped": sum(skipped.values()),
        "skipped_reasons": skipped,
        "splits": counts,
    }


EXPORTER = Exporter(
    name="mmtrain",
    writes="`train.jsonl` / `test.jsonl` of single-language conversations, media in `media/`",
    write=write,
    conversations_only=True,
)
