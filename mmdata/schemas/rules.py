"""Semantic rules a JSON Schema cannot say.

Each rule returns ``Violation(field_path, rule, message)``s; the rule names are stable
(reports and the ``_rejects`` table group by them).
"""

from __future__ import annotations

import re

from mmdata.records import MEDIA_FIELDS, PLACEHOLDERS, Violation

# LLaMA-Factory's tool turns: a tool call stands where an answer would, its result where a question would.
ASKING_ROLES = ("user", "observation")
ANSWERING_ROLES = ("assistant", "function_call")

# Tags that look like a media placeholder but are not ours: translators turn <image> into <imej> or
# <gambar>, other tools write <img>, <Image>, <image_1>, <audio_ms>. Taken as text they would
# train a model on a tag it never sees with a medium. Attributes are not matched, so HTML such as
# <img src="..."> in a conversation about web pages passes.
PLACEHOLDER_LIKE = re.compile(
    r"<\s*/?\s*(image|imej|img|gambar|gambarajah|picture|foto|photo|audio|suara|bunyi|video)"
    r"(?:[\s_-]*(?:ms|en|\d+))?\s*/?\s*>",
    re.IGNORECASE,
)
VIDEO_FIELDS = ("videos", "video")

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


def _placeholder_like(path: str, text) -> list[Violation]:
    found = []
    for match in PLACEHOLDER_LIKE.finditer(text if isinstance(text, str) else ""):
        tag = match.group(0)
        if tag in PLACEHOLDERS.values():
            continue
        if match.group(1).lower() == "video":
            found.append(
                Violation(
                    path,
                    "video-unsupported",
                    f"{tag} placeholder: video is not stored; take the video turns out or drop the record",
                )
            )
        else:
            found.append(
                Violation(
                    path,
                    "placeholder-unknown",
                    f"{tag} is not a placeholder; write {' or '.join(PLACEHOLDERS.values())} (one per medium)",
                )
            )
    return found


def conversation_rules(record: dict) -> list[Violation]:
    """Placeholders match media, roles alternate, no empty turns, no fake Malay, no video."""
    found: list[Violation] = []
    for field in VIDEO_FIELDS:
        if record.get(field):
            found.append(
                Violation(
                    field, "video-unsupported", f"the record carries {field!r}; video is not stored (only images and audio)"
                )
            )
    chat = record.get("chat") or []
    turns = [t for t in chat if isinstance(t, dict)]
    turn_fields = record.get("turn_fields")
    if turn_fields is not None and len(turn_fields) != len(turns):
        found.append(Violation("turn_fields", "turn-fields", f"{len(turn_fields)} entries for {len(turns)} turns"))
    for i, turn in enumerate(turns):
        for field in ("content", "content_ms"):
            found += _placeholder_like(f"chat/{i}/{field}", turn.get(field))
        for field in ("content", "content_ms"):
            value = turn.get(field)
            if field == "content" and isinstance(value, str) and not value.strip():
                found.append(Violation(f"chat/{i}/content", "empty-turn", "turn has no text"))
        ms = turn.get("content_ms")
        if isinstance(ms, str):
            if not ms.strip():
                found.append(Violation(f"chat/{i}/content_ms", "empty-turn", "content_ms is blank; leave it out instead"))
            elif ms.strip().lower() in NULL_TEXTS:
                found.append(
                    Violation(
                        f"chat/{i}/content_ms", "content-ms-null", f"content_ms is the string {ms.strip()!r}, not a translation"
                    )
                )
            elif TRANSLATOR_UI.search(ms):
                found.append(
                    Violation(
                        f"chat/{i}/content_ms",
                        "content-ms-ui-text",
                        f"content_ms is translator interface text: {ms.strip()[:60]!r}",
                    )
                )
            else:
                for placeholder in PLACEHOLDERS.values():
                    want, got = str(turn.get("content", "")).count(placeholder), ms.count(placeholder)
                    if want != got:
                        found.append(
                            Violation(
                                f"chat/{i}/content_ms",
                                "placeholder-count",
                                f"{got} {placeholder} in content_ms but {want} in content",
                            )
                        )

    for field, medium in MEDIA_FIELDS["conversation"].items():
        placeholder = PLACEHOLDERS[medium]
        media = record.get(field) or []
        count = sum(str(t.get("content", "")).count(placeholder) for t in turns)
        if count != len(media):
            found.append(
                Violation(field, "placeholder-count", f"{count} {placeholder} placeholders in the chat but {len(media)} {field}")
            )

    roles = [t.get("role") for t in turns]
    body = roles[1:] if roles[:1] == ["system"] else roles
    for i, role in enumerate(body):
        expected = ASKING_ROLES if i % 2 == 0 else ANSWERING_ROLES
        if role not in expected:
            index = i + (len(roles) - len(body))
            found.append(
                Violation(
                    f"chat/{index}/role",
                    "role-order",
                    f"expected {' or '.join(expected)}, got {role} (a question or tool result, then an answer or "
                    "tool call, in turn, after an optional system turn)",
                )
            )
            break
    if body and body[-1] in ASKING_ROLES:
        found.append(Violation(f"chat/{len(roles) - 1}/role", "role-order", f"the chat ends on a {body[-1]} turn with no answer"))
    return found


def transcript_rules(record: dict) -> list[Violation]:
    start, end = record.get("start"), record.get("end")
    if isinstance(start, (int, float)) and isinstance(end, (int, float)) and end <= start:
        return [Violation("end", "time-span", f"end {end} is not after start {start}")]
    if not (record.get("text_ms") or record.get("text_en")):
        return [Violation("text_ms", "empty-turn", "transcript has neither text_ms nor text_en")]
    return []


RULES = {"conversation": conversation_rules, "transcript": transcript_rules}
