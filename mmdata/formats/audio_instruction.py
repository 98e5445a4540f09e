"""``audio-instruction``: the reference system's JSONL of one audio clip per dialogue (see docs/formats.md)."""

from __future__ import annotations

from mmdata.formats.base import FormatError, require
from mmdata.formats.chat import with_turn_fields
from mmdata.formats.format import ImportFormat, conversation_rows
from mmdata.records import PLACEHOLDERS

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
                if isinstance(turn.get(field), str) and PLACEHOLDERS["audio"] not in turn[field]:
                    turn[field] = PLACEHOLDERS["audio"] + "\n" + turn[field]
            break
    extra = {k: v for k, v in obj.items() if k not in ("context", "chat", "filename")}
    return with_turn_fields(
        {
            "kind": "audio-instruction",
            "context": obj.get("context"),
            "chat": chat,
            "audios": [filename],
            "source": [filename],
            **extra,
        },
        kept,
    )


def _matches(obj: object) -> bool:
    return isinstance(obj, dict) and "chat" in obj and isinstance(obj.get("filename"), str) and "kind" not in obj


FORMAT = ImportFormat(
    name="audio-instruction",
    reads="reference JSONL `{context, chat: [{role, content, content_ms}], filename}`",
    open=conversation_rows(audio_instruction),
    matches=_matches,
    convert=audio_instruction,
)
