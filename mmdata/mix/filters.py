"""The mix filters, one object each, and ``FILTERS``, the registry every other place reads: the spec's
schema (``mix_schema``), the docs' table (``filters_table``), the plan's ``removed`` reasons, and the
order the candidate filters run in (earlier filters remove first, so later ones count fewer rows).

A filter acts at one of three points of the pipeline:
- ``SourceFilter`` (``where``): a SQL predicate on one source's records, before they become
  candidates; what it removes shows as ``loaded - matched``.
- ``CandidateFilter``: drops rows from the candidate key table; ``dropped`` returns a SQL condition
  over that table, or the (src, id) pairs to drop; ``removed[name]`` counts them per source.
- ``LanguageFilter`` (``no_malay``): rows a language cannot be made from, counted by the language step.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING

import duckdb
import polars as pl
import pyarrow as pa

from mmdata.errors import InputError, QueryError
from mmdata.mix.text import fields_text, single_spaced, trimmed

if TYPE_CHECKING:
    from mmdata.mix.spec import MixSpec, Source
    from mmdata.mix.state import MixState

_TEXT_FIELDS = {"enum": ["chat", "user", "assistant", "context"]}


class MixFilter:
    name: str  # the reason `removed` gives
    spec_key: str  # where the spec turns it on (`sources[].where`: a key of each source)
    help: str  # one line for the docs and the schema's description
    schema: dict | None = None  # JSON Schema of its spec key, less the description

    def setting(self, spec: MixSpec):
        return spec.filters.get(self.name)

    def enabled(self, spec: MixSpec) -> bool:
        return bool(self.setting(spec))

    def check(self, data: dict) -> str | None:
        """A mistake in the spec that the schema cannot see (None: none)."""
        return None

    def columns(self, spec: MixSpec) -> list[tuple[str, str]]:
        """(name, SQL over the record) columns the candidate key table needs. Each filter's n-th column
        is computed one query level deeper than its (n-1)-th, so it may use it; a name starting with
        `_` is scratch and is not kept."""
        return []


class SourceFilter(MixFilter, ABC):
    @abstractmethod
    def predicate(self, source: Source) -> str:
        """The SQL predicate a source's records must meet."""


class CandidateFilter(MixFilter, ABC):
    @abstractmethod
    def dropped(self, state: MixState) -> str | pa.Table:
        """A SQL condition over ``state.candidates`` true for the rows to drop, or a table of their (src, id)."""


class LanguageFilter(MixFilter, ABC):
    column: str

    @abstractmethod
    def usable(self) -> pl.Expr:
        """A polars predicate over the ``column`` values: true where the language can be made."""


class Where(SourceFilter):
    name, spec_key = "where", "sources[].where"
    help = "a SQL predicate over the record's columns"
    schema = {"type": "string"}

    def predicate(self, source: Source) -> str:
        return f"({source.where})" if source.where else "true"

    def guard(self, con: duckdb.DuckDBPyConnection, select: str, location: str) -> None:
        """Refuse a predicate that could write (the same guard as `mmdata query`) or does not bind,
        naming the source's line now rather than failing mid-run."""
        from mmdata.querying import check_read_only

        try:
            check_read_only(select)
        except QueryError as exc:
            raise InputError(f"{location}: where: {exc}") from None
        try:
            con.execute(f"DESCRIBE {select}")
        except duckdb.Error as exc:
            raise InputError(f"{location}: where: {' '.join(str(exc).split())[:300]}") from None


class ExcludeFlagged(CandidateFilter):
    """Records a reviewer flagged (``mmdata.review``; ``mmdata browse --allow-flags``) and nobody
    cleared, matched by dataset and record key, so a flag set on one version holds in the others.
    Flags are read when the mixture is made: a flag set later changes the next run's result."""

    name, spec_key = "flagged", "exclude_flagged"
    help = "drop records with an active review flag (the `_flags` table; `mmdata browse --allow-flags`)"
    schema = {"type": "boolean"}

    def dropped(self, state: MixState) -> str | pa.Table:
        from mmdata.review import flagged_keys

        sources: dict[str, list[int]] = {}
        for i, plan in enumerate(state.plans):
            sources.setdefault(plan.ref.dataset, []).append(i)
        pairs = [(i, key) for dataset, key in flagged_keys(state.con, sorted(sources)) for i in sources[dataset]]
        if not pairs:
            return "false"
        # The flagged keys go in as two lists zipped into a table: a hash join, however many there are.
        return state.con.execute(
            f"SELECT r.src, r.id FROM {state.records} r SEMI JOIN "
            "(SELECT unnest(?::INTEGER[]) AS src, unnest(?::VARCHAR[]) AS key) f ON r.src = f.src AND r.key = f.key",
            [[i for i, _ in pairs], [key for _, key in pairs]],
        ).to_arrow_table()


