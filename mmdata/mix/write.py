"""Step 7, write: order and name the drawn rows (and any ``combine`` makes), join them to their
records in each row's language, and write the mixture, in order, to one Parquet file."""

from __future__ import annotations

import json
from pathlib import Path

from mmdata.mix.state import MixState
from mmdata.store.sql import sql_string

# The key-table columns the write carries to the records, and those order_and_name adds.
DRAWN = ["src", "id", "copy", "language", "split"]
NAMED = ["mix_index", "key_hi", "key_lo", "id_hi", "id_lo"]


def output_file(store, name: str, journal) -> tuple[Path, bool]:
    """Where the write goes: straight into the store's data path when it is local, so the commit
    adopts the file instead of copying a million rows; else the run's journal folder."""
    if "://" in store.data_path:
        return journal.dir / "records.parquet", False
    folder = Path(store.data_path) / "main" / name
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"mix-{journal.run_id}.parquet", True


def write_mixture(state: MixState, out_path) -> tuple[int, bool]:
    """Write ``state.rows`` and the combined rows to ``out_path``; the row count and whether every key
    is unique."""
    import polars as pl

    from mmdata.mix.hashing import key_hash
    from mmdata.mix.order import order_and_name

    con, spec = state.con, state.spec
    rows = state.rows.select(*DRAWN, "k_hi", "k_lo")
    combined = 0
    if spec.combine:
        from mmdata.mix.combine import combine_rows

        con.register(state.drawn, rows.to_arrow())
        combined = combine_rows(state, full_rows(state, DRAWN))
        con.unregister(state.drawn)
        if combined:
            made = pl.from_arrow(con.execute(f"SELECT {', '.join(DRAWN)} FROM {state.combined}").to_arrow_table())
            halves = [key_hash(f"combine:{record_id}") for record_id in made["id"]]
            made = made.with_columns(
                pl.Series("k_hi", [h for h, _ in halves], pl.UInt64), pl.Series("k_lo", [low for _, low in halves], pl.UInt64)
            )
            rows = pl.concat([rows, made], how="vertical_relaxed")
    rows, unique = order_and_name(rows, spec)
    # Joined straight from Arrow: a temp table would build the join faster, but copying into it costs more.
    con.register(state.drawn, rows.select(*DRAWN, *NAMED).to_arrow())
    full = full_rows(state, DRAWN + NAMED)
    every = f"({full})"
    if combined:
        every = f"""(SELECT * FROM ({full}) UNION ALL BY NAME
                     SELECT c.*, {", ".join(f"r.{n}" for n in NAMED)} FROM {state.drawn} r JOIN {state.combined} c ON r.src = -1 AND c.id = r.id)"""
    # The mix fields as JSON text built by concatenation: every value is a known-safe word or number
    # except the source reference, which is encoded here once (to_json per row costs a third of the write),
    # in one concat() (a chain of || builds every intermediate string).
    source_ref = (
        "CASE src "
        + " ".join(f"WHEN {i} THEN {sql_string(json.dumps(str(p.ref)))}" for i, p in enumerate(state.plans))
        + " WHEN -1 THEN '\"combine\"' END"
    )
    mix_fields = (
        """concat('{"split":"', split, '","language":"', language, '","mix_source":', """
        f"""{source_ref}, ',"mix_copy":', copy, ',"mix_index":', mix_index, '}}')"""
    )
    # The wide rows are sorted once, by the writer (the order itself was drawn on the key table), and
    # before the id and extra strings are made: the sort then carries four integers instead of them.
    # LZ4 (Parquet's LZ4_RAW) writes a million rows 0.06 s faster than Snappy and reads back faster
    # (a mixture is read every epoch), for files about 6% larger.
    (written,) = con.execute(f"""COPY (
        SELECT printf('%016x%016x', id_hi, id_lo) AS id, printf('%016x%016x', key_hi, key_lo) AS key,
               kind, context, chat, images, audios, generation, source,
               CASE WHEN extra IS NULL OR extra = '{{}}' THEN {mix_fields}
                    ELSE json_merge_patch(extra, {mix_fields})::VARCHAR END AS extra
        FROM (SELECT * FROM {every} ORDER BY mix_index)
    ) TO {sql_string(out_path)} (FORMAT parquet, COMPRESSION lz4_raw)""").fetchone()
    con.unregister(state.drawn)
    return written, unique


def full_rows(state: MixState, keep: list[str]) -> str:
    """SQL joining the registered key table ``state.drawn`` (its ``keep`` columns) to the source
    records, in each row's language, with ``instructions`` applied."""
    from mmdata.mix.instructions import redrawn_chat

    english = "list_transform(s.chat, lambda t: {'role': t.role, 'content': t.content, 'content_ms': NULL::VARCHAR})"
    malay = "list_transform(s.chat, lambda t: {'role': t.role, 'content': t.content_ms, 'content_ms': NULL::VARCHAR})"
    return f"""SELECT * EXCLUDE (chat), {redrawn_chat(state.spec)} AS chat FROM (
            SELECT r.*, s.kind, s.context, CASE r.language WHEN 'ms' THEN {malay} ELSE {english} END AS chat,
                   s.images, s.audios, s.generation, s.source, s.extra
            FROM (SELECT {", ".join(keep)} FROM {state.drawn}) r JOIN {state.records} s ON s.src = r.src AND s.id = r.id)"""
