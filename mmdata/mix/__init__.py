"""``mix``: a training mixture from a reviewed YAML spec, written as a versioned dataset with a report."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mmdata.progress import ProgressCallback, silent
from mmdata.store.lake import Store
from mmdata.store.versions import Lineage


@dataclass
class MixResult:
    dataset: str
    version: int | None = None
    rows: int = 0
    plan: list = field(default_factory=list)  # per source: version, mode, available, planned, removed
    report: dict = field(default_factory=dict)
    plots: list = field(default_factory=list)
    message: str = ""


def _output_file(store: Store, name: str, journal) -> tuple[Path, bool]:
    """Where ``finish`` writes: straight into the store's data path when it is local, so the commit
    adopts the file instead of copying a million rows; else the run's journal folder."""
    if "://" in store.data_path:
        return journal.dir / "records.parquet", False
    folder = Path(store.data_path) / "main" / name
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"mix-{journal.run_id}.parquet", True


def mix(spec_path: str | Path, store: Store | str | None = None, dry_run: bool = False, wait: float | None = None,
        plot_dir: str | Path | None = None, progress: ProgressCallback = silent) -> MixResult:
    """Build the mixture ``spec_path`` describes; ``dry_run`` only plans it (rows per source, nothing written).

    ``plot_dir`` gets PNG charts of the report; ``progress`` hears each phase (and the token count
    and near-dedupe row by row). Sources named without a version are resolved now and recorded in the lineage with the spec's
    content hash, so the mixture can be rebuilt exactly. The same spec on the same source versions
    gives the same record ids in the same order (``extra.mix_index``) on any machine.

    >>> result = mix("specs/mixes/stage2.yaml")
    >>> result.report["by_source"]
    """
    from mmdata.mix.build import candidates, finish, load_candidates, plan_sizes
    from mmdata.mix.keys import apply_languages, apply_split, draw
    from mmdata.mix.report import mixture_report
    from mmdata.mix.spec import load_spec
    from mmdata.store.commit import commit_staged
    from mmdata.store.journal import RunJournal
    from mmdata.store.tables import arrow_schema

    store = Store.of(store)
    spec = load_spec(spec_path)
    result = MixResult(spec.name)
    with store.reader() as con:
        progress("selecting candidates", 0, 1)
        plans = load_candidates(con, spec, progress)
        plan_sizes(spec, plans)
        progress("selecting candidates", 1, 1)
        result.plan = [{"source": str(p.ref), "line": p.source.line, "mode": p.source.mode, "amount": p.source.amount,
                        "language": p.language, "loaded": p.loaded, "matched": p.matched, "available": p.available,
                        "planned": p.planned, "removed": p.removed} for p in plans]
        if dry_run:
            result.message = f"dry run: {sum(p.planned for p in plans)} records planned from {len(plans)} sources"
            return result
        progress("writing the mixture", 0, 1)
        rows = apply_split(con, apply_languages(draw(candidates(con, spec), spec, plans), spec, plans), spec)
        journal = RunJournal(store.runs, "mix", arrow_schema("conversation"))
        out, in_data_path = _output_file(store, spec.name, journal)
        result.rows, unique = finish(con, spec, plans, rows, out)
        progress("writing the mixture", 1, 1)
        for row in result.plan:  # removals found while applying the language policy
            row["removed"] = next(p.removed for p in plans if str(p.ref) == row["source"])
    lineage = Lineage("mix", {"spec": str(spec_path), "spec_hash": spec.hash, "seed": spec.seed},
                      parents=[str(p.ref) for p in plans],
                      inputs=[{"path": str(spec_path), "sha256": spec.hash, "spec": spec.text}])
    adopt = in_data_path and unique  # repeated keys go through the upsert, which copies the rows
    committed = None
    try:
        committed = commit_staged(store, spec.name, "conversation", {"records": out, "media": None, "rejects": None},
                                  lineage, journal.run_id, counts={"rows": result.rows}, replace=True, wait=wait,
                                  unique_keys=unique, adopt=adopt, progress=progress)
    finally:
        if in_data_path and not (adopt and committed and committed.version):
            out.unlink(missing_ok=True)  # not adopted: nothing in the catalog points at it
    journal.remove()
    result.version = committed.version
    progress("report", 0, 1)
    with store.reader() as con:
        from mmdata.store.versions import resolve

        written = resolve(con, spec.name)
        planned = {}
        for p in plans:
            languages = 2 if p.language == "both" else 1
            planned[str(p.ref)] = p.planned * languages
        result.report = mixture_report(con, written.relation, planned, spec.tokenizer)
        if plot_dir is not None:
            from mmdata.mix.plot import plot_report

            lengths = [n for (n,) in con.execute(
                f"SELECT sum(len(t.content)) FROM (SELECT id, unnest(chat) AS t FROM {written.relation}) GROUP BY id").fetchall()]
            result.plots = [str(p) for p in plot_report(result.report, lengths, plot_dir)]
    progress("report", 1, 1)
    result.message = (f"{spec.name}@{written.version}: {result.rows} rows from {len(plans)} sources"
                      + ("" if committed.version else " (unchanged: same spec, same sources)"))
    return result
