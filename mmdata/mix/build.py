"""The mixture's SQL half, in DuckDB: select and filter the candidates, dedupe, and write the result.

The candidates are a narrow key table (``cand``: source, record id, a 128-bit key hash and the few
columns the choices need); ``mmdata.mix.keys`` draws from it in numpy. The full records are read
once more only at the end, when ``finish`` joins them to the drawn rows and writes the mixture
(nested chats are the bulk of the bytes).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import duckdb

from mmdata.errors import InputError, MmdataError, QueryError
from mmdata.mix.spec import MixSpec, Source
from mmdata.progress import ProgressCallback, silent
from mmdata.querying import check_read_only
from mmdata.store.sql import sql_string
from mmdata.store.versions import VersionRef, list_versions, resolve


@dataclass
class SourcePlan:
    source: Source
    ref: VersionRef
    loaded: int = 0
    matched: int = 0  # after `where`
    removed: dict = field(default_factory=dict)  # filter -> rows
    available: int = 0
    planned: int = 0  # records to draw (before the language policy)
    language: object = "en"


def _texts(field: str) -> str:
    if field == "context":
        return "coalesce(context, '')"
    if field == "chat":  # no filter: list_filter(..., true) still copies every list
        return "array_to_string(list_transform(chat, lambda t: t.content), ' ')"
    role = {"user": "'user'", "assistant": "'assistant'"}[field]
    return f"array_to_string(list_transform(list_filter(chat, lambda t: t.role = {role}), lambda t: t.content), ' ')"


def load_candidates(con: duckdb.DuckDBPyConnection, spec: MixSpec, progress: ProgressCallback = silent,
                    workers: int | None = 0) -> list[SourcePlan]:
    """One temp table ``cand`` of every source's matching records, filtered and deduplicated
    (``workers``: see ``near_dedupe``)."""
    plans, selects = [], []
    known = list_versions(con, [source.dataset.partition("@")[0] for source in spec.sources])  # one query for all
    for index, source in enumerate(spec.sources):
        try:
            ref = resolve(con, source.dataset, known)
        except MmdataError as exc:  # bad name, unknown dataset or version: same error, with the spec's line
            raise type(exc)(f"{spec.path}:{source.line}: {exc}") from None
        if ref.record_kind != "conversation":
            raise InputError(f"{spec.path}:{source.line}: {ref} holds {ref.record_kind} records; a mixture takes conversations")
        plans.append(SourcePlan(source, ref, language=source.language or spec.language))
        select = f"SELECT *, {index} AS src FROM {ref.relation} WHERE {f'({source.where})' if source.where else 'true'}"
        try:
            check_read_only(select)  # the same guard as `query`: a filter may only read
        except QueryError as exc:
            raise InputError(f"{spec.path}:{source.line}: where: {exc}") from None
        try:
            con.execute(f"DESCRIBE {select}")  # binds the `where` now, to name the source's line if it is wrong
        except duckdb.Error as exc:
            raise InputError(f"{spec.path}:{source.line}: where: {' '.join(str(exc).split())[:300]}") from None
        selects.append(select)
    for plan, (loaded,) in zip(plans, con.execute(
            " UNION ALL ".join(f"SELECT count(*) FROM {p.ref.relation}" for p in plans)).fetchall()):
        plan.loaded = loaded
    con.execute(f"CREATE OR REPLACE TEMP VIEW src_rows AS {' UNION ALL '.join(selects)}")
    dedupe, text = "", ""
    if spec.dedupe:
        # hash() only groups rows within this run; which duplicate stays is decided by (src, id).
        dedupe = f", hash(lower({_trimmed('_spaced')})) AS norm"
        text = ", " + " || ' ' || ".join(_texts(f) for f in spec.dedupe) + " AS _text"
    names = "CASE src " + " ".join(f"WHEN {i} THEN {sql_string(p.ref.dataset)}" for i, p in enumerate(plans)) + " END"
    # The key hash: md5 of where a record comes from, taken once; every later choice mixes it.
    # Only the columns later steps use: each one is a million values to build and keep.
    by = (spec.split or {}).get("group_by", "media") if spec.split else None
    extra = (", images, audios" if by == "media" else ", coalesce(source[1], id) AS first_source" if by == "source" else "")
    extra += ", len(chat) AS turns" if spec.max_turns else ""
    con.execute(f"""CREATE OR REPLACE TEMP TABLE cand AS
                    SELECT src, id, has_malay, (k >> 64)::UBIGINT AS k_hi,
                           (k & 18446744073709551615::UHUGEINT)::UBIGINT AS k_lo{dedupe}{extra}
                    FROM (SELECT *, {_single_spaced('_text') if spec.dedupe else 'NULL'} AS _spaced
                          FROM (SELECT *, {_HAS_MALAY} AS has_malay, md5_number(src || ':' || {names} || ':' || id) AS k{text}
                                FROM src_rows))""")
    for i, matched in con.execute("SELECT src, count(*) FROM cand GROUP BY src").fetchall():
        plans[i].matched = matched
    if spec.max_turns:
        _remove(con, plans, "max_turns", f"turns > {int(spec.max_turns)}")
    if spec.max_tokens:
        _too_long(con, plans, spec, progress=progress)
    if spec.dedupe:
        _remove_ranked(con, plans, "dedupe", "norm")
    if spec.near:
        near_dedupe(con, plans, spec.near, progress=progress, workers=workers)
    for i, available in con.execute("SELECT src, count(*) FROM cand GROUP BY src").fetchall():
        plans[i].available = available
    return plans


def candidates(con: duckdb.DuckDBPyConnection, spec: MixSpec):
    """The filtered candidates as a polars frame (source, id, key hash, and what the split needs)."""
    import polars as pl

    return pl.from_arrow(con.execute("SELECT * EXCLUDE (norm) FROM cand" if spec.dedupe else "SELECT * FROM cand").to_arrow_table())


def _single_spaced(column: str) -> str:
    """SQL collapsing each whitespace run in ``column`` to one space (RE2's ``\\s``: space, tab, newline,
    form feed, carriage return). The regex runs only on texts that need it: most do not, and it
    costs five times a plain scan."""
    needs = " OR ".join(f"contains({column}, {c})" for c in ("'  '", "chr(9)", "chr(10)", "chr(12)", "chr(13)"))
    return f"CASE WHEN {needs} THEN regexp_replace({column}, '\\s+', ' ', 'g') ELSE {column} END"


# What DuckDB's trim() strips: the Unicode space separators (Zs), not tabs or newlines.
_SPACES = (0x20, 0xA0, 0x1680, *range(0x2000, 0x200B), 0x202F, 0x205F, 0x3000)


def _trimmed(column: str) -> str:
    """SQL for ``trim(column)``, run only on texts that start or end with a space: trim copies every
    text it is given, which costs seven times these checks."""
    ends = " OR ".join(f"ends_with({column}, chr({c}))" for c in _SPACES)
    return f"CASE WHEN ascii({column}) IN ({', '.join(map(str, _SPACES))}) OR {ends} THEN trim({column}) ELSE {column} END"


_HAS_MALAY = "len(list_filter(chat, lambda t: t.content_ms IS NULL)) = 0"
_CANDIDATE_ROWS = "src_rows s SEMI JOIN cand c ON s.src = c.src AND s.id = c.id"


def load_tokenizer(path: str):
    """A Hugging Face ``tokenizers`` tokenizer from tokenizer.json (or a folder holding one)."""
    from pathlib import Path

    from tokenizers import Tokenizer

    file = Path(path) / "tokenizer.json" if Path(path).is_dir() else Path(path)
    if not file.exists():
        raise InputError(f"tokenizer: no tokenizer.json at {path}")
    return Tokenizer.from_file(str(file))


def _too_long(con, plans, spec: MixSpec, batch: int = 20000, progress: ProgressCallback = silent) -> None:
    """Drop conversations over ``max_tokens`` on either language side."""
    import pyarrow as pa

    tokenizer = load_tokenizer(spec.tokenizer)
    over: list[tuple[int, str]] = []
    sides = {"en": "t.content", "ms": "coalesce(t.content_ms, '')"}
    columns = ", ".join(f"array_to_string(list_transform(chat, lambda t: {c}), ' ') AS {k}" for k, c in sides.items())
    (total,), done = con.execute("SELECT count(*) FROM cand").fetchone(), 0
    progress("counting tokens", 0, total)
    for chunk in con.execute(f"SELECT src, id, {columns} FROM {_CANDIDATE_ROWS}").to_arrow_reader(batch):
        done += chunk.num_rows
        progress("counting tokens", done, total, f"{len(over):,} too long")
        lengths = [[len(e.ids) for e in tokenizer.encode_batch(chunk.column(k).to_pylist())] for k in sides]
        for src, record_id, *sizes in zip(chunk.column("src").to_pylist(), chunk.column("id").to_pylist(), *lengths):
            if max(sizes) > spec.max_tokens:
                over.append((src, record_id))
    con.register("too_long", pa.table({"src": [o[0] for o in over], "id": [o[1] for o in over]}))
    _remove(con, plans, "max_tokens", "(src, id) IN (SELECT (src, id) FROM too_long)")


def expected_tokens(con, spec: MixSpec, rows, batch: int = 20000) -> tuple[dict[int, int], str]:
    """Tokens per source in the drawn ``rows``, each in its language, and how they were counted:
    with the spec's tokenizer, or estimated at 4 characters a token without one."""
    text = "array_to_string(list_transform(s.chat, lambda t: CASE r.language WHEN 'ms' THEN t.content_ms ELSE t.content END), ' ')"
    con.register("drawn", rows.select("src", "id", "language").to_arrow())
    try:
        joined = "FROM drawn r JOIN src_rows s ON s.src = r.src AND s.id = r.id"
        if not spec.tokenizer:
            sums = con.execute(f"SELECT r.src, sum(len({text})) {joined} GROUP BY r.src").fetchall()
            return {src: round((chars or 0) / 4) for src, chars in sums}, "estimated at 4 characters a token"
        tokenizer, tokens = load_tokenizer(spec.tokenizer), {}
        for chunk in con.execute(f"SELECT r.src, {text} AS t {joined}").to_arrow_reader(batch):
            sizes = [len(e.ids) for e in tokenizer.encode_batch([t or "" for t in chunk.column("t").to_pylist()])]
            for src, size in zip(chunk.column("src").to_pylist(), sizes):
                tokens[src] = tokens.get(src, 0) + size
        return tokens, f"counted with {spec.tokenizer}"
    finally:
        con.unregister("drawn")


