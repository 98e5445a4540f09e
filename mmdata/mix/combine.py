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

_COUNTED = {"image": re.compile(r"\b(picture|gambar|image|imej)(\s+)(\d+)\b", re.I),
            "audio": re.compile(r"\b(audio|klip audio|clip)(\s+)(\d+)\b", re.I)}


def renumber(text: str, images_before: int, audios_before: int) -> str:
    """Shift "picture N" / "gambar N" / "audio N" by the media of the parts before this one."""
    for kind, offset in (("image", images_before), ("audio", audios_before)):
        if offset:
            text = _COUNTED[kind].sub(lambda m: f"{m.group(1)}{m.group(2)}{int(m.group(3)) + offset}", text)
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


def combine_rows(con, spec, full_rows: str) -> int:
    """Register ``spec.combine["rows"]`` rows joined from the mixture's rows (the query ``full_rows``) as
    ``combined_rows``; how many were made."""
    wanted = int(spec.combine["rows"])
    low, high = spec.combine.get("parts", [2, 4])
    rng = random.Random(f"combine:{spec.seed}")
    groups: dict[tuple, dict[str, list]] = {}
    result = con.execute(f"""SELECT id, copy, kind, language, split, to_json(chat)::VARCHAR AS chat, images, audios FROM ({full_rows})
                             ORDER BY md5(id || ':' || copy || ':' || language || ':combine:{spec.seed}')""")
    for record_id, copy, kind, language, split, chat, images, audios in result.fetchall():
        groups.setdefault((language, split), {}).setdefault(kind, []).append(
            {"id": record_id, "chat": json.loads(chat), "images": images, "audios": audios})
    usable = sorted((key, kinds) for key, kinds in groups.items() if len(kinds) >= low)
    made = []
    while usable and len(made) < wanted:
        (language, split), kinds = usable[len(made) % len(usable)]
        k = rng.randint(low, min(high, len(kinds)))
        chosen = rng.sample(sorted(kinds), k)
        parts = [kinds[kind][len(made) % len(kinds[kind])] for kind in chosen]
        joined = join(parts)
        made.append({"kind": "combined", "context": None, "chat": joined["chat"], "images": joined["images"],
                     "audios": joined["audios"], "generation": None, "source": [p["id"] for p in parts], "extra": None,
                     "src": -1, "copy": len(made), "language": language, "split": split,
                     "id": "combined-" + "-".join(p["id"] for p in parts)})
    if made:
        turn = pa.struct([("role", pa.string()), ("content", pa.string()), ("content_ms", pa.string())])
        schema = pa.schema([("kind", pa.string()), ("context", pa.string()), ("chat", pa.list_(turn)),
                            ("images", pa.list_(pa.string())), ("audios", pa.list_(pa.string())), ("generation", pa.string()),
                            ("source", pa.list_(pa.string())), ("extra", pa.string()), ("src", pa.int32()), ("copy", pa.int64()),
                            ("language", pa.string()), ("split", pa.string()), ("id", pa.string())])
        for row in made:
            row["chat"] = [{"role": t["role"], "content": t["content"], "content_ms": None} for t in row["chat"]]
        con.register("combined_rows", pa.Table.from_pylist(made, schema=schema))
    return len(made)
