"""``relationship``: the reference system's JSONL relating several images and audio clips (see docs/formats.md)."""

from __future__ import annotations

from mmdata.formats.base import FormatError, as_list, require, split_media
from mmdata.formats.format import ImportFormat, conversation_rows
from mmdata.records import PLACEHOLDERS


def relationship(obj: dict) -> dict:
    """``{filename: [...], filename_description: [...], instruction, answer, instruction_ms, answer_ms}``.

    The files may be images, audio, or both; the user turn gets one placeholder per file in
    the file order, and the context names each item as the reference prompt did.
    """
    files = require(obj, "filename", list)
    if not files:
        raise FormatError("filename", "the filename list is empty: a relationship needs the files it relates", rule="no-media")
    descriptions = as_list(obj.get("filename_description"))
    if descriptions and len(descriptions) != len(files):
        raise FormatError("filename_description", f"{len(descriptions)} descriptions for {len(files)} files")
    images, audios = split_media(files)
    instruction, answer = require(obj, "instruction", str), require(obj, "answer", str)
    placeholders, labels, counters = [], [], {"image": 0, "audio": 0}
    for ref, description in zip(files, descriptions or [None] * len(files)):
        kind = "image" if ref in images else "audio"
        counters[kind] += 1
        placeholders.append(PLACEHOLDERS[kind])
        if description:
            labels.append(f"{'Picture' if kind == 'image' else 'Audio'} {counters[kind]}: {description}")
    prefix = "".join(p + "\n" for p in placeholders)
    user = {"role": "user", "content": prefix + instruction}
    assistant = {"role": "assistant", "content": answer}
    if obj.get("instruction_ms"):
        user["content_ms"] = prefix + obj["instruction_ms"]
    if obj.get("answer_ms"):
        assistant["content_ms"] = obj["answer_ms"]
    kind = "image-audio" if images and audios else "multi-image" if images else "multi-audio"
    known = {"filename", "filename_description", "instruction", "answer", "instruction_ms", "answer_ms"}
    return {
        "kind": kind,
        "context": "\n".join(labels) or None,
        "chat": [user, assistant],
        "images": images,
        "audios": audios,
        **{k: v for k, v in obj.items() if k not in known},
    }


def _matches(obj: object) -> bool:
    return isinstance(obj, dict) and isinstance(obj.get("filename"), list) and "instruction" in obj


FORMAT = ImportFormat(
    name="relationship",
    reads="reference JSONL `{filename: [...], filename_description: [...], instruction, answer, instruction_ms, answer_ms}`",
    open=conversation_rows(relationship),
    matches=_matches,
    convert=relationship,
)
