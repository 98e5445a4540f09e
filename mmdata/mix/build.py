"""The mixture, built in DuckDB: select, filter, dedupe, sample, apply the language policy, split, order.

The steps work on small key tables (``cand`` -> ``picked`` -> ``rows``: source, id, copy, language,
split and the few columns the choices need); the full records are read once more only at the end,
when ``finish`` joins them back and writes the mixture (nested chats are the bulk of the bytes).
Every random choice is a hash of (record id, seed, ...) rather than a random generator's state,
so the same spec on the same source versions gives the same rows in the same order anywhere.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import duckdb

from mmdata.errors import InputError, MmdataError
from mmdata.mix.spec import MixSpec, Source
from mmdata.store.versions import VersionRef, resolve


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


def _fraction(expr: str) -> str:
    """A stable pseudo-random number in [0, 1) from a SQL string expression."""
    # md5_number_lower: a 64-bit hash; modulo on the 128-bit md5_number is ten times slower.
    return f"((md5_number_lower({expr}) % 1000000)::DOUBLE / 1000000)"


def _texts(field: str) -> str:
    if field == "context":
        return "coalesce(context, '')"
    roles = {"chat": "true", "user": "t.role = 'user'", "assistant": "t.role = 'assistant'"}[field]
    return f"array_to_string(list_transform(list_filter(chat, lambda t: {roles}), lambda t: t.content), ' ')"


def load_candidates(con: duckdb.DuckDBPyConnection, spec: MixSpec) -> list[SourcePlan]:
    """One temp table ``cand`` of every source's matching records, filtered and deduplicated."""
    plans, selects = [], []
    for index, source in enumerate(spec.sources):
        try:
            ref = resolve(con, source.dataset)
        except MmdataError as exc:  # unknown dataset or version: same error, with the spec's line
            raise type(exc)(f"{spec.path}:{source.line}: {exc}") from None
        if ref.record_kind != "conversation":
            raise InputError(f"{spec.path}:{source.line}: {ref} holds {ref.record_kind} records; a mixture takes conversations")
        plans.append(SourcePlan(source, ref, language=source.language or spec.language))
        select = f"SELECT *, {index} AS src FROM {ref.relation} WHERE {f'({source.where})' if source.where else 'true'}"
        try:
            con.execute(f"DESCRIBE {select}")  # binds the `where` now, to name the source's line if it is wrong
        except duckdb.Error as exc:
            raise InputError(f"{spec.path}:{source.line}: where: {' '.join(str(exc).split())[:300]}") from None
        selects.append(select)
    for plan, (loaded,) in zip(plans, con.execute(
            " UNION ALL ".join(f"SELECT count(*) FROM {p.ref.relation}" for p in plans)).fetchall()):
        plan.loaded = loaded
    con.execute(f"CREATE OR REPLACE TEMP VIEW src_rows AS {' UNION ALL '.join(selects)}")
    dedupe = ""
    if spec.dedupe:
        text = " || ' ' || ".join(_texts(f) for f in spec.dedupe)
        # hash() only groups rows within this run; which duplicate stays is decided by (src, id).
        dedupe = f", hash(lower(regexp_replace(trim({text}), '\\s+', ' ', 'g'))) AS norm"
    con.execute(f"""CREATE OR REPLACE TEMP TABLE cand AS
                    SELECT src, id, kind, images, audios, coalesce(source[1], id) AS first_source, len(chat) AS turns,
                           {_HAS_MALAY} AS has_malay, md5_number_lower(id || ':{spec.seed}:' || src) AS draw_hash{dedupe}
                    FROM src_rows""")
    for i, matched in con.execute("SELECT src, count(*) FROM cand GROUP BY src").fetchall():
        plans[i].matched = matched
    if spec.max_turns:
        _remove(con, plans, "max_turns", f"turns > {int(spec.max_turns)}")
    if spec.max_tokens:
        _too_long(con, plans, spec)
    if spec.dedupe:
        _remove_ranked(con, plans, "dedupe", "norm")
    if spec.near:
        near_dedupe(con, plans, spec.near)
    for i, available in con.execute("SELECT src, count(*) FROM cand GROUP BY src").fetchall():
        plans[i].available = available
    return plans


_WORDS = re.compile(r"\w+")
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


