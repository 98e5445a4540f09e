"""Source records for each synthesis type, and the items (units of work) drawn from them."""

from __future__ import annotations

import hashlib
import random

from mmdata.errors import InputError
from mmdata.store.lake import Store, fetch_dicts
from mmdata.store.tables import from_row
from mmdata.store.versions import resolve
from mmdata.synth.kinds import Item
from mmdata.transcribe.quality import DEFAULT_FILTER

RELATIONSHIP_MEDIA = {"multi-image": ("image",), "multi-audio": ("audio",), "image-audio": ("image", "audio")}


def _contexts(con, ref) -> list[dict]:
    """Things to talk about, each with an id, a media id, the media kind and a text context."""
    if ref.record_kind == "transcript":
        out = []
        for language in ("ms", "en"):  # a chunk may give a Malay and an English context, as in the reference
            for row in fetch_dicts(con, f"SELECT id, media_id, text_{language} AS context FROM {ref.relation} "
                                  f"WHERE {DEFAULT_FILTER.sql(language)} ORDER BY id"):
                out.append({**row, "media": "audio", "language": language})
        return out
    if ref.record_kind in ("image", "audio"):
        out = []
        for row in fetch_dicts(con, f"SELECT * FROM {ref.relation} ORDER BY id"):
            record = from_row(ref.record_kind, row)
            text = " ".join(str(record[k]) for k in ("title", "caption", "description") if record.get(k))
            if text:
                out.append({**record, "id": row["id"], "context": text, "media": ref.record_kind})
        return out
    raise InputError(f"{ref} holds {ref.record_kind} records, which this type cannot read")


def load_items(store: Store, kind: str, refs: list[str], items_per_record: int, seed: int) -> tuple[list[Item], list[str]]:
    """The work items for ``kind`` from source versions ``refs``; also the resolved versions (lineage)."""
    if not refs:
        raise InputError("give at least one --from NAME[@V]")
    pools: dict[str, list[dict]] = {"image": [], "audio": []}
    conversations: list[dict] = []
    resolved = []
    with store.reader() as con:
        for text in refs:
            ref = resolve(con, text)
            resolved.append(str(ref))
            if kind == "translate":
                if ref.record_kind != "conversation":
                    raise InputError(f"--type translate reads conversations; {ref} holds {ref.record_kind} records")
                conversations += [{**from_row("conversation", row), "id": row["id"]}
                                  for row in fetch_dicts(con, f"SELECT * FROM {ref.relation} ORDER BY id")]
            else:
                for context in _contexts(con, ref):
                    pools[context["media"]].append(context)
    sources: list[list[dict]]
    if kind == "translate":
        sources = [[c] for c in conversations]
    elif kind == "audio-instructions":
        sources = [[c] for c in pools["audio"] if c.get("language")]
        if not sources:
            raise InputError("--type audio-instructions needs transcript records that pass the quality filter "
                             "(mmdata.transcribe.DEFAULT_FILTER); none found")
    elif kind == "visual-context":
        sources = [[c] for c in pools["image"]]
    else:
        # One context per record here (the Malay one first), so a clip is never related to itself.
        unique = {m: list({c["id"]: c for c in reversed(pool)}.values())[::-1] for m, pool in pools.items()}
        sources = _draw(unique, RELATIONSHIP_MEDIA[kind], items_per_record, seed)
    items = []
    for index, group in enumerate(sources):
        identity = f"{kind}|{'|'.join(s['id'] + s.get('language', '') for s in group)}|{seed}"
        digest = hashlib.sha256(identity.encode()).hexdigest()
        items.append(Item(digest[:16], kind, group, seed=int(digest[:8], 16), index=index))
    if not items:
        raise InputError(f"no source records usable for --type {kind} in {', '.join(resolved)}")
    return items, resolved


def _draw(pools: dict[str, list[dict]], media: tuple[str, ...], k: int, seed: int) -> list[list[dict]]:
    """Groups of k items drawn without replacement (seeded); image-audio takes both kinds, at least one each."""
    if k < 2:
        raise InputError("--items must be at least 2")
    rng = random.Random(seed)
    shuffled = {m: rng.sample(pools[m], len(pools[m])) for m in media}
    for m in media:
        if not shuffled[m]:
            raise InputError(f"no {m} sources with text to relate (give --from datasets holding {m} records)")
    if len(media) == 1:
        pool = shuffled[media[0]]
        return [pool[i:i + k] for i in range(0, len(pool) - k + 1, k)]
    audios, images = k // 2, k - k // 2  # the reference's mixed prompt: audio first, then pictures
    groups = []
    while len(shuffled["audio"]) >= audios and len(shuffled["image"]) >= images:
        groups.append([shuffled["audio"].pop() for _ in range(audios)] + [shuffled["image"].pop() for _ in range(images)])
    return groups
