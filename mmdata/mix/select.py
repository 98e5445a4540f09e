"""Step 1, select: resolve each source, apply its ``where``, and build the candidate key table.

The key table (``state.candidates``: source, record id, a 128-bit key hash and the few columns the
filters and the split need) is what every later choice works on; the full records stay behind the
view ``state.records`` and are read again only by the filters that need text and by the write.
"""

from __future__ import annotations

from itertools import zip_longest

from mmdata.errors import InputError, MmdataError
from mmdata.mix.filters import FILTERS, WHERE
from mmdata.mix.split import split_columns
from mmdata.mix.state import MixState, SourcePlan
from mmdata.store.sql import sql_string
from mmdata.store.versions import list_versions, resolve


def select_candidates(state: MixState) -> None:
    """``state.plans`` (one per source, with ``loaded`` and ``matched``), the view ``state.records``
    and the table ``state.candidates``."""
    con, spec = state.con, state.spec
    selects = []
    known = list_versions(con, [source.dataset.partition("@")[0] for source in spec.sources])  # one query for all
    for index, source in enumerate(spec.sources):
        try:
            ref = resolve(con, source.dataset, known)
        except MmdataError as exc:  # bad name, unknown dataset or version: same error, with the spec's line
            raise type(exc)(f"{spec.path}:{source.line}: {exc}") from None
        if ref.record_kind != "conversation":
            raise InputError(f"{spec.path}:{source.line}: {ref} holds {ref.record_kind} records; a mixture takes conversations")
        state.plans.append(SourcePlan(source, ref, language=source.language or spec.language))
        select = f"SELECT *, {index} AS src FROM {ref.relation} WHERE {WHERE.predicate(source)}"
        WHERE.guard(con, select, f"{spec.path}:{source.line}")
        selects.append(select)
    for plan, (loaded,) in zip(
        state.plans, con.execute(" UNION ALL ".join(f"SELECT count(*) FROM {p.ref.relation}" for p in state.plans)).fetchall()
    ):
        plan.loaded = loaded
    con.execute(f"CREATE OR REPLACE TEMP VIEW {state.records} AS {' UNION ALL '.join(selects)}")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {state.candidates} AS {_key_table(state)}")
    for i, matched in state.count_by_source().items():
        state.plans[i].matched = matched


def _key_table(state: MixState) -> str:
    """SQL for the candidate key table. Only the columns later steps use: each is a million values to
    build and keep. A filter's later columns may use its earlier ones, so each rank of columns is one
    query level over the one before."""
    names = "CASE src " + " ".join(f"WHEN {i} THEN {sql_string(p.ref.dataset)}" for i, p in enumerate(state.plans)) + " END"
    # The key hash: md5 of where a record comes from, taken once; every later choice mixes it.
    levels = [[("k", f"md5_number(src || ':' || {names} || ':' || id)")]]
    for level, columns in enumerate(zip_longest(*(f.columns(state.spec) for f in FILTERS))):
        if level == len(levels):
            levels.append([])
        levels[level] += [column for column in columns if column]
    query = state.records
    for columns in levels:
        query = f"(SELECT *, {', '.join(f'{sql} AS {name}' for name, sql in columns)} FROM {query})"
    kept = [name for columns in levels for name, _ in columns if name != "k" and not name.startswith("_")]
    kept += [f"{sql} AS {name}" for name, sql in split_columns(state.spec)]  # record columns, or cheap to make
    return (
        f"SELECT src, id, (k >> 64)::UBIGINT AS k_hi, (k & 18446744073709551615::UHUGEINT)::UBIGINT AS k_lo"
        f"{''.join(', ' + name for name in kept)} FROM {query}"
    )


def candidate_frame(state: MixState):
    """The filtered candidates as a polars frame: what the draw, the languages and the split read."""
    import polars as pl

    from mmdata.mix.filters import NO_MALAY

    columns = ["src", "id", "k_hi", "k_lo", NO_MALAY.column, *(name for name, _ in split_columns(state.spec))]
    return pl.from_arrow(state.con.execute(f"SELECT {', '.join(columns)} FROM {state.candidates}").to_arrow_table())
