"""Reading source versions for synthesis (text contexts of media records, or whole conversations),
and the items (units of work) a type groups them into."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from mmdata.errors import InputError

if TYPE_CHECKING:
    from mmdata.store.versions import VersionRef
    from mmdata.synth.types.base import SynthType


@dataclass
class Item:
    """One unit of work: the source records it reads, and a seed of its own."""

    id: str
    kind: str
    sources: list[dict]
    seed: int
    index: int = 0


@dataclass(frozen=True)
class Source:
    """One ``--from`` version as a type's ``read`` sees it: ``relation`` is its rows with ``--where``
    applied, and ``quality_filter`` says whether transcripts must pass the quality filter."""

    ref: VersionRef
    where: str | None = None
    quality_filter: bool = True

    @property
    def record_kind(self) -> str:
        return self.ref.record_kind

    @property
    def relation(self) -> str:
        """SQL for the selected rows: the version's, or a subquery keeping those ``where`` matches."""
        if not self.where:
            return self.ref.relation
        return f"(SELECT * FROM {self.ref.relation} WHERE ({self.where}))"

    def __str__(self) -> str:
        return str(self.ref)


def contexts(con, ref: Source) -> list[dict]:
    """Things to talk about, each with an id, a media id, the media kind and a text context.
    Transcripts give a context per language that passes the quality filter (any non-blank text
    when ``ref.quality_filter`` is off)."""
    from mmdata.store.lake import fetch_dicts
    from mmdata.store.tables import from_row
    from mmdata.transcribe.quality import DEFAULT_FILTER

    if ref.record_kind == "transcript":
        out = []
        for language in ("ms", "en"):  # a chunk may give a Malay and an English context, as in the reference
            keep = DEFAULT_FILTER.sql(language) if ref.quality_filter else f"trim(text_{language}) <> ''"
            for row in fetch_dicts(
                con, f"SELECT id, media_id, text_{language} AS context FROM {ref.relation} WHERE {keep} ORDER BY id"
            ):
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


def conversations(con, ref: Source) -> list[dict]:
    """Whole conversation records, with their ids."""
    from mmdata.store.lake import fetch_dicts
    from mmdata.store.tables import from_row

    if ref.record_kind != "conversation":
        raise InputError(f"{ref} holds {ref.record_kind} records, which this type cannot read (it reads conversations)")
    return [
        {**from_row("conversation", row), "id": row["id"]}
        for row in fetch_dicts(con, f"SELECT * FROM {ref.relation} ORDER BY id")
    ]


def load_items(
    store,
    synth_type: SynthType,
    refs: list[str],
    items_per_record: int,
    seed: int,
    *,
    where: str | None = None,
    quality_filter: bool = True,
) -> tuple[list[Item], list[str]]:
    """The work items of ``synth_type`` from source versions ``refs``, each read through ``where`` (a
    SQL condition over its records, as a mix source's) and the quality filter; also the resolved
    versions (lineage)."""
    from mmdata.store.versions import resolve

    if not refs:
        raise InputError("give at least one --from NAME[@V]")
    rows: list[dict] = []
    resolved = []
    with store.reader() as con:
        if where:
            con.execute("USE lake")  # a --where may name other datasets, as in `mmdata query` (their newest version)
        for text in refs:
            ref = resolve(con, text)
            resolved.append(str(ref))
            if where:
                _guard(con, ref, where)
            rows += synth_type.read(con, Source(ref, where or None, quality_filter))
    import hashlib  # here, not at the top: `mmdata --help` imports this module for its registry

    items = []
    for index, group in enumerate(synth_type.group(rows, items_per_record, seed)):
        # The id names the sources (and the language of each context) and the seed: stable across
        # runs, which is what the journal's done list and the shard split rely on.
        identity = f"{synth_type.name}|{'|'.join(s['id'] + s.get('language', '') for s in group)}|{seed}"
        digest = hashlib.sha256(identity.encode()).hexdigest()
        items.append(Item(digest[:16], synth_type.name, group, seed=int(digest[:8], 16), index=index))
    if not items:
        chosen = f" matching --where {where!r}" if where else ""
        raise InputError(f"no source records{chosen} usable for --type {synth_type.name} in {', '.join(resolved)}")
    return items, resolved


def _guard(con, ref: VersionRef, where: str) -> None:
    """Refuse a ``--where`` that could write or does not bind, before anything is read: the mix's
    ``where`` guard (the same check as ``mmdata query``), so the two cannot drift apart."""
    from mmdata.mix.filters import WHERE

    WHERE.guard(con, f"SELECT * FROM {ref.relation} WHERE ({where})", f"--from {ref}")
