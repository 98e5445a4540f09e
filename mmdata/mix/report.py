"""Step 8, report: the plan table (what each source gave and lost, and to which filter), and the
mixture report, computed from the rows as written (never from the plan)."""

from __future__ import annotations

from mmdata.store.lake import fetch_dicts


def plan_table(state) -> list[dict]:
    """Per source: where it came from, how many rows it had, matched, kept and planned, what each filter
    removed, and its rows per language. Kept in the version's lineage: `stats` shows it later."""
    from mmdata.mix.languages import rows_by_language

    return [
        {
            "source": str(p.ref),
            "line": p.source.line,
            "mode": p.source.mode,
            "amount": p.source.amount,
            "language": p.language,
            "loaded": p.loaded,
            "matched": p.matched,
            "available": p.available,
            "planned": p.planned,
            "removed": p.removed,
            **rows_by_language(state.rows, i),
        }
        for i, p in enumerate(state.plans)
    ]


def why_empty(plan: dict) -> str:
    """One source's line of the error for a mixture with no rows."""
    from mmdata.mix.filters import WHERE

    removed = {WHERE.name: plan["loaded"] - plan["matched"], **plan["removed"]}
    dropped = ", ".join(f"{name} {n}" for name, n in removed.items() if n)
    return (
        f"{plan['source']} has {plan['available']} of {plan['loaded']} rows after filters"
        + (f" ({dropped} removed)" if dropped else "")
        + f", {plan['planned']} planned"
    )


def written_report(con, relation: str, plan: list[dict], tokenizer: str | None, plot_dir=None) -> tuple[dict, list[str]]:
    """The report of the written mixture ``relation``, and the charts drawn into ``plot_dir`` (if given)."""
    report, plots = mixture_report(con, relation, plan, tokenizer), []
    if plot_dir is not None:
        from mmdata.mix.plot import plot_report

        lengths = [
            n
            for (n,) in con.execute(
                f"SELECT sum(len(t.content)) FROM (SELECT id, unnest(chat) AS t FROM {relation}) GROUP BY id"
            ).fetchall()
        ]
        plots = [str(p) for p in plot_report(report, lengths, plot_dir)]
    return report, plots


def planned_rows(plan: list[dict]) -> tuple[dict, dict]:
    """Rows the spec asks for, by source and by language: each source's planned records under its
    language policy (``both``: one row per language; ``mix``: split by its shares). Set against the
    achieved rows, this shows e.g. Malay asked for but missing from the records."""
    by_source: dict[str, float] = {}
    by_language: dict[str, float] = {}
    for row in plan:
        policy, records = row["language"], row["planned"]
        if policy == "both":
            asked = {"en": records, "ms": records}
        elif isinstance(policy, str):
            asked = {policy: records}
        else:
            total = sum(policy["mix"].values()) or 1
            asked = {language: records * share / total for language, share in policy["mix"].items()}
        by_source[row["source"]] = by_source.get(row["source"], 0) + sum(asked.values())
        for language, rows in asked.items():
            by_language[language] = by_language.get(language, 0) + rows
    return by_source, by_language


def mixture_report(con, relation: str, plan: list[dict] | None = None, tokenizer: str | None = None) -> dict:
    """Shares by source, kind, language and split, set against the ``plan`` (``mix``'s per-source
    plan, kept in the version's lineage) where there is one; per-record shape (tokens too, given a
    tokenizer); the plan itself, with the rows each filter removed."""
    # One scan for every share: the JSON fields are read once (into a struct: a third faster than
    # extracting paths), grouped four ways.
    fields = '{"mix_source": "VARCHAR", "language": "VARCHAR", "split": "VARCHAR"}'
    tally = fetch_dicts(
        con,
        f"""
        SELECT f.mix_source, kind, f.language, f.split, GROUPING(f.mix_source, kind, f.language, f.split) AS g, count(*) AS rows
        FROM (SELECT kind, from_json(extra, '{fields}') AS f FROM {relation})
        GROUP BY GROUPING SETS ((f.mix_source), (kind), (f.language), (f.split), ())""",
    )
    (total,) = [row["rows"] for row in tally if row["g"] == 15] or [0]
    grouped = {column: 15 - (8 >> i) for i, column in enumerate(("mix_source", "kind", "language", "split"))}

    def shares(column: str) -> list[dict]:
        rows = sorted(
            ({"value": row[column], "rows": row["rows"]} for row in tally if row["g"] == grouped[column]),
            key=lambda row: (row["value"] is None, row["value"] or ""),
        )
        return [{**row, "share": round(row["rows"] / total, 4) if total else 0.0} for row in rows]

    by_source, by_language = shares("mix_source"), shares("language")
    if plan:
        for rows, planned in zip((by_source, by_language), planned_rows(plan)):
            planned_total = sum(planned.values()) or 1
            for row in rows:
                row["planned_rows"] = round(planned.get(row["value"], 0))
                row["planned_share"] = round(planned.get(row["value"], 0) / planned_total, 4)
    # One scan for the shape too; characters per turn = all characters / turns that have text
    # (list_count counts the non-NULL ones without copying them, as list_filter would).
    shape = fetch_dicts(
        con,
        f"""
        SELECT round(avg(len(chat)), 2) AS turns_mean, max(len(chat)) AS turns_max,
               round(avg(len(images)), 3) AS images_mean, round(avg(len(audios)), 3) AS audios_mean,
               round(sum(list_sum(list_transform(chat, lambda t: len(t.content))))
                     / nullif(sum(list_count(list_transform(chat, lambda t: t.content))), 0), 1) AS chars_per_turn_mean
        FROM {relation}""",
    )[0]
    shape = {k: (float(v) if v is not None else None) for k, v in shape.items()}
    if tokenizer:
        from mmdata.mix.tokens import load_tokenizer

        encoder, counts = load_tokenizer(tokenizer), []
        texts = f"SELECT array_to_string(list_transform(chat, lambda t: t.content), ' ') AS text FROM {relation}"
        for chunk in con.execute(texts).to_arrow_reader(20000):
            counts += [len(e.ids) for e in encoder.encode_batch(chunk.column("text").to_pylist())]
        shape["tokens_mean"] = round(sum(counts) / len(counts), 2) if counts else None
        shape["tokens_max"] = max(counts, default=None)
    return {
        "rows": total,
        "by_source": by_source,
        "by_kind": shares("kind"),
        "by_language": by_language,
        "by_split": shares("split"),
        "shape": shape,
        "plan": plan or [],
    }
