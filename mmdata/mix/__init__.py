"""``mix``: a training mixture from a reviewed YAML spec, written as a versioned dataset with a report."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mmdata.errors import InputError
from mmdata.options import at_least
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


def _check_target(con, spec) -> None:
    """A mixture replaces all the rows of the dataset it is named after: refuse a name that holds
    anything but an earlier mixture (a source's rows would be lost from its latest version)."""
    from mmdata.store.versions import list_versions

    versions = list_versions(con, spec.name)
    if versions and versions[-1]["command"] != "mix":
        raise InputError(f"{spec.path}: name: {spec.name} already holds rows made by `{versions[-1]['command']}` "
                         f"({spec.name}@{versions[-1]['version']}); a mixture replaces its dataset's rows, so give it another name")


def _why_empty(plan: dict) -> str:
    removed = {"where": plan["loaded"] - plan["matched"], **plan["removed"]}
    dropped = ", ".join(f"{name} {n}" for name, n in removed.items() if n)
    return (f"{plan['source']} has {plan['available']} of {plan['loaded']} rows after filters"
            + (f" ({dropped} removed)" if dropped else "") + f", {plan['planned']} planned")


def mix(spec_path: str | Path, store: Store | str | None = None, dry_run: bool = False, wait: float | None = None,
        plot_dir: str | Path | None = None, progress: ProgressCallback = silent, workers: int | None = 0) -> MixResult:
    """Build the mixture ``spec_path`` describes; ``dry_run`` only plans it: the same selection, with
    rows per source and language and the tokens they hold (exact with the spec's ``tokenizer``, else
    estimated at 4 characters a token), and nothing written.

    ``plot_dir`` gets PNG charts of the report; ``progress`` hears each phase (and the token count
    and near-dedupe row by row). ``workers`` processes compute near-dedupe's signatures (None: by
    input size and cores; they are spawned, so guard a calling script with
    ``if __name__ == "__main__":``); the result is the same with any number.

    Sources named without a version are resolved now and recorded in the lineage with the spec's
    content hash, so the mixture can be rebuilt exactly. The same spec on the same source versions
    gives the same record ids in the same order (``extra.mix_index``) on any machine.

    >>> result = mix("specs/mixes/demo.yaml", dry_run=True)
    >>> [(p["source"], p["rows_en"], p["rows_ms"], p["tokens"]) for p in result.plan]
    """
    from mmdata.mix.build import candidates, expected_tokens, finish, load_candidates, plan_sizes
    from mmdata.mix.keys import apply_languages, apply_split, draw, rows_by_language
    from mmdata.mix.report import mixture_report
    from mmdata.mix.spec import load_spec
    from mmdata.store.commit import commit_staged
    from mmdata.store.journal import RunJournal
    from mmdata.store.tables import arrow_schema

    at_least(0, workers=workers)
    store = Store.of(store)
    spec = load_spec(spec_path)
    result = MixResult(spec.name)
    with store.reader() as con:
        _check_target(con, spec)
        progress("selecting candidates", 0, 1)
        plans = load_candidates(con, spec, progress, workers)
        plan_sizes(spec, plans)
        progress("selecting candidates", 1, 1)
        # The selection itself is cheap (a key table), so a dry run makes it too: its numbers are exact.
        rows = apply_split(con, apply_languages(draw(candidates(con, spec), spec, plans), spec, plans), spec)
        result.plan = [{"source": str(p.ref), "line": p.source.line, "mode": p.source.mode, "amount": p.source.amount,
                        "language": p.language, "loaded": p.loaded, "matched": p.matched, "available": p.available,
                        "planned": p.planned, "removed": p.removed, **rows_by_language(rows, i)} for i, p in enumerate(plans)]
        if dry_run:
            progress("counting tokens", 0, 1)
            tokens, counted_by = expected_tokens(con, spec, rows)
            progress("counting tokens", 1, 1)
            for i, row in enumerate(result.plan):
                row["tokens"] = tokens.get(i, 0)
            combine = f"; combine adds up to {spec.combine['rows']} rows when written" if spec.combine else ""
            result.message = (f"dry run: {rows.height} rows ({sum(p.planned for p in plans)} records) from {len(plans)} sources, "
                              f"{sum(tokens.values()):,} tokens ({counted_by}){combine}; nothing written")
            return result
        if not rows.height:
            raise InputError(f"{spec.path}: the mixture would be empty: " + "; ".join(_why_empty(row) for row in result.plan)
                             + " (mmdata mix --dry-run shows the plan)")
        progress("writing the mixture", 0, 1)
        journal = RunJournal(store.runs, "mix", arrow_schema("conversation"))
        out, in_data_path = _output_file(store, spec.name, journal)
        result.rows, unique = finish(con, spec, plans, rows, out)
        progress("writing the mixture", 1, 1)
    lineage = Lineage("mix", {"spec": str(spec_path), "spec_hash": spec.hash, "seed": spec.seed},
                      parents=[str(p.ref) for p in plans],
                      inputs=[{"path": str(spec_path), "sha256": spec.hash, "spec": spec.text}])
    adopt = in_data_path and unique  # repeated keys go through the upsert, which copies the rows
    committed = None
    try:
        committed = commit_staged(store, spec.name, "conversation", {"records": out, "media": None, "rejects": None},
                                  lineage, journal.run_id, counts={"rows": result.rows, "plan": result.plan}, replace=True, wait=wait,
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
        result.report = mixture_report(con, written.relation, result.plan, spec.tokenizer)
        if plot_dir is not None:
            from mmdata.mix.plot import plot_report

            lengths = [n for (n,) in con.execute(
                f"SELECT sum(len(t.content)) FROM (SELECT id, unnest(chat) AS t FROM {written.relation}) GROUP BY id").fetchall()]
            result.plots = [str(p) for p in plot_report(result.report, lengths, plot_dir)]
    progress("report", 1, 1)
    result.message = (f"{spec.name}@{written.version}: {result.rows} rows from {len(plans)} sources"
                      + ("" if committed.version else " (unchanged: same spec, same sources)"))
    return result