def _too_long(con, plans, spec: MixSpec, batch: int = 20000) -> None:
    """Drop conversations over ``max_tokens`` on either language side."""
    import pyarrow as pa

    tokenizer = load_tokenizer(spec.tokenizer)
    over: list[tuple[int, str]] = []
    sides = {"en": "t.content", "ms": "coalesce(t.content_ms, '')"}
    columns = ", ".join(f"array_to_string(list_transform(chat, lambda t: {c}), ' ') AS {k}" for k, c in sides.items())
    for chunk in con.execute(f"SELECT src, id, {columns} FROM {_CANDIDATE_ROWS}").to_arrow_reader(batch):
        lengths = [[len(e.ids) for e in tokenizer.encode_batch(chunk.column(k).to_pylist())] for k in sides]
        for src, record_id, *sizes in zip(chunk.column("src").to_pylist(), chunk.column("id").to_pylist(), *lengths):
            if max(sizes) > spec.max_tokens:
                over.append((src, record_id))
    con.register("too_long", pa.table({"src": [o[0] for o in over], "id": [o[1] for o in over]}))
    _remove(con, plans, "max_tokens", "(src, id) IN (SELECT (src, id) FROM too_long)")


def _redrawn_chat(spec: MixSpec) -> str:
    """SQL for ``chat`` with the first user turn's question of the kinds in ``instructions`` replaced by
    one drawn from the pool (per row, seeded), in the row's language; the leading placeholders stay."""
    if not spec.instructions:
        return "chat"
    cases = []
    for kind, pool in spec.instructions.items():
        english = "[" + ", ".join(_literal(q[0]) for q in pool) + "]"
        malay = "[" + ", ".join(_literal(q[1]) for q in pool) + "]"
        pick = f"(md5_number_lower(id || ':' || copy || ':instructions:{spec.seed}') % {len(pool)})::BIGINT + 1"
        cases.append(f"""WHEN kind = {_literal(kind)} AND chat[1].role = 'user' THEN list_concat(
            [struct_pack(role := chat[1].role,
                         content := regexp_extract(chat[1].content, '^(\\s*<(image|audio)>\\s*)*')
                                    || CASE language WHEN 'ms' THEN list_extract({malay}, {pick}) ELSE list_extract({english}, {pick}) END,
                         content_ms := NULL::VARCHAR)],
            chat[2:])""")
    return f"CASE {' '.join(cases)} ELSE chat END"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def near_dedupe(con, plans, near: dict, batch: int = 20000) -> None:
    """Drop rows whose text is a near-duplicate of an earlier one (earlier sources win, then lower ids).

    MinHash signatures of word 3-grams (datasketch) go through an LSH index at ``threshold``;
    each row is checked against the rows kept before it, then added. Streams in batches.
    """
    import pyarrow as pa
    from datasketch import MinHash, MinHashLSH

    threshold, num_perm = float(near["threshold"]), int(near.get("num_perm", 64))
    text = " || ' ' || ".join(_texts(f) for f in near.get("fields", ["chat"]))
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    dropped: list[tuple[int, str]] = []
    reader = con.execute(f"SELECT src, id, lower({text}) AS t FROM {_CANDIDATE_ROWS} ORDER BY src, id").to_arrow_reader(batch)
    for chunk in reader:
        sources, ids, texts = chunk.column("src").to_pylist(), chunk.column("id").to_pylist(), chunk.column("t").to_pylist()
        shingles = []
        for t in texts:
            words = _WORDS.findall(t or "")  # punctuation and spacing do not make a text new
            shingles.append([" ".join(words[i:i + 3]).encode() for i in range(max(1, len(words) - 2))])
        for src, record_id, signature in zip(sources, ids, MinHash.bulk(shingles, num_perm=num_perm)):
            if lsh.query(signature):
                dropped.append((src, record_id))
            else:
                lsh.insert(f"{src}:{record_id}", signature, check_duplication=False)
    con.register("near_dropped", pa.table({"src": [d[0] for d in dropped], "id": [d[1] for d in dropped]}))
    _remove(con, plans, "near_dedupe", "(src, id) IN (SELECT (src, id) FROM near_dropped)")


def _remove(con, plans, name: str, condition: str) -> None:
    for i, n in con.execute(f"SELECT src, count(*) FROM cand WHERE {condition} GROUP BY src").fetchall():
        plans[i].removed[name] = n
    con.execute(f"DELETE FROM cand WHERE {condition}")


