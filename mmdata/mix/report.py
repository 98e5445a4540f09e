"""The mixture report, computed from the rows as written (never from the plan)."""

from __future__ import annotations

from mmdata.store.lake import fetch_dicts


def mixture_report(con, relation: str, planned: dict | None = None, tokenizer: str | None = None) -> dict:
    """Shares by source, kind, language and split; per-record shape (tokens too, given a tokenizer).
    ``planned``: source -> planned rows."""
    # One scan for every share: the JSON fields are read once, grouped four ways.
    tally = fetch_dicts(con, f"""
        SELECT mix_source, kind, language, split, GROUPING(mix_source, kind, language, split) AS g, count(*) AS rows
        FROM (SELECT kind, f[1] AS mix_source, f[2] AS language, f[3] AS split
              FROM (SELECT kind, json_extract_string(extra, ['$.mix_source', '$.language', '$.split']) AS f FROM {relation}))
        GROUP BY GROUPING SETS ((mix_source), (kind), (language), (split), ())""")
    (total,) = [row["rows"] for row in tally if row["g"] == 15] or [0]
    grouped = {column: 15 - (8 >> i) for i, column in enumerate(("mix_source", "kind", "language", "split"))}

    def shares(column: str) -> list[dict]:
        rows = sorted(({"value": row[column], "rows": row["rows"]} for row in tally if row["g"] == grouped[column]),
                      key=lambda row: (row["value"] is None, row["value"] or ""))
        return [{**row, "share": round(row["rows"] / total, 4) if total else 0.0} for row in rows]

    by_source = shares("mix_source")
    if planned:
        planned_total = sum(planned.values()) or 1
        for row in by_source:
            row["planned_rows"] = planned.get(row["value"], 0)
            row["planned_share"] = round(row["planned_rows"] / planned_total, 4)
    # One scan for the shape too; characters per turn = all characters / turns that have text.
    shape = fetch_dicts(con, f"""
        SELECT round(avg(len(chat)), 2) AS turns_mean, max(len(chat)) AS turns_max,
               round(avg(len(images)), 3) AS images_mean, round(avg(len(audios)), 3) AS audios_mean,
               round(sum(list_sum(list_transform(chat, lambda t: len(t.content))))
                     / nullif(sum(len(list_filter(chat, lambda t: t.content IS NOT NULL))), 0), 1) AS chars_per_turn_mean
        FROM {relation}""")[0]
    shape = {k: (float(v) if v is not None else None) for k, v in shape.items()}
    if tokenizer:
        from mmdata.mix.build import load_tokenizer

        encoder, counts = load_tokenizer(tokenizer), []
        texts = f"SELECT array_to_string(list_transform(chat, lambda t: t.content), ' ') AS text FROM {relation}"
        for chunk in con.execute(texts).to_arrow_reader(20000):
            counts += [len(e.ids) for e in encoder.encode_batch(chunk.column("text").to_pylist())]
        shape["tokens_mean"] = round(sum(counts) / len(counts), 2) if counts else None
        shape["tokens_max"] = max(counts, default=None)
    return {"rows": total, "by_source": by_source, "by_kind": shares("kind"), "by_language": shares("language"),
            "by_split": shares("split"), "shape": shape}
