"""``llava``: LLaVA JSON ``[{id, image, conversations: [{from: human|gpt, value, value_ms}]}]`` (or JSONL)."""

from __future__ import annotations

from mmdata.formats.base import as_list, infer_kind, require
from mmdata.formats.chat import LLAVA_ROLES, keep_source_id, map_turns, other_fields, with_turn_fields
from mmdata.formats.format import ImportFormat, conversation_rows


def llava(obj: dict) -> dict:
    """``{id, image, conversations: [{from: human|gpt, value, value_ms}]}``; ``image`` a path, a list, or absent."""
    conversations = require(obj, "conversations", list)
    chat, kept = map_turns(conversations, "conversations", "from", "value", LLAVA_ROLES)
    images = as_list(obj.get("image"))
    audios = as_list(obj.get("audio"))
    record = other_fields(obj, {"conversations", "image", "audio", "id"})
    keep_source_id(obj, record)
    return with_turn_fields(
        {"kind": infer_kind(images, audios), **record, "chat": chat, "images": images, "audios": audios}, kept
    )


def _matches(obj: object) -> bool:
    if not isinstance(obj, dict):
        return False
    keys = obj.keys()
    # sharegpt rows may carry an id too: any sharegpt-only column makes the row sharegpt
    sharegpt_only = {"images", "audios", "videos", "tools", "system"}
    return "conversations" in keys and ("image" in keys or "id" in keys) and not keys & sharegpt_only


FORMAT = ImportFormat(
    name="llava",
    reads="LLaVA JSON `[{id, image, conversations: [{from: human|gpt, value, value_ms}]}]` (or JSONL); "
    "`image` a string, a list, or absent",
    open=conversation_rows(llava),
    matches=_matches,
    convert=llava,
)
