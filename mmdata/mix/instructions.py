"""``instructions``: re-draw the first user question of some kinds, per row and in its language."""

from __future__ import annotations

from mmdata.mix.spec import MixSpec
from mmdata.store.sql import sql_string


def redrawn_chat(spec: MixSpec) -> str:
    """SQL for ``chat`` with the first user turn's question of the kinds in ``instructions`` replaced by
    one drawn from the pool (per row, seeded), in the row's language; the leading placeholders stay."""
    if not spec.instructions:
        return "chat"
    cases = []
    for kind, pool in spec.instructions.items():
        english = "[" + ", ".join(sql_string(q[0]) for q in pool) + "]"
        malay = "[" + ", ".join(sql_string(q[1]) for q in pool) + "]"
        pick = f"(md5_number_lower(id || ':' || copy || ':instructions:{spec.seed}') % {len(pool)})::BIGINT + 1"
        cases.append(f"""WHEN kind = {sql_string(kind)} AND chat[1].role = 'user' THEN list_concat(
            [struct_pack(role := chat[1].role,
                         content := regexp_extract(chat[1].content, '^(\\s*<(image|audio)>\\s*)*')
                                    || CASE language WHEN 'ms' THEN list_extract({malay}, {pick}) ELSE list_extract({english}, {pick}) END,
                         content_ms := NULL::VARCHAR)],
            chat[2:])""")
    return f"CASE {' '.join(cases)} ELSE chat END"
