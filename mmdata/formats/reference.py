"""The reference system's two JSONL layouts (see docs/formats.md)."""

from __future__ import annotations

from mmdata.formats.base import FormatError, as_list, require, split_media

TURN = ("role", "content", "content_ms")


def _turns(chat: list) -> tuple[list[dict], list[dict]]:
    """(chat, turn_fields): a turn's other fields are kept beside it, not dropped."""
    turns, kept = [], []
    for i, turn in enumerate(chat):
        if not isinstance(turn, dict):
            raise FormatError(f"chat/{i}", "a turn must be an object with role and content")
        turns.append({k: turn.get(k) for k in TURN if turn.get(k) is not None})
        kept.append({k: v for k, v in turn.items() if k not in TURN})
    return turns, kept


def _with_turn_fields(record: dict, kept: list[dict]) -> dict:
    if any(kept):
        record["turn_fields"] = kept
    return record


def audio_instruction(obj: dict) -> dict:
    """``{context, chat: [{role, content, content_ms}], filename}``: one audio clip per dialogue.

    The first user turn gets an ``<audio>`` placeholder when it has none (the reference
    added it only at training time).
    """
    chat, kept = _turns(require(obj, "chat", list))
    filename = require(obj, "filename", str)
    for turn in chat:
        if turn.get("role") == "user":
            for field in ("content", "content_ms"):
                if isinstance(turn.get(field), str) and "<audio>" not in turn[field]:
                    turn[field] = "<audio>\n" + turn[field]
            break
    extra = {k: v for k, v in obj.items() if k not in ("context", "chat", "filename")}
    return _with_turn_fields({"kind": "audio-instruction", "context": obj.get("context"), "chat": chat, "audios": [filename],
                              "source": [filename], **extra}, kept)


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
        placeholders.append(f"<{kind}>")
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
    return {"kind": kind, "context": "\n".join(labels) or None, "chat": [user, assistant],
            "images": images, "audios": audios, **{k: v for k, v in obj.items() if k not in known}}
