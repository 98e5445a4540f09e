"""Semantic rules a JSON Schema cannot say.

Each rule returns violations as ``(field_path, rule, message)``; the rule names are stable
(reports and the ``_rejects`` table group by them).
"""

from __future__ import annotations

import re

PLACEHOLDERS = {"images": "<image>", "audios": "<audio>"}

# Strings a scraped machine translator put where a translation should be (the reference
# system's weak point): placeholder nulls and the translator's own user-interface text.
NULL_TEXTS = {"none", "null", "nan", "n/a", "undefined"}
TRANSLATOR_UI = re.compile(
    r"^\s*(google translate|terjemahan google|translate|terjemah|detect language|kesan bahasa|"
    r"translation|terjemahan|see translation|lihat terjemahan|send feedback|hantar maklum balas|"
    r"translated by google|diterjemahkan oleh google|open in google translate|buka dalam google terjemah)\s*[.:!]?\s*$"
    r"|google translate|terjemahan google|translated by google|diterjemahkan oleh google",
    re.IGNORECASE,
)

Violation = tuple[str, str, str]


def conversation_rules(record: dict) -> list[Violation]:
    """Placeholders match media, roles alternate, no empty turns, no fake Malay."""
    found: list[Violation] = []
    chat = record.get("chat") or []
    turns = [t for t in chat if isinstance(t, dict)]
    for i, turn in enumerate(turns):
        for field in ("content", "content_ms"):
            value = turn.get(field)
            if field == "content" and isinstance(value, str) and not value.strip():
                found.append((f"chat/{i}/content", "empty-turn", "turn has no text"))
        ms = turn.get("content_ms")
        if isinstance(ms, str):
            if not ms.strip():
                found.append((f"chat/{i}/content_ms", "empty-turn", "content_ms is blank; leave it out instead"))
            elif ms.strip().lower() in NULL_TEXTS:
                found.append((f"chat/{i}/content_ms", "content-ms-null", f"content_ms is the string {ms.strip()!r}, not a translation"))
            elif TRANSLATOR_UI.search(ms):
                found.append((f"chat/{i}/content_ms", "content-ms-ui-text", f"content_ms is translator interface text: {ms.strip()[:60]!r}"))
            else:
                for placeholder in PLACEHOLDERS.values():
                    want, got = str(turn.get("content", "")).count(placeholder), ms.count(placeholder)
                    if want != got:
                        found.append((f"chat/{i}/content_ms", "placeholder-count",
                                      f"{got} {placeholder} in content_ms but {want} in content"))

    for field, placeholder in PLACEHOLDERS.items():
        media = record.get(field) or []
        count = sum(str(t.get("content", "")).count(placeholder) for t in turns)
        if count != len(media):
            found.append((field, "placeholder-count", f"{count} {placeholder} placeholders in the chat but {len(media)} {field}"))

    roles = [t.get("role") for t in turns]
    body = roles[1:] if roles[:1] == ["system"] else roles
    for i, role in enumerate(body):
        expected = "user" if i % 2 == 0 else "assistant"
        if role != expected:
            index = i + (len(roles) - len(body))
            found.append((f"chat/{index}/role", "role-order", f"expected {expected}, got {role} (user and assistant alternate after an optional system turn)"))
            break
    if body and body[-1] == "user":
        found.append((f"chat/{len(roles) - 1}/role", "role-order", "the chat ends on a user turn with no answer"))
    return found


def transcript_rules(record: dict) -> list[Violation]:
    start, end = record.get("start"), record.get("end")
    if isinstance(start, (int, float)) and isinstance(end, (int, float)) and end <= start:
        return [("end", "time-span", f"end {end} is not after start {start}")]
    if not (record.get("text_ms") or record.get("text_en")):
        return [("text_ms", "empty-turn", "transcript has neither text_ms nor text_en")]
    return []


RULES = {"conversation": conversation_rules, "transcript": transcript_rules}