def _remove_ranked(con, plans, name: str, column: str) -> None:
    """Keep the first row per ``column`` value (earlier sources win, then lower ids)."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE cand AS SELECT *, row_number() OVER (PARTITION BY {column} ORDER BY src, id) AS _rank FROM cand")
    _remove(con, plans, name, "_rank > 1")
    con.execute("ALTER TABLE cand DROP COLUMN _rank")


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
        room = min(math.floor(p.available * total_weight / p.source.amount) for p in weighted)
    for plan in weighted:
        plan.planned = round(room * plan.source.amount / total_weight)
        if plan.planned > plan.available:
            raise InputError(f"{spec.path}:{plan.source.line}: weight {plan.source.amount:g} of size {spec.size} needs "
                             f"{plan.planned} rows from {plan.ref}, which has {plan.available} after filters "
                             f"(short by {plan.planned - plan.available}); lower the weight or the size")


def draw(con, spec: MixSpec, plans: list[SourcePlan]) -> None:
    """Temp table ``picked``: the sampled records (with ``copy`` for repeats), no language applied yet."""
    parts = []
    for i, plan in enumerate(plans):
        copies = max(1, math.ceil(plan.planned / plan.available)) if plan.available else 1
        # A window rank, not ORDER BY ... LIMIT: DuckDB's top-N heap is slow when N is most of the rows.
        # Every copy but the last is whole, so one order (the draw hash) serves all copies.
        parts.append(f"""(SELECT c.*, r.copy FROM cand c CROSS JOIN (SELECT range AS copy FROM range({copies})) r
                          WHERE c.src = {i}
                          QUALIFY row_number() OVER (ORDER BY r.copy, c.draw_hash, c.id) <= {plan.planned})""")
    con.execute("CREATE OR REPLACE TEMP TABLE picked AS " + " UNION ALL ".join(parts))


def _language_rows(spec: MixSpec, plans: list[SourcePlan]) -> str:
    """SQL for ``rows``: each picked record as one row per chosen language."""
    selects = []
    for i, plan in enumerate(plans):
        policy = plan.language
        languages = ["en", "ms"] if policy == "both" else [policy] if isinstance(policy, str) else None
        if languages:
            for lang in languages:
                selects.append(f"SELECT *, '{lang}' AS language, 'train' AS split FROM picked WHERE src = {i}"
                               + (" AND has_malay" if lang == "ms" else ""))
        else:
            share = policy["mix"].get("ms", 0) / max(sum(policy["mix"].values()), 1e-9)
            pick = _fraction(f"id || ':' || copy || ':lang:{spec.seed}'")
            selects.append(f"SELECT *, CASE WHEN {pick} < {share} AND has_malay THEN 'ms' ELSE 'en' END AS language, "
                           f"'train' AS split FROM picked WHERE src = {i}")
    return " UNION ALL ".join(selects)


def language_and_split(con, spec: MixSpec, plans: list[SourcePlan]) -> None:
    """Temp table ``rows``: one row per record and language, with its split."""
    split = spec.split or {}
    by = split.get("group_by", "media") if split else None
    row_id = ", row_number() OVER () AS row_id" if by == "media" else ""
    con.execute(f"CREATE OR REPLACE TEMP TABLE rows AS SELECT *{row_id} FROM ({_language_rows(spec, plans)})")
    for i, plan in enumerate(plans):
        languages = plan.language if isinstance(plan.language, str) else "mix"
        if languages in ("ms", "both"):
            (missing,) = con.execute(f"SELECT count(*) FROM picked WHERE src = {i} AND NOT has_malay").fetchone()
            if missing:
                plan.removed["no_malay"] = missing
    if not split:
        return
    if by == "media":
        groups = _media_groups(con)
        con.register("media_groups", groups)
        key = "g.grp"
        join = "JOIN media_groups g ON g.row_id = r.row_id"
    else:
        key, join = ("r.first_source" if by == "source" else "r.id"), ""
    draw_test = _fraction(f"{key} || ':split:{spec.seed}'")
    con.execute(f"""CREATE OR REPLACE TEMP TABLE rows AS
                    SELECT r.* EXCLUDE (split), CASE WHEN {draw_test} < {float(split['test'])}
                                     THEN 'test' ELSE 'train' END AS split
                    FROM rows r {join}""")


def _media_groups(con):
    """Rows linked by any shared image or audio, as connected components (union-find)."""
    import pyarrow as pa

    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    rows = con.execute("SELECT row_id, id, list_concat(images, audios) FROM rows").fetchall()
    for _, record_id, media in rows:
        first = find(f"r:{record_id}")
        for m in media or []:
            root = find(f"m:{m}")
            if root != first:
                parent[root] = first
    return pa.table({"row_id": [r[0] for r in rows], "grp": [find(f"r:{r[1]}") for r in rows]})


def finish(con, spec: MixSpec, plans: list[SourcePlan], out_path) -> int:
    """Write the mixture's rows, in their reproducible order, to a Parquet file; the row count.

    A row's ``key`` is a hash of where it came from (source entry and dataset, source record id, language,
    copy), so it stays put when a spec is edited; its ``id`` adds how it was made (the spec's
    hash, its split and place), so any change to the spec or the sources gives new ids. Both
    are hashes of content hashes: the same on any machine, and cheap (no re-serialised rows).
    """
    full = _full_rows(spec, ["src", "id", "copy", "language", "split"])
    combined = 0
    if spec.combine:
        from mmdata.mix.combine import combine_rows

        combined = combine_rows(con, spec, full)
        if combined:
            con.execute("INSERT INTO rows BY NAME SELECT src, id, copy, language, split FROM combined_rows")
    # The order is drawn on the narrow key table; the wide rows are sorted only once, by the writer.
    con.execute(f"""CREATE OR REPLACE TEMP TABLE rows AS SELECT *, row_number() OVER (
                        ORDER BY md5_number_lower(id || ':' || language || ':' || copy || ':{spec.seed}'), src, id, copy, language
                    ) - 1 AS mix_index FROM rows""")
    full = _full_rows(spec, ["src", "id", "copy", "language", "split", "mix_index"])
    every = f"({full})"
    if combined:
        every = f"""(SELECT * FROM ({full}) UNION ALL BY NAME
                     SELECT c.*, r.mix_index FROM rows r JOIN combined_rows c ON r.src = -1 AND c.id = r.id)"""
    names = "CASE src " + " ".join(f"WHEN {i} THEN {_literal(p.ref.dataset)}" for i, p in enumerate(plans)) + " END"
    origin = f"CASE WHEN src = -1 THEN 'combine:' || id ELSE src || ':' || {names} || ':' || id || ':' || language || ':' || copy END"
    source_ref = ("CASE src " + " ".join(f"WHEN {i} THEN '{p.ref}'" for i, p in enumerate(plans))
                  + " WHEN -1 THEN 'combine' END")
    mix_fields = (f"'\"split\":' || to_json(split) || ',\"language\":' || to_json(language) || ',\"mix_source\":' || "
                  f"to_json({source_ref}) || ',\"mix_copy\":' || copy || ',\"mix_index\":' || mix_index || '}}'")
    (rows,) = con.execute(f"""COPY (
        SELECT substr(md5(k || ':{spec.hash}:' || split || ':' || mix_index), 1, 32) AS id, k AS key,
               kind, context, chat, images, audios, generation, source,
               CASE WHEN extra IS NULL OR extra = '{{}}' THEN '{{' || {mix_fields}
                    ELSE json_merge_patch(extra, '{{' || {mix_fields})::VARCHAR END AS extra
        FROM (SELECT *, substr(md5({origin}), 1, 32) AS k FROM {every})
        ORDER BY mix_index
    ) TO '{out_path}' (FORMAT parquet)""").fetchone()
    return rows


def _full_rows(spec: MixSpec, keep: list[str]) -> str:
    """SQL joining the key table ``rows`` (its ``keep`` columns) to the source records, in each row's language."""
    english = "list_transform(s.chat, lambda t: {'role': t.role, 'content': t.content, 'content_ms': NULL::VARCHAR})"
    malay = "list_transform(s.chat, lambda t: {'role': t.role, 'content': t.content_ms, 'content_ms': NULL::VARCHAR})"
    return f"""SELECT * EXCLUDE (chat), {_redrawn_chat(spec)} AS chat FROM (
            SELECT r.*, s.kind, s.context, CASE r.language WHEN 'ms' THEN {malay} ELSE {english} END AS chat,
                   s.images, s.audios, s.generation, s.source, s.extra
            FROM (SELECT {', '.join(keep)} FROM rows) r JOIN src_rows s ON s.src = r.src AND s.id = r.id)"""


def keys_unique(con, path) -> bool:
    (unique,) = con.execute(f"SELECT count(*) = count(DISTINCT key) FROM read_parquet('{path}')").fetchone()
    return unique
