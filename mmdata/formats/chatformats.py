"""LLaVA JSON and LLaMA-Factory sharegpt: the two formats most training code reads.

Every field a row carries is mapped (roles, text, media, system, tools, the input's id), kept
(other fields, at record level; other per-turn fields in ``turn_fields``, one object per turn),
or refused by a rule (video: ``video-unsupported``, see ``schemas/rules.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mmdata.errors import InputError
from mmdata.formats.base import FormatError, as_list, infer_kind, require

# Our roles are LLaMA-Factory's sharegpt tag names, tool turns included, so its data maps one to one.
ROLES = ("system", "user", "assistant", "function_call", "observation")
LLAVA_ROLES = {"human": "user", "gpt": "assistant", **{role: role for role in ROLES}}


def _turns(turns: list, where: str, role_tag: str, content_tag: str, roles: dict[str, str]) -> tuple[list[dict], list[dict]]:
    """(chat, turn_fields): role and text mapped; ``<content>_ms`` (or ``content_ms``) is the Malay side; the rest kept per turn."""
    chat, kept = [], []
    for i, turn in enumerate(turns):
        if not isinstance(turn, dict):
            raise FormatError(f"{where}/{i}", f"a turn must be an object with {role_tag} and {content_tag}")
        tag = turn.get(role_tag)
        if tag not in roles:
            raise FormatError(f"{where}/{i}/{role_tag}", f"unknown role {tag!r}; expected one of {', '.join(sorted(roles))}")
        rest = {k: v for k, v in turn.items() if k not in (role_tag, content_tag)}
        mapped = {"role": roles[tag]}
        if turn.get(content_tag) is not None:
            mapped["content"] = turn[content_tag]
        for ms in (f"{content_tag}_ms", "content_ms"):
            if rest.get(ms) is not None:
                mapped["content_ms"] = rest.pop(ms)
                break
        chat.append(mapped)
        kept.append(rest)
    return chat, kept


def _others(obj: dict, used: set) -> dict:
    """The row's other fields, kept at record level. Names the store gives a meaning of its own are
    kept as ``input_<name>``: ``key`` and ``extra`` always, ``source`` when it is not a list of
    record ids (LLaVA-style data says ``"source": "coco"``), ``generation`` when not an object."""
    kept = {}
    for name, value in obj.items():
        if name in used:
            continue
        clashes = (name in ("key", "extra")
                   or (name == "source" and not (isinstance(value, list) and all(isinstance(v, str) for v in value)))
                   or (name == "generation" and not isinstance(value, dict)))
        kept[f"input_{name}" if clashes else name] = value
    return kept


def _with_turn_fields(record: dict, kept: list[dict]) -> dict:
    if any(kept):
        record["turn_fields"] = kept
    return record


def _source_id(obj: dict, record: dict) -> None:
    """The input's own ``id`` becomes ``source_id`` (``id`` is the store's content hash)."""
    if obj.get("id") is None:
        return
    if obj.get("source_id") is not None and str(obj["source_id"]) != str(obj["id"]):
        raise FormatError("id", f"the row has both id {obj['id']!r} and source_id {obj['source_id']!r}; keep one")
    record["source_id"] = str(obj["id"])


def llava(obj: dict) -> dict:
    """``{id, image, conversations: [{from: human|gpt, value, value_ms}]}``; ``image`` a path, a list, or absent."""
    conversations = require(obj, "conversations", list)
    chat, kept = _turns(conversations, "conversations", "from", "value", LLAVA_ROLES)
    images = as_list(obj.get("image"))
    audios = as_list(obj.get("audio"))
    record = _others(obj, {"conversations", "image", "audio", "id"})
    _source_id(obj, record)
    return _with_turn_fields({"kind": infer_kind(images, audios), **record, "chat": chat, "images": images, "audios": audios}, kept)


@dataclass(frozen=True)
class ShareGPTLayout:
    """Where a sharegpt row keeps things: the ``columns`` and ``tags`` of LLaMA-Factory's ``dataset_info.json``.

    ``messages=None`` is the layout without a ``dataset_info.json``: ``messages: [{role, content}]``
    or ``conversations: [{from, value}]``, whichever the row has, with either set of role names.
    """

    messages: str | None = None
    system: str = "system"
    tools: str = "tools"
    images: str = "images"
    audios: str = "audios"
    videos: str = "videos"
    role_tag: str = "from"
    content_tag: str = "value"
    roles: dict[str, str] = field(default_factory=lambda: dict(LLAVA_ROLES))


# LLaMA-Factory's DatasetAttr defaults: what an entry that leaves a tag out means.
_LF_TAGS = {"role_tag": "from", "content_tag": "value", "user_tag": "human", "assistant_tag": "gpt",
            "observation_tag": "observation", "function_tag": "function_call", "system_tag": "system"}
_TAG_ROLES = {"user_tag": "user", "assistant_tag": "assistant", "observation_tag": "observation",
              "function_tag": "function_call", "system_tag": "system"}
_READ_COLUMNS = ("messages", "system", "tools", "images", "audios", "videos")


def layout_from_dataset_info(entry: dict, where: Path | str) -> ShareGPTLayout:
    """The layout a LLaMA-Factory ``dataset_info.json`` entry describes; InputError for what we do not read."""
    formatting = entry.get("formatting", "alpaca")  # LLaMA-Factory's own default
    if formatting != "sharegpt":
        raise InputError(f"{where}: the entry for {entry.get('file_name')!r} has formatting {formatting!r}; "
                         "mmdata reads LLaMA-Factory's sharegpt formatting only (convert the file, or pass --format)")
    columns = entry.get("columns") or {}
    if entry.get("ranking") or any(columns.get(c) for c in ("chosen", "rejected", "kto_tag")):
        raise InputError(f"{where}: the entry for {entry.get('file_name')!r} is preference data (ranking, chosen/rejected "
                         "or kto_tag); mmdata stores conversations with one answer per question")
    tags = {**_LF_TAGS, **{k: v for k, v in (entry.get("tags") or {}).items() if k in _LF_TAGS}}
    roles = {tags[tag]: role for tag, role in _TAG_ROLES.items() if tags.get(tag)}
    named = {c: columns[c] for c in _READ_COLUMNS if columns.get(c)}
    return ShareGPTLayout(messages=named.pop("messages", "conversations"), role_tag=tags["role_tag"],
                          content_tag=tags["content_tag"], roles=roles, **named)


def sharegpt(obj: dict, layout: ShareGPTLayout | None = None) -> dict:
    """LLaMA-Factory sharegpt: ``{messages: [{role, content}], system, tools, images, audios}``.

    ``layout`` comes from a ``dataset_info.json`` beside the file; without one, the
    ``messages: [{role, content}]`` and ``conversations: [{from, value}]`` spellings are both read.
    A leading system turn is the system prompt; otherwise the ``system`` column is. ``videos``
    is kept so that the ``video-unsupported`` rule refuses the record by name.
    """
    layout = layout or ShareGPTLayout()
    column = layout.messages or ("messages" if isinstance(obj, dict) and "messages" in obj else "conversations")
    turns = require(obj, column, list)
    role_tag, content_tag = layout.role_tag, layout.content_tag
    if layout.messages is None:
        first = next((t for t in turns if isinstance(t, dict)), {})
        role_tag, content_tag = ("from", "value") if "from" in first else ("role", "content")
    chat, kept = _turns(turns, column, role_tag, content_tag, layout.roles)
    used = {column, "id", layout.images, layout.audios, layout.videos, layout.tools}
    system = obj.get(layout.system)
    if not (chat and chat[0]["role"] == "system"):
        # A system turn in the messages wins, as in LLaMA-Factory; the column then stays a plain field.
        used.add(layout.system)
        if isinstance(system, str) and system:
            chat.insert(0, {"role": "system", "content": system})
            kept.insert(0, {})
        elif system not in (None, ""):
            raise FormatError(layout.system, f"the system prompt should be text, got {type(system).__name__}")
    images, audios = as_list(obj.get(layout.images)), as_list(obj.get(layout.audios))
    record = _others(obj, used)
    _source_id(obj, record)
    if obj.get(layout.tools) not in (None, "", []):
        record["tools"] = obj[layout.tools]
    if obj.get(layout.videos) not in (None, "", []):
        record["videos"] = obj[layout.videos]
    return _with_turn_fields({"kind": infer_kind(images, audios), **record, "chat": chat, "images": images, "audios": audios}, kept)
