"""``mix``: a training mixture from a reviewed YAML spec, written as a versioned dataset with a report."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mmdata.errors import InputError
from mmdata.options import at_least
from mmdata.progress import ProgressCallback, silent
from mmdata.store.lake import Store


@dataclass
class MixResult:
    dataset: str
    version: int | None = None
    rows: int = 0
    plan: list = field(default_factory=list)  # per source: version, mode, available, planned, removed
    report: dict = field(default_factory=dict)
    plots: list = field(default_factory=list)
    message: str = ""


def mix(
    spec_path: str | Path,
    store: Store | str | None = None,
    dry_run: bool = False,
    wait: float | None = None,
    plot_dir: str | Path | None = None,
    progress: ProgressCallback = silent,
    workers: int | None = 0,
) -> MixResult:
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

    For example ``mix("specs/mixes/demo.yaml", dry_run=True).plan`` lists, per source, the rows
    in each language and their tokens, and writes nothing.
    """
    from mmdata.mix.commit import check_target, commit_mixture
    from mmdata.mix.draw import draw
    from mmdata.mix.filters import apply_filters
    from mmdata.mix.languages import apply_languages
    from mmdata.mix.plan import plan_sizes
    from mmdata.mix.report import plan_table, why_empty, written_report
    from mmdata.mix.select import candidate_frame, select_candidates
    from mmdata.mix.spec import load_spec
    from mmdata.mix.split import apply_split
    from mmdata.mix.state import MixState
    from mmdata.mix.write import output_file, write_mixture
    from mmdata.store.journal import RunJournal
    from mmdata.store.tables import arrow_schema

    at_least(0, workers=workers)
    store = Store.of(store)
    spec = load_spec(spec_path)
    result = MixResult(spec.name)
    with store.reader() as con:
        check_target(con, spec)
        state = MixState(con, spec, progress, workers)
        progress("selecting candidates", 0, 1)
        select_candidates(state)
        apply_filters(state)
        plan_sizes(spec, state.plans)
        progress("selecting candidates", 1, 1)
        # The selection itself is cheap (a key table), so a dry run makes it too: its numbers are exact.
        state.rows = draw(candidate_frame(state), spec, state.plans)
        state.rows = apply_languages(state.rows, spec, state.plans)
        state.rows = apply_split(state, state.rows)
        result.plan = plan_table(state)
        if dry_run:
            return _dry_run(state, result)
        if not state.rows.height:
            raise InputError(
                f"{spec.path}: the mixture would be empty: "
                + "; ".join(why_empty(row) for row in result.plan)
                + " (mmdata mix --dry-run shows the plan)"
            )
        progress("writing the mixture", 0, 1)
        journal = RunJournal(store.runs, "mix", arrow_schema("conversation"))
        out, in_data_path = output_file(store, spec.name, journal)
        result.rows, unique = write_mixture(state, out)
        progress("writing the mixture", 1, 1)
    committed = commit_mixture(
        store, spec, spec_path, result.plan, result.rows, out, in_data_path, unique, journal, wait, progress
    )
    result.version = committed.version
    progress("report", 0, 1)
    with store.reader() as con:
        from mmdata.store.versions import resolve

        written = resolve(con, spec.name)
        result.report, result.plots = written_report(con, written.relation, result.plan, spec.tokenizer, plot_dir)
    progress("report", 1, 1)
    result.message = f"{spec.name}@{written.version}: {result.rows} rows from {len(state.plans)} sources" + (
        "" if committed.version else " (unchanged: same spec, same sources)"
    )
    return result


def _dry_run(state, result: MixResult) -> MixResult:
    """The plan with the tokens its rows hold; nothing written."""
    from mmdata.mix.tokens import expected_tokens

    spec, plans = state.spec, state.plans
    state.progress("counting tokens", 0, 1)
    tokens, counted_by = expected_tokens(state)
    state.progress("counting tokens", 1, 1)
    for i, row in enumerate(result.plan):
        row["tokens"] = tokens.get(i, 0)
    combine = f"; combine adds up to {spec.combine['rows']} rows when written" if spec.combine else ""
    result.message = (
        f"dry run: {state.rows.height} rows ({sum(p.planned for p in plans)} records) from {len(plans)} sources, "
        f"{sum(tokens.values()):,} tokens ({counted_by}){combine}; nothing written"
    )
    return result
