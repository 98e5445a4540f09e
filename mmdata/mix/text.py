"""SQL for the texts the filters compare: a record's fields joined, spaces collapsed and trimmed,
each guarded so the costly string functions run only on the texts that need them."""

from __future__ import annotations

# What DuckDB's trim() strips: the Unicode space separators (Zs), not tabs or newlines.
SPACES = (0x20, 0xA0, 0x1680, *range(0x2000, 0x200B), 0x202F, 0x205F, 0x3000)


def field_text(field: str) -> str:
    """SQL for one field's text (``chat``, ``user``, ``assistant`` or ``context``) of a record."""
    if field == "context":
        return "coalesce(context, '')"
    if field == "chat":  # no filter: list_filter(..., true) still copies every list
        return "array_to_string(list_transform(chat, lambda t: t.content), ' ')"
    role = {"user": "'user'", "assistant": "'assistant'"}[field]
    return f"array_to_string(list_transform(list_filter(chat, lambda t: t.role = {role}), lambda t: t.content), ' ')"


def fields_text(fields: list[str]) -> str:
    """SQL for several fields' texts joined by a space."""
    return " || ' ' || ".join(field_text(f) for f in fields)


def single_spaced(column: str) -> str:
    """SQL collapsing each whitespace run in ``column`` to one space (RE2's ``\\s``: space, tab, newline,
    form feed, carriage return). The regex runs only on texts that need it: most do not, and it
    costs five times a plain scan."""
    needs = " OR ".join(f"contains({column}, {c})" for c in ("'  '", "chr(9)", "chr(10)", "chr(12)", "chr(13)"))
    return f"CASE WHEN {needs} THEN regexp_replace({column}, '\\s+', ' ', 'g') ELSE {column} END"


def trimmed(column: str) -> str:
    """SQL for ``trim(column)``, run only on texts that start or end with a space: trim copies every
    text it is given, which costs seven times these checks."""
    ends = " OR ".join(f"ends_with({column}, chr({c}))" for c in SPACES)
    return f"CASE WHEN ascii({column}) IN ({', '.join(map(str, SPACES))}) OR {ends} THEN trim({column}) ELSE {column} END"
