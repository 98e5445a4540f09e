"""``ls``, ``log``, ``show``, ``stats``: what is in the store, as plain data the CLI renders."""

from __future__ import annotations

from mmdata.options import at_least
from mmdata.store.lake import Store, fetch_dicts
from mmdata.store.tables import from_row
from mmdata.store.versions import VersionRef, list_versions, resolve, split_ref


def ls(store: Store | str | None = None) -> list[dict]:
    """One row per dataset: newest version, record kind, record count, tags, last change."""
    store = Store.of(store)
    if not store.exists:
        return []
    with store.reader() as con:
        newest: dict[str, dict] = {}
        tags: dict[str, list] = {}
        for version in list_versions(con):
            newest[version["dataset"]] = version
            tags.setdefault(version["dataset"], []).extend(f"{t}->@{version['version']}" for t in version["tags"])
        out = []
        for name, version in sorted(newest.items()):
            (records,) = con.execute(f'SELECT count(*) FROM lake."{name}"').fetchone()
            out.append(
                {
                    "dataset": name,
                    "version": version["version"],
                    "record_kind": version["record_kind"],
                    "records": records,
                    "tags": tags[name],
                    "updated": str(version["created_at"])[:19],
                    "command": version["command"],
                }
            )
        return out


def log(name: str, store: Store | str | None = None) -> list[dict]:
    """Every version of dataset ``name``, oldest first, with its lineage."""
    store = Store.of(store)
    dataset, _ = split_ref(name)
    with store.reader() as con:
        resolve(con, dataset)  # raises NotFoundError for an unknown name
        return [{**v, "created_at": str(v["created_at"])[:19]} for v in list_versions(con, dataset)]


def show(ref: str, store: Store | str | None = None, limit: int = 3) -> dict:
    """One version: lineage, columns, record count, a few records, and its rejects by rule."""
    at_least(0, limit=limit)
    store = Store.of(store)
    with store.reader() as con:
        version = resolve(con, ref)
        lineage = next(v for v in list_versions(con, version.dataset) if v["version"] == version.version)
        columns = fetch_dicts(con, f"DESCRIBE SELECT * FROM {version.relation}")
        (records,) = con.execute(f"SELECT count(*) FROM {version.relation}").fetchone()
        sample = [
            from_row(version.record_kind, row) for row in fetch_dicts(con, f"SELECT * FROM {version.relation} LIMIT {int(limit)}")
        ]
        rejects = fetch_dicts(
            con,
            "SELECT rule, count(*) AS n FROM lake._rejects WHERE dataset = ? AND version = ? GROUP BY rule ORDER BY n DESC",
            [version.dataset, version.version],
        )
        reject_samples = fetch_dicts(
            con,
            "SELECT file, line, field_path, rule, message FROM lake._rejects "
            "WHERE dataset = ? AND version = ? ORDER BY file, line LIMIT ?",
            [version.dataset, version.version, int(limit)],
        )
    return {
        "version": str(version),
        "record_kind": version.record_kind,
        "records": records,
        "created_at": str(lineage["created_at"])[:19],
        "command": lineage["command"],
        "arguments": lineage["arguments"],
        "parents": lineage["parents"],
        "inputs": lineage["inputs"],
        "counts": lineage["counts"],
        "tags": lineage["tags"],
        "tool_version": lineage["tool_version"],
        "snapshot": version.snapshot,
        "columns": {c["column_name"]: c["column_type"] for c in columns},
        "sample": sample,
        "rejects": {r["rule"]: r["n"] for r in rejects},
        "reject_samples": reject_samples,
    }


_CONVERSATION_STATS = """
WITH turns AS (SELECT id, unnest(chat) AS t FROM {rel})
SELECT
  (SELECT count(*) FROM {rel}) AS records,
  (SELECT min(len(chat)) FROM {rel}) AS turns_min,
  (SELECT round(avg(len(chat)), 2) FROM {rel}) AS turns_mean,
  (SELECT max(len(chat)) FROM {rel}) AS turns_max,
  (SELECT round(avg(len(t.content)) FILTER (WHERE t.role = 'user'), 1) FROM turns) AS user_chars_mean,
  (SELECT round(avg(len(t.content)) FILTER (WHERE t.role = 'assistant'), 1) FROM turns) AS assistant_chars_mean,
  (SELECT round(avg(len(images)), 2) FROM {rel}) AS images_mean,
  (SELECT max(len(images)) FROM {rel}) AS images_max,
  (SELECT round(avg(len(audios)), 2) FROM {rel}) AS audios_mean,
  (SELECT max(len(audios)) FROM {rel}) AS audios_max,
  (SELECT round(100.0 * count(t.content_ms) / nullif(count(*), 0), 1) FROM turns) AS content_ms_turns_pct,
  (SELECT round(100.0 * count(*) FILTER (WHERE len(list_filter(chat, lambda x: x.content_ms IS NULL)) = 0)
          / nullif(count(*), 0), 1) FROM {rel}) AS fully_malay_records_pct
"""

_MEDIA_STATS = """
SELECT count(*) AS records,
       count(*) FILTER (WHERE caption IS NOT NULL) AS with_caption,
       count(*) FILTER (WHERE caption_ms IS NOT NULL) AS with_caption_ms,
       {extra}
FROM {rel}
"""


def stats(ref: str, store: Store | str | None = None) -> dict:
    """Shape of a version: turns, lengths, media per record, Malay fill, kinds (or durations/sizes)."""
    store = Store.of(store)
    with store.reader() as con:
        version: VersionRef = resolve(con, ref)
        rel = version.relation
        if version.record_kind == "conversation":
            out = fetch_dicts(con, _CONVERSATION_STATS.format(rel=rel))[0]
            out["kinds"] = {
                r["kind"]: r["n"]
                for r in fetch_dicts(con, f"SELECT kind, count(*) AS n FROM {rel} GROUP BY kind ORDER BY n DESC")
            }
            lineage = next(v for v in list_versions(con, version.dataset) if v["version"] == version.version)
            if lineage["command"] == "mix":  # a mixture: its report, from its rows, against the plan it kept
                from mmdata.mix.report import mixture_report

                out["mixture"] = mixture_report(con, rel, (lineage["counts"] or {}).get("plan"))
        elif version.record_kind == "transcript":
            out = fetch_dicts(
                con,
                f"""SELECT count(*) AS records, round(sum("end" - start) / 3600, 3) AS hours,
                                 count(text_ms) AS with_text_ms, count(text_en) AS with_text_en,
                                 round(avg(avg_logprob), 3) AS avg_logprob_mean,
                                 count(*) FILTER (WHERE repeated_ngram) AS repeated_ngram FROM {rel}""",
            )[0]
        else:
            extra = (
                "round(sum(duration) / 3600, 3) AS hours, round(avg(duration), 2) AS duration_mean"
                if version.record_kind == "audio"
                else "round(avg(width), 1) AS width_mean, round(avg(height), 1) AS height_mean"
            )
            out = fetch_dicts(con, _MEDIA_STATS.format(rel=rel, extra=extra))[0]
    return {
        "version": str(version),
        "record_kind": version.record_kind,
        **{k: (float(v) if hasattr(v, "as_tuple") else v) for k, v in out.items()},
    }
