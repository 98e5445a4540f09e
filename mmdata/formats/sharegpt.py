"""``sharegpt``: LLaMA-Factory's sharegpt rows, read by the column and tag names of a ``dataset_info.json``
entry when one names the file."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from mmdata.errors import InputError
from mmdata.formats.base import FormatError, as_list, decode_line, infer_kind, parse_json, require
from mmdata.formats.chat import LLAVA_ROLES, keep_source_id, map_turns, other_fields, with_turn_fields
from mmdata.formats.containers import input_files, rows_of
from mmdata.formats.format import ImportFormat, LayoutOf, Reading, converted


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
_LF_TAGS = {
    "role_tag": "from",
    "content_tag": "value",
    "user_tag": "human",
    "assistant_tag": "gpt",
    "observation_tag": "observation",
    "function_tag": "function_call",
    "system_tag": "system",
}
_TAG_ROLES = {
    "user_tag": "user",
    "assistant_tag": "assistant",
    "observation_tag": "observation",
    "function_tag": "function_call",
    "system_tag": "system",
}
_READ_COLUMNS = ("messages", "system", "tools", "images", "audios", "videos")


def layout_from_dataset_info(entry: dict, where: Path | str) -> ShareGPTLayout:
    """The layout a LLaMA-Factory ``dataset_info.json`` entry describes; InputError for what we do not read."""
    formatting = entry.get("formatting", "alpaca")  # LLaMA-Factory's own default
    if formatting != "sharegpt":
        raise InputError(
            f"{where}: the entry for {entry.get('file_name')!r} has formatting {formatting!r}; "
            "mmdata reads LLaMA-Factory's sharegpt formatting only (convert the file, or pass --format)"
        )
    columns = entry.get("columns") or {}
    if entry.get("ranking") or any(columns.get(c) for c in ("chosen", "rejected", "kto_tag")):
        raise InputError(
            f"{where}: the entry for {entry.get('file_name')!r} is preference data (ranking, chosen/rejected "
            "or kto_tag); mmdata stores conversations with one answer per question"
        )
    tags = {**_LF_TAGS, **{k: v for k, v in (entry.get("tags") or {}).items() if k in _LF_TAGS}}
    roles = {tags[tag]: role for tag, role in _TAG_ROLES.items() if tags.get(tag)}
    named = {c: columns[c] for c in _READ_COLUMNS if columns.get(c)}
    return ShareGPTLayout(
        messages=named.pop("messages", "conversations"),
        role_tag=tags["role_tag"],
        content_tag=tags["content_tag"],
        roles=roles,
        **named,
    )


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
    chat, kept = map_turns(turns, column, role_tag, content_tag, layout.roles)
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
    record = other_fields(obj, used)
    keep_source_id(obj, record)
    if obj.get(layout.tools) not in (None, "", []):
        record["tools"] = obj[layout.tools]
    if obj.get(layout.videos) not in (None, "", []):
        record["videos"] = obj[layout.videos]
    return with_turn_fields(
        {"kind": infer_kind(images, audios), **record, "chat": chat, "images": images, "audios": audios}, kept
    )


def dataset_info_entry(path: Path) -> dict | None:
    """The entry of a LLaMA-Factory ``dataset_info.json`` beside ``path`` whose ``file_name`` is ``path``, if any."""
    info_path = path.parent / "dataset_info.json"
    if not path.is_file() or not info_path.is_file():
        return None
    text = decode_line(info_path.read_bytes())
    info = text if isinstance(text, FormatError) else parse_json(text)
    if isinstance(info, FormatError):
        raise InputError(f"{info_path}: {info}")
    if not isinstance(info, dict):
        raise InputError(f"{info_path}: expected an object of dataset entries, got {type(info).__name__}")
    for entry in info.values():
        if isinstance(entry, dict) and isinstance(entry.get("file_name"), str):
            if (info_path.parent / entry["file_name"]).resolve() == path.resolve():
                return entry
    return None


def _claims(path: Path, layout_of: LayoutOf) -> bool:
    entry = dataset_info_entry(path)
    if entry is None:
        return False
    layout_from_dataset_info(entry, path.parent / "dataset_info.json")  # refuses what we do not read
    return True


def _matches(obj: object) -> bool:
    return isinstance(obj, dict) and ("messages" in obj or "conversations" in obj)


def _open(path: Path, layout_of: LayoutOf) -> Reading:
    files = input_files(path)
    convert = sharegpt
    entry = dataset_info_entry(path)
    if entry is not None:
        # Column and role-tag names are the dataset's own; the file is part of what was imported.
        info_path = path.parent / "dataset_info.json"
        convert = partial(sharegpt, layout=layout_from_dataset_info(entry, info_path))
        files.append(info_path)
    return Reading("conversation", converted(rows_of(path), convert), files)


FORMAT = ImportFormat(
    name="sharegpt",
    reads="LLaMA-Factory `{messages: [{role, content}], system, tools, images, audios}` (also the "
    "`conversations: [{from, value}]` spelling); a `dataset_info.json` entry beside the file gives the "
    "column and tag names",
    open=_open,
    matches=_matches,
    convert=sharegpt,
    claims=_claims,
)
