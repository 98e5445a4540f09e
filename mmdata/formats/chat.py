"""What the chat formats (LLaVA, sharegpt) share: turns mapped to our roles, the row's other fields kept.

Every field a row carries is mapped (roles, text, media, system, tools, the input's id), kept
(other fields, at record level; other per-turn fields in ``turn_fields``, one object per turn),
or refused by a rule (video: ``video-unsupported``, see ``schemas/rules.py``).
"""

from __future__ import annotations

from mmdata.formats.base import FormatError

# Our roles are LLaMA-Factory's sharegpt tag names, tool turns included, so its data maps one to one.
ROLES = ("system", "user", "assistant", "function_call", "observation")
LLAVA_ROLES = {"human": "user", "gpt": "assistant", **{role: role for role in ROLES}}


def map_turns(turns: list, where: str, role_tag: str, content_tag: str, roles: dict[str, str]) -> tuple[list[dict], list[dict]]:
    """(chat, turn_fields): role and text mapped; ``<content>_ms`` (or ``content_ms``) is the Malay side;
    the rest is kept per turn."""
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


def other_fields(obj: dict, used: set) -> dict:
    """The row's other fields, kept at record level. Names the store gives a meaning of its own are
    kept as ``input_<name>``: ``key`` and ``extra`` always, ``source`` when it is not a list of
    record ids (LLaVA-style data says ``"source": "coco"``), ``generation`` when not an object."""
    kept = {}
    for name, value in obj.items():
        if name in used:
            continue
        clashes = (
            name in ("key", "extra")
            or (name == "source" and not (isinstance(value, list) and all(isinstance(v, str) for v in value)))
            or (name == "generation" and not isinstance(value, dict))
        )
        kept[f"input_{name}" if clashes else name] = value
    return kept


def with_turn_fields(record: dict, kept: list[dict]) -> dict:
    if any(kept):
        record["turn_fields"] = kept
    return record


def keep_source_id(obj: dict, record: dict) -> None:
    """The input's own ``id`` becomes ``source_id`` (``id`` is the store's content hash)."""
    if obj.get("id") is None:
        return
    if obj.get("source_id") is not None and str(obj["source_id"]) != str(obj["id"]):
        raise FormatError("id", f"the row has both id {obj['id']!r} and source_id {obj['source_id']!r}; keep one")
    record["source_id"] = str(obj["id"])