def _redrawn_chat(spec: MixSpec) -> str:
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


def near_dedupe(con, plans, near: dict, batch: int = 20000, progress: ProgressCallback = silent,
                workers: int | None = None) -> None:
    """Drop rows whose text is a near copy of an earlier one (earlier sources win, then lower ids):
    MinHash LSH at ``near["threshold"]`` (``mmdata.mix.near``), streamed in batches. ``workers``
    processes compute the signatures; None picks by input size and cores. Workers are spawned, so a
    script calling this with workers must guard its entry point (``if __name__ == "__main__":``)."""
    import pyarrow as pa

    from mmdata.mix.near import default_workers, near_copies

    text = " || ' ' || ".join(_texts(f) for f in near.get("fields", ["chat"]))
    (total,) = con.execute("SELECT count(*) FROM cand").fetchone()
    progress("near-dedupe", 0, total)
    reader = con.execute(f"SELECT src, id, lower({text}) AS t FROM {_CANDIDATE_ROWS} ORDER BY src, id").to_arrow_reader(batch)
    batches = ((list(zip(chunk.column("src").to_pylist(), chunk.column("id").to_pylist())), chunk.column("t").to_pylist())
               for chunk in reader)
    done = [0]

    def heard(rows: int, dropped: int) -> None:
        done[0] += rows
        progress("near-dedupe", done[0], total, f"{dropped:,} near copies")

    dropped = near_copies(batches, float(near["threshold"]), int(near.get("num_perm", 64)),
                          default_workers(total) if workers is None else workers, heard)
    con.register("near_dropped", pa.table({"src": [d[0] for d in dropped], "id": [d[1] for d in dropped]}))
    _remove(con, plans, "near_dedupe", "(src, id) IN (SELECT (src, id) FROM near_dropped)")