class MaxTurns(CandidateFilter):
    name = spec_key = "max_turns"
    help = "drop conversations longer than this many turns"
    schema = {"type": "integer", "minimum": 1}

    def columns(self, spec: MixSpec) -> list[tuple[str, str]]:
        return [("turns", "len(chat)")] if self.enabled(spec) else []

    def dropped(self, state: MixState) -> str:
        return f"turns > {int(self.setting(state.spec))}"


class MaxTokens(CandidateFilter):
    name = spec_key = "max_tokens"
    help = "drop conversations longer than this many tokens (both language sides); needs tokenizer"
    schema = {"type": "integer", "minimum": 1}
    batch = 20000

    def check(self, data: dict) -> str | None:
        if data.get("max_tokens") and not data.get("tokenizer"):
            return "max_tokens needs a tokenizer (a tokenizer.json path)"
        return None

    def dropped(self, state: MixState) -> pa.Table:
        from mmdata.mix.tokens import load_tokenizer

        limit, tokenizer, progress = self.setting(state.spec), load_tokenizer(state.spec.tokenizer), state.progress
        over: list[tuple[int, str]] = []
        sides = {"en": "t.content", "ms": "coalesce(t.content_ms, '')"}
        columns = ", ".join(f"array_to_string(list_transform(chat, lambda t: {c}), ' ') AS {k}" for k, c in sides.items())
        total, done = sum(state.count_by_source().values()), 0
        progress("counting tokens", 0, total)
        for chunk in state.con.execute(f"SELECT src, id, {columns} FROM {state.candidate_records()}").to_arrow_reader(self.batch):
            done += chunk.num_rows
            progress("counting tokens", done, total, f"{len(over):,} too long")
            lengths = [[len(e.ids) for e in tokenizer.encode_batch(chunk.column(k).to_pylist())] for k in sides]
            for src, record_id, *sizes in zip(chunk.column("src").to_pylist(), chunk.column("id").to_pylist(), *lengths):
                if max(sizes) > limit:
                    over.append((src, record_id))
        return pa.table({"src": [o[0] for o in over], "id": [o[1] for o in over]})


class ExactDedupe(CandidateFilter):
    name, spec_key = "dedupe", "dedupe.exact"
    help = "fields whose normalised text must differ (lower case, spaces collapsed)"
    schema = {"type": "array", "minItems": 1, "items": _TEXT_FIELDS}

    def columns(self, spec: MixSpec) -> list[tuple[str, str]]:
        if not self.enabled(spec):
            return []
        # hash() only groups rows within this run; which copy stays is decided by (src, id).
        return [
            ("_text", fields_text(self.setting(spec))),
            ("_spaced", single_spaced("_text")),
            ("norm", f"hash(lower({trimmed('_spaced')}))"),
        ]

    def dropped(self, state: MixState) -> str:
        # Only the values that repeat are ranked: sorting every row to find a few copies is most of the cost.
        table = state.candidates
        return f"""rowid IN (SELECT row FROM (
                       SELECT rowid AS row, row_number() OVER (PARTITION BY norm ORDER BY src, id) AS _rank
                       FROM {table} WHERE norm IN (SELECT norm FROM {table} GROUP BY norm HAVING count(*) > 1))
                   WHERE _rank > 1)"""


class NearDedupe(CandidateFilter):
    name, spec_key = "near_dedupe", "dedupe.near"
    help = "MinHash (datasketch) near-duplicates: estimated Jaccard similarity of word 3-grams at or above threshold"
    schema = {
        "type": "object",
        "required": ["threshold"],
        "additionalProperties": False,
        "properties": {
            "threshold": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
            "fields": {"type": "array", "minItems": 1, "items": _TEXT_FIELDS},
            "num_perm": {"type": "integer", "minimum": 16, "maximum": 512},
        },
    }
    batch = 20000

    def dropped(self, state: MixState) -> pa.Table:
        """Rows whose text is a near copy of an earlier one (earlier sources win, then lower ids), by
        MinHash LSH (``mmdata.mix.near``), streamed in batches. ``state.workers`` processes compute the
        signatures (None: by input size and cores); they are spawned, so a script calling this with
        workers must guard its entry point (``if __name__ == "__main__":``)."""
        from mmdata.extras import import_extra
        from mmdata.mix.near import default_workers, near_copies

        import_extra("datasketch", "mix", "near-dedupe (dedupe.near in the spec)")
        near, progress = self.setting(state.spec), state.progress
        text = fields_text(near.get("fields", ["chat"]))
        total = sum(state.count_by_source().values())
        progress("near-dedupe", 0, total)
        reader = state.con.execute(
            f"SELECT src, id, lower({text}) AS t FROM {state.candidate_records()} ORDER BY src, id"
        ).to_arrow_reader(self.batch)
        batches = (
            (list(zip(chunk.column("src").to_pylist(), chunk.column("id").to_pylist())), chunk.column("t").to_pylist())
            for chunk in reader
        )
        done = [0]

        def heard(rows: int, dropped: int) -> None:
            done[0] += rows
            progress("near-dedupe", done[0], total, f"{dropped:,} near copies")

        dropped = near_copies(
            batches,
            float(near["threshold"]),
            int(near.get("num_perm", 64)),
            default_workers(total) if state.workers is None else state.workers,
            heard,
        )
        return pa.table({"src": [d[0] for d in dropped], "id": [d[1] for d in dropped]})


