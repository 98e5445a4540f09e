"""LLaVA JSON: ``data.json`` = [{id, image, conversations: [{from, value}]}], media beside it.

``image`` is a path (one image) or a list (several); audio, which LLaVA itself does not
read, goes to an ``audio`` key in the same way. ``id`` is the input's own id (``source_id``)
when it had one, else the record's content hash. An English export keeps the Malay side of a
turn as ``value_ms`` and the turn's other input fields beside ``from`` / ``value``; the
record's other fields (``context``, input fields we keep) stay on the row.
"""

from __future__ import annotations

from pathlib import Path

from mmdata.exporters.chat_files import kept_fields, write_chats
from mmdata.exporters.common import VersionReader
from mmdata.exporters.exporter import Exporter

# Tool turns keep LLaMA-Factory's tag names, which its reader of this layout (sharegpt with from/value) knows.
SPEAKERS = {
    "user": "human",
    "assistant": "gpt",
    "system": "system",
    "function_call": "function_call",
    "observation": "observation",
}


def _turn(turn: dict) -> dict:
    out = {**turn["fields"], "from": SPEAKERS[turn["role"]], "value": turn["content"]}
    if "content_ms" in turn:
        out["value_ms"] = turn["content_ms"]
    return out


def _row(record: dict, turns: list[dict], images: list[str], audios: list[str]) -> dict:
    row = {**kept_fields(record), "id": record.get("source_id") or record["id"], "conversations": [_turn(t) for t in turns]}
    if images:
        row["image"] = images[0] if len(images) == 1 else images
    if audios:
        row["audio"] = audios[0] if len(audios) == 1 else audios
    return row


def write(reader: VersionReader, out: Path, language: str, progress) -> dict:
    counts = write_chats(reader, out, language, progress, _row)
    reader.manifest(out, format="llava", language=language)
    return counts


EXPORTER = Exporter(
    name="llava",
    writes="`data.json` in LLaVA's layout, media in `images/` and `audios/` beside it",
    write=write,
    conversations_only=True,
)
