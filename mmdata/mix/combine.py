"""``combine``: join rows of different kinds into one multi-turn conversation (the reference's lost step).

Placeholders are positional (the n-th ``<image>`` is the n-th image), so concatenating the turns
and the media lists in the same order keeps every placeholder on its media; what must change is
the text that counts media ("picture 2", "gambar 2", "audio 1"), renumbered past the parts before.
"""

from __future__ import annotations

import json
import random
import re

import pyarrow as pa

from mmdata.store.tables import arrow_schema

_COUNTED = {
    "image": re.compile(r"\b(picture|gambar|image|imej)(\s+)(\d+)\b", re.I),
    "audio": re.compile(r"\b(audio|klip audio|clip)(\s+)(\d+)\b", re.I),
}


def renumber(text: str, images_before: int, audios_before: int) -> str:
    """Shift "picture N" / "gambar N" / "audio N" by the media of the parts before this one."""
    for kind, offset in (("image", images_before), ("audio", audios_before)):
        if offset:
            text = _COUNTED[kind].sub(lambda m, offset=offset: f"{m.group(1)}{m.group(2)}{int(m.group(3)) + offset}", text)
    return text


def join(parts: list[dict]) -> dict:
    """One conversation from ``parts`` (each with chat, images, audios), in order."""
    chat, images, audios = [], [], []
    for index, part in enumerate(parts):
        turns = part["chat"] if index == 0 else [t for t in part["chat"] if t["role"] != "system"]
        for turn in turns:
            chat.append({**turn, "content": renumber(turn["content"], len(images), len(audios))})
        images += part["images"] or []
        audios += part["audios"] or []
    return {"chat": chat, "images": images, "audios": audios}


def combine_rows(state, full_rows: str) -> int:
    """Register up to ``spec.combine["rows"]`` rows joined from the mixture's rows (the query
    ``full_rows`` over the key table ``state.drawn``) as ``state.combined``; how many were made.

    Each (language, split) group takes its turn; each kind's parts are walked in a seeded order, one
    cursor per list, and a combination already made is not made twice (small pools give fewer rows).
    """
    con, spec = state.con, state.spec
    wanted = int(spec.combine["rows"])
    low, high = spec.combine.get("parts", [2, 4])
    rng = random.Random(f"combine:{spec.seed}")
    groups: dict[tuple, dict[str, list]] = {}

    def draw(alias: str) -> str:
        return f"md5({alias}.id || ':' || {alias}.copy || ':' || {alias}.language || ':combine:{spec.seed}')"

    # A list's cursor moves once per row made, so no list is read past `wanted` entries: rank on the
    # keys first and fetch only those rows, not the whole mixture.
    result = con.execute(f"""
        WITH ranked AS (
            SELECT r.src, r.id, r.copy, r.language FROM {state.drawn} r JOIN {state.records} s ON s.src = r.src AND s.id = r.id
            QUALIFY row_number() OVER (PARTITION BY r.language, r.split, s.kind ORDER BY {draw("r")}) <= {wanted})
        SELECT f.id, f.copy, f.kind, f.language, f.split, to_json(f.chat)::VARCHAR AS chat, f.images, f.audios
        FROM ({full_rows}) f SEMI JOIN ranked k ON f.src = k.src AND f.id = k.id AND f.copy = k.copy AND f.language = k.language
        ORDER BY {draw("f")}""")
    for record_id, copy, kind, language, split, chat, images, audios in result.fetchall():
        groups.setdefault((language, split), {}).setdefault(kind, []).append(
            {"id": record_id, "copy": copy, "chat": json.loads(chat), "images": images, "audios": audios}
        )
    usable = sorted((key, kinds) for key, kinds in groups.items() if len(kinds) >= low)
    made, seen, cursors, turn = [], set(), {}, 0
    while usable and len(made) < wanted and turn < 4 * wanted:  # bounded: small pools run out of new combinations
        (language, split), kinds = usable[turn % len(usable)]
        turn += 1
        k = rng.randint(low, min(high, len(kinds)))
        parts = []
        for kind in rng.sample(sorted(kinds), k):
            at = cursors.get((language, split, kind), 0)
            cursors[(language, split, kind)] = at + 1
            parts.append(kinds[kind][at % len(kinds[kind])])
        identity = f"combined:{language}:{split}:" + "+".join(f"{p['id']}.{p['copy']}" for p in parts)
        if identity in seen:
            continue
        seen.add(identity)
        joined = join(parts)
        made.append(
            {
                "kind": "combined",
                "context": None,
                "chat": joined["chat"],
                "images": joined["images"],
                "audios": joined["audios"],
                "generation": None,
                "source": [p["id"] for p in parts],
                "extra": None,
                "src": -1,
                "copy": len(made),
                "language": language,
                "split": split,
                "id": identity,
            }
        )
    if made:
        record = [f for f in arrow_schema("conversation") if f.name not in ("id", "key")]
        schema = pa.schema(
            record
            + [("src", pa.int32()), ("copy", pa.int64()), ("language", pa.string()), ("split", pa.string()), ("id", pa.string())]
        )
        for row in made:
            row["chat"] = [{"role": t["role"], "content": t["content"], "content_ms": None} for t in row["chat"]]
        con.register(state.combined, pa.Table.from_pylist(made, schema=schema))
    return len(made)
