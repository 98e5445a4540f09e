"""Tolerant parsers for model output: numbering, bullets, quotes, markdown fences, JSON or not."""

from __future__ import annotations

import json
import re

_FENCE = re.compile(r"^```[a-zA-Z]*\s*|\s*```$", re.M)
_LIST_MARK = re.compile(r"^\s*(?:[-*•]+|\(?\d{1,3}[.)]|\d{1,3}\s*-|q\d+[.:)]?|question\s*\d*[.:)])\s*", re.I)


class ParseError(ValueError):
    """The model's answer has no usable content."""


def strip_fences(text: str) -> str:
    return _FENCE.sub("", text.strip()).strip()


def _json_value(text: str):
    text = strip_fences(text)
    for opener, closer in (("[", "]"), ("{", "}")):
        start, end = text.find(opener), text.rfind(closer)
        if 0 <= start < end:
            try:
                return json.loads(text[start : end + 1])
            except ValueError:
                continue
    return None


def clean_line(line: str) -> str:
    line = _LIST_MARK.sub("", line.strip())
    return line.strip().strip("\"“”'`").strip()


def questions(text: str, limit: int = 5, min_chars: int = 20) -> list[str]:
    """Questions from a list the model wrote: the reference's rules (lines with '?', numbering
    and quotes stripped, longer than 20 characters, at most 5), JSON arrays accepted too."""
    value = _json_value(text)
    if isinstance(value, list):
        lines = [str(v.get("question", "")) if isinstance(v, dict) else str(v) for v in value]
    else:
        lines = strip_fences(text).splitlines()
    found = []
    for line in lines:
        line = clean_line(line)
        if "?" in line and len(line) > min_chars and line not in found:
            found.append(line[: line.rfind("?") + 1])
        if len(found) == limit:
            break
    if not found:
        raise ParseError("no question (a line with '?' longer than 20 characters) in the answer")
    return found


def text(answer: str) -> str:
    """A plain reply: fences and wrapping quotes removed; empty is an error."""
    value = strip_fences(answer).strip().strip('"“”').strip()
    if not value:
        raise ParseError("empty answer")
    return value


def first_question(answer: str) -> str:
    """The user turn the model wrote: its first line that asks something (else its first line)."""
    lines = [clean_line(line) for line in strip_fences(answer).splitlines() if clean_line(line)]
    if not lines:
        raise ParseError("empty answer")
    asking = [line for line in lines if "?" in line]
    line = asking[0] if asking else lines[0]
    return re.sub(r"^(user|pengguna|question|soalan)\s*:\s*", "", line, flags=re.I)


def dialogue(answer: str, min_pairs: int = 1) -> list[tuple[str, str]]:
    """(user, assistant) pairs from JSON ([{user, assistant}] or [{role, content}]) or from
    "User: ... / Assistant: ..." lines."""
    value = _json_value(answer)
    pairs: list[tuple[str, str]] = []
    if isinstance(value, dict):
        value = value.get("dialogue") or value.get("turns") or value.get("conversation")
    if isinstance(value, list) and value and isinstance(value[0], dict):
        if "user" in value[0]:
            pairs = [(str(v.get("user", "")).strip(), str(v.get("assistant", "")).strip()) for v in value]
        elif "role" in value[0]:
            turns = [(v.get("role"), str(v.get("content", "")).strip()) for v in value]
            pairs = [(u, a) for (ru, u), (ra, a) in zip(turns[0::2], turns[1::2]) if ru == "user" and ra == "assistant"]
    else:
        current: dict[str, str] = {}
        for line in strip_fences(answer).splitlines():
            match = re.match(r"^\s*\**\s*(user|assistant|pengguna|pembantu)\s*\**\s*:\s*(.*)$", line, re.I)
            if match:
                role = "user" if match.group(1).lower() in ("user", "pengguna") else "assistant"
                if role == "user" and "user" in current and "assistant" in current:
                    pairs.append((current["user"], current["assistant"]))
                    current = {}
                current[role] = match.group(2).strip()
            elif current and line.strip():
                last = "assistant" if "assistant" in current else "user"
                current[last] += "\n" + line.strip()
        if "user" in current and "assistant" in current:
            pairs.append((current["user"], current["assistant"]))
    pairs = [(u, a) for u, a in pairs if u and a]
    if len(pairs) < min_pairs:
        raise ParseError(f"no dialogue of at least {min_pairs} user/assistant pair(s) in the answer")
    return pairs
