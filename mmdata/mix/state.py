"""What the mix steps hand each other: the connection, the spec, the per-source plans, and the named
relations and frames each step makes."""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb
import polars as pl

from mmdata.mix.spec import MixSpec, Source
from mmdata.progress import ProgressCallback, silent
from mmdata.store.versions import VersionRef


@dataclass
class SourcePlan:
    source: Source
    ref: VersionRef
    loaded: int = 0
    matched: int = 0  # after `where`
    removed: dict = field(default_factory=dict)  # filter name -> rows
    available: int = 0
    planned: int = 0  # records to draw (before the language policy)
    language: object = "en"


@dataclass
class MixState:
    """One mix run. DuckDB relations are named here, once: a step reads another's relation through
    these attributes, never through a name written into its own SQL."""

    con: duckdb.DuckDBPyConnection
    spec: MixSpec
    progress: ProgressCallback = silent
    workers: int | None = 0  # near-dedupe's signature processes (None: by input size and cores)
    plans: list[SourcePlan] = field(default_factory=list)
    # select: every source's matching records (a view, with `src`, the source's index in the spec)
    records: str = "mix_records"
    # select, then filters: the narrow key table of candidates (src, id, key hash, what later steps need)
    candidates: str = "mix_candidates"
    # filters: the (src, id) pairs a filter drops (registered from Arrow), and the rows they are
    dropped_pairs: str = "mix_dropped_pairs"
    dropped_rows: str = "mix_dropped_rows"
    # split: one row per group key, registered for DuckDB's md5
    split_groups: str = "mix_split_groups"
    # write: the drawn key table, registered from Arrow, and the rows `combine` made
    drawn: str = "mix_drawn"
    combined: str = "mix_combined"
    rows: pl.DataFrame | None = None  # draw -> languages -> split: one row per mixture row (src, id, copy, language, split, ...)

    def candidate_records(self, alias: str = "s") -> str:
        """FROM clause: the full records of the candidates still in the key table."""
        return f"{self.records} {alias} SEMI JOIN {self.candidates} c ON {alias}.src = c.src AND {alias}.id = c.id"

    def count_by_source(self) -> dict[int, int]:
        return dict(self.con.execute(f"SELECT src, count(*) FROM {self.candidates} GROUP BY src").fetchall())
