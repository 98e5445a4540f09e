"""The mixture report, computed from the rows as written (never from the plan)."""

from __future__ import annotations

from mmdata.store.lake import fetch_dicts


def mixture_report(con, relation: str, planned: dict | None = None, tokenizer: str | None = None) -> dict:
    """Shares by source, kind, language and split; per-record shape (tokens too, given a tokenizer).
    ``planned``: source -> planned rows."""
    (total,) = con.execute(f"SELECT count(*) FROM {relation}").fetchone()
    field = lambda name: f"json_extract_string(extra, '$.{name}')"  # noqa: E731

    def shares(column: str) -> list[dict]:
        return [{**row, "share": round(row["rows"] / total, 4) if total else 0.0}
                for row in fetch_dicts(con, f"SELECT {column} AS value, count(*) AS rows FROM {relation} GROUP BY 1 ORDER BY 1")]

    by_source = shares(field("mix_source"))
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
    return {"rows": total, "by_source": by_source, "by_kind": shares("kind"), "by_language": shares(field("language")),
            "by_split": shares(field("split")), "shape": shape}