class NoMalay(LanguageFilter):
    name, spec_key = "no_malay", "language"
    help = "`ms` (or `both`) needs Malay on every turn: records without it give no Malay row"
    column = "has_malay"

    def enabled(self, spec: MixSpec) -> bool:
        return True  # every policy reads the flag: `mix` picks Malay only where it exists

    def columns(self, spec: MixSpec) -> list[tuple[str, str]]:
        return [(self.column, "len(list_filter(chat, lambda t: t.content_ms IS NULL)) = 0")]

    def usable(self) -> pl.Expr:
        return pl.col(self.column)


WHERE, EXCLUDE_FLAGGED, MAX_TURNS, MAX_TOKENS = Where(), ExcludeFlagged(), MaxTurns(), MaxTokens()
DEDUPE, NEAR_DEDUPE, NO_MALAY = ExactDedupe(), NearDedupe(), NoMalay()
# Flagged records go first: a duplicate of a flagged record is then kept rather than dropped with it.
FILTERS: tuple[MixFilter, ...] = (WHERE, EXCLUDE_FLAGGED, MAX_TURNS, MAX_TOKENS, DEDUPE, NEAR_DEDUPE, NO_MALAY)


def setting_of(data: dict, spec_key: str):
    """The value at a dotted top-level ``spec_key`` of the spec's YAML data (None where absent)."""
    value = data
    for part in spec_key.split("."):
        value = (value or {}).get(part)
    return value


def mix_schema(schema: dict) -> dict:
    """``schema`` (the shipped mix schema) with every filter's key described by the registry."""
    for f in FILTERS:
        if f.schema is None:
            continue
        node = schema
        for part in f.spec_key.split("."):
            node = node["properties"].setdefault(part.removesuffix("[]"), {"type": "object", "properties": {}})
            node = node["items"] if part.endswith("[]") else node
        node.clear()
        node.update({**f.schema, "description": f.help})
    return schema


def filters_table() -> str:
    """The docs' table of filters (docs/mix.md holds it as written here)."""
    lines = ["| filter (`removed` reason) | spec key | what it does |", "|---|---|---|"]
    lines += [f"| `{f.name}` | `{f.spec_key}` | {f.help} |" for f in FILTERS]
    return "\n".join(lines)


def apply_filters(state: MixState) -> None:
    """Every enabled candidate filter, in registry order; then each source's ``available`` rows."""
    for f in FILTERS:
        if isinstance(f, CandidateFilter) and f.enabled(state.spec):
            apply_filter(state, f)
    for plan in state.plans:
        plan.available = 0
    for i, available in state.count_by_source().items():
        state.plans[i].available = available


def apply_filter(state: MixState, f: CandidateFilter) -> None:
    """Drop what ``f`` drops from the candidate table and count it, per source, in ``removed``."""
    con, dropped = state.con, f.dropped(state)
    pairs = isinstance(dropped, pa.Table)
    if pairs:
        con.register(state.dropped_pairs, dropped)
        dropped = f"(src, id) IN (SELECT (src, id) FROM {state.dropped_pairs})"
    try:  # found once, then counted and deleted by row number: evaluating the condition twice costs more
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {state.dropped_rows} AS "
            f"SELECT rowid AS row, src FROM {state.candidates} WHERE {dropped}"
        )
    finally:
        if pairs:
            con.unregister(state.dropped_pairs)
    for i, n in con.execute(f"SELECT src, count(*) FROM {state.dropped_rows} GROUP BY src").fetchall():
        state.plans[i].removed[f.name] = n
    con.execute(f"DELETE FROM {state.candidates} WHERE rowid IN (SELECT row FROM {state.dropped_rows})")
    con.execute(f"DROP TABLE {state.dropped_rows}")
