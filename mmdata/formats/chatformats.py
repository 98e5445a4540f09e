"""LLaVA JSON and LLaMA-Factory sharegpt: the two formats most training code reads."""

from __future__ import annotations

from mmdata.formats.base import FormatError, as_list, infer_kind, require

LLAVA_ROLES = {"human": "user", "gpt": "assistant", "system": "system", "user": "user", "assistant": "assistant"}


def llava(obj: dict) -> dict:
    """``{id, image, conversations: [{from: human|gpt, value}]}``; ``image`` a path, a list, or absent."""
    conversations = require(obj, "conversations", list)
    chat = []
    for i, turn in enumerate(conversations):
        if not isinstance(turn, dict) or turn.get("from") not in LLAVA_ROLES:
            raise FormatError(f"conversations/{i}/from", f"unknown speaker {turn.get('from') if isinstance(turn, dict) else turn!r}")
        chat.append({"role": LLAVA_ROLES[turn["from"]], "content": turn.get("value")})
    images = as_list(obj.get("image"))
    audios = as_list(obj.get("audio"))
    extra = {k: v for k, v in obj.items() if k not in ("conversations", "image", "audio", "id")}
    if obj.get("id") is not None:
        extra["source_id"] = str(obj["id"])
    return {"kind": infer_kind(images, audios), "chat": chat, "images": images, "audios": audios, **extra}


def sharegpt(obj: dict) -> dict:
    """LLaMA-Factory sharegpt: ``{messages: [{role, content}], images, audios}``.

    The ``conversations: [{from, value}]`` spelling of the same format is accepted too.
    """
    if "messages" in obj:
        chat = [{"role": t.get("role"), "content": t.get("content")} for t in require(obj, "messages", list)]
    else:
        chat = [{"role": LLAVA_ROLES.get(t.get("from"), t.get("from")), "content": t.get("value")}
                for t in require(obj, "conversations", list)]
    if isinstance(obj.get("system"), str) and obj["system"]:
        chat.insert(0, {"role": "system", "content": obj["system"]})
    images, audios = as_list(obj.get("images")), as_list(obj.get("audios"))
    extra = {k: v for k, v in obj.items() if k not in ("messages", "conversations", "images", "audios", "system")}
    return {"kind": infer_kind(images, audios), "chat": chat, "images": images, "audios": audios, **extra}