def _remove(con, plans, name: str, condition: str) -> None:
    for i, n in con.execute(f"SELECT src, count(*) FROM cand WHERE {condition} GROUP BY src").fetchall():
        plans[i].removed[name] = n
    con.execute(f"DELETE FROM cand WHERE {condition}")


def _remove_ranked(con, plans, name: str, column: str) -> None:
    """Keep the first row per ``column`` value (earlier sources win, then lower ids). Only the
    values that repeat are ranked: sorting every row to find a few duplicates is most of the cost."""
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _later AS SELECT row, src FROM (
                        SELECT rowid AS row, src, row_number() OVER (PARTITION BY {column} ORDER BY src, id) AS _rank
                        FROM cand WHERE {column} IN (SELECT {column} FROM cand GROUP BY {column} HAVING count(*) > 1))
                    WHERE _rank > 1""")
    # Counted and deleted by row number: matching (src, id) pairs against the whole table costs more.
    for i, n in con.execute("SELECT src, count(*) FROM _later GROUP BY src").fetchall():
        plans[i].removed[name] = n
    con.execute("DELETE FROM cand WHERE rowid IN (SELECT row FROM _later)")
    con.execute("DROP TABLE _later")


def plan_sizes(spec: MixSpec, plans: list[SourcePlan]) -> None:
    """Records to draw per source; weights that cannot be met are an error saying which and by how much."""
    fixed = 0
    for plan in plans:
        mode, amount, n = plan.source.mode, plan.source.amount, plan.available
        if mode == "take":
            if amount > n:
                raise InputError(f"{spec.path}:{plan.source.line}: {plan.ref} has {n} rows after filters; "
                                 f"take {int(amount)} is short by {int(amount) - n} (use repeat to upsample)")
            plan.planned = int(amount)
        elif mode in ("fraction", "repeat"):
            plan.planned = round(n * amount)
        if mode != "weight":
            fixed += plan.planned
    weighted = [p for p in plans if p.source.mode == "weight"]
    if not weighted:
        return
    total_weight = sum(p.source.amount for p in weighted)
    if spec.size is not None:
        room = spec.size - fixed
        if room < 0:
            raise InputError(f"{spec.path}: size {spec.size} is smaller than the {fixed} rows the take/fraction/repeat sources give")
    else:  # the largest mixture the weights allow without repeating a row
        for plan in weighted:
            if not plan.available:
                raise InputError(f"{spec.path}:{plan.source.line}: {plan.ref} has no rows after filters, so no mixture "
                                 f"can give it weight {plan.source.amount:g}; drop it, loosen its filters, or set a size")
        room = min(math.floor(p.available * total_weight / p.source.amount) for p in weighted)
    for plan in weighted:
        plan.planned = round(room * plan.source.amount / total_weight)
        if plan.planned > plan.available:
            raise InputError(f"{spec.path}:{plan.source.line}: weight {plan.source.amount:g} of size {spec.size} needs "
                             f"{plan.planned} rows from {plan.ref}, which has {plan.available} after filters "
                             f"(short by {plan.planned - plan.available}); lower the weight or the size")


def finish(con, spec: MixSpec, plans: list[SourcePlan], rows, out_path) -> tuple[int, bool]:
    """Order and name the drawn ``rows`` (a polars frame from ``mmdata.mix.keys``) and any combined
    rows, join them to their records and write the mixture, in order, to a Parquet file.
    Returns the row count and whether every key is unique."""
    import polars as pl

    from mmdata.mix.keys import key_hash, order_and_name

    drawn = ["src", "id", "copy", "language", "split"]
    rows = rows.select(*drawn, "k_hi", "k_lo")
    con.register("rows", rows.to_arrow())
    combined = 0
    if spec.combine:
        from mmdata.mix.combine import combine_rows

        combined = combine_rows(con, spec, _full_rows(spec, drawn))
        if combined:
            made = pl.from_arrow(con.execute(f"SELECT {', '.join(drawn)} FROM combined_rows").to_arrow_table())
            halves = [key_hash(f"combine:{record_id}") for record_id in made["id"]]
            made = made.with_columns(pl.Series("k_hi", [h for h, _ in halves], pl.UInt64),
                                     pl.Series("k_lo", [low for _, low in halves], pl.UInt64))
            rows = pl.concat([rows, made], how="vertical_relaxed")
    con.unregister("rows")
    rows, unique = order_and_name(rows, spec)
    named = ["mix_index", "key_hi", "key_lo", "id_hi", "id_lo"]
    # Joined straight from Arrow: a temp table would build the join faster, but copying into it costs more.
    con.register("rows", rows.select(*drawn, *named).to_arrow())
    full = _full_rows(spec, drawn + named)
    every = f"({full})"
    if combined:
        every = f"""(SELECT * FROM ({full}) UNION ALL BY NAME
                     SELECT c.*, {', '.join(f'r.{n}' for n in named)} FROM rows r JOIN combined_rows c ON r.src = -1 AND c.id = r.id)"""
    # The mix fields as JSON text built by concatenation: every value is a known-safe word or number
    # except the source reference, which is encoded here once (to_json per row costs a third of the write),
    # in one concat() (a chain of || builds every intermediate string).
    source_ref = ("CASE src " + " ".join(f"WHEN {i} THEN {sql_string(json.dumps(str(p.ref)))}" for i, p in enumerate(plans))
                  + " WHEN -1 THEN '\"combine\"' END")
    mix_fields = ("""concat('{"split":"', split, '","language":"', language, '","mix_source":', """
                  f"""{source_ref}, ',"mix_copy":', copy, ',"mix_index":', mix_index, '}}')""")
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
    con.unregister("rows")
    return written, unique


def _full_rows(spec: MixSpec, keep: list[str]) -> str:
    """SQL joining the key table ``rows`` (its ``keep`` columns) to the source records, in each row's language."""
    english = "list_transform(s.chat, lambda t: {'role': t.role, 'content': t.content, 'content_ms': NULL::VARCHAR})"
    malay = "list_transform(s.chat, lambda t: {'role': t.role, 'content': t.content_ms, 'content_ms': NULL::VARCHAR})"
    return f"""SELECT * EXCLUDE (chat), {_redrawn_chat(spec)} AS chat FROM (
            SELECT r.*, s.kind, s.context, CASE r.language WHEN 'ms' THEN {malay} ELSE {english} END AS chat,
                   s.images, s.audios, s.generation, s.source, s.extra
            FROM (SELECT {', '.join(keep)} FROM rows) r JOIN src_rows s ON s.src = r.src AND s.id = r.id)"""
