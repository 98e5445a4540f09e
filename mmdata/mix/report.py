"""The mixture report, computed from the rows as written (never from the plan)."""

from __future__ import annotations

from mmdata.store.lake import fetch_dicts


def mixture_report(con, relation: str, planned: dict | None = None, tokenizer: str | None = None) -> dict:
    """Shares by source, kind, language and split; per-record shape (tokens too, given a tokenizer).
    ``planned``: source -> planned rows."""
    # One scan for every share: the JSON fields are read once, grouped four ways.
    tally = fetch_dicts(con, f"""
        SELECT mix_source, kind, language, split, GROUPING(mix_source, kind, language, split) AS g, count(*) AS rows
        FROM (SELECT kind, extra->>'$.mix_source' AS mix_source, extra->>'$.language' AS language,
                     extra->>'$.split' AS split FROM {relation})
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
    shape = fetch_dicts(con, f"""WITH turns AS (SELECT unnest(chat) AS t FROM {relation})
        SELECT (SELECT round(avg(len(chat)), 2) FROM {relation}) AS turns_mean,
               (SELECT max(len(chat)) FROM {relation}) AS turns_max,
               (SELECT round(avg(len(images)), 3) FROM {relation}) AS images_mean,
               (SELECT round(avg(len(audios)), 3) FROM {relation}) AS audios_mean,
               (SELECT round(avg(len(t.content)), 1) FROM turns) AS chars_per_turn_mean""")[0]
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
