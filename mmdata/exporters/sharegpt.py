"""LLaMA-Factory sharegpt: ``data.json`` plus the ``dataset_info.json`` entry that registers it.

Media paths are relative to the folder, which is what LLaMA-Factory's ``media_dir`` defaults
to when this folder is its ``dataset_dir``. The entry names a column only when some row has
it: LLaMA-Factory reads every named column of every row, and a JSON file whose rows all lack
a key gives it no such column (KeyError). Other fields of a record (``context``, input fields
we keep) stay on its row, where LLaMA-Factory ignores them.
"""

from __future__ import annotations

import json
from pathlib import Path

from mmdata.exporters.chat_files import kept_fields, write_chats
from mmdata.exporters.common import VersionReader
from mmdata.exporters.exporter import Exporter

# Our role names are the tags; LLaMA-Factory's defaults would be human/gpt.
TAGS = {
    "role_tag": "role",
    "content_tag": "content",
    "user_tag": "user",
    "assistant_tag": "assistant",
    "system_tag": "system",
    "function_tag": "function_call",
    "observation_tag": "observation",
}
OPTIONAL_COLUMNS = ("images", "audios", "tools")


def dataset_info(name: str, columns: set[str]) -> dict:
    """The entry for ``data.json``; ``columns`` are the optional columns some row has."""
    return {
        name: {
            "file_name": "data.json",
            "formatting": "sharegpt",
            "columns": {"messages": "messages", **{c: c for c in OPTIONAL_COLUMNS if c in columns}},
            "tags": dict(TAGS),
        }
    }


def _message(turn: dict) -> dict:
    return {
        **turn["fields"],
        "role": turn["role"],
        "content": turn["content"],
        **({"content_ms": turn["content_ms"]} if "content_ms" in turn else {}),
    }


def _row(record: dict, turns: list[dict], images: list[str], audios: list[str]) -> dict:
    row = {**kept_fields(record), "messages": [_message(t) for t in turns]}
    if record.get("source_id") is not None:
        row["id"] = record["source_id"]
    if record.get("tools") not in (None, "", []):
        row["tools"] = record["tools"]
    if images:
        row["images"] = images
    if audios:
        row["audios"] = audios
    return row


def write(reader: VersionReader, out: Path, language: str, progress) -> dict:
    used: set[str] = set()

    def row(*args) -> dict:
        built = _row(*args)
        used.update(c for c in OPTIONAL_COLUMNS if c in built)
        return built

    counts = write_chats(reader, out, language, progress, row)
    name = reader.version.dataset + ("_ms" if language == "ms" else "")
    (out / "dataset_info.json").write_text(json.dumps(dataset_info(name, used), indent=2) + "\n")
    reader.manifest(out, format="sharegpt", language=language)
    return counts


EXPORTER = Exporter(
    name="sharegpt",
    writes="`data.json` + the `dataset_info.json` entry LLaMA-Factory reads it by, media beside",
    write=write,
    conversations_only=True,
)
