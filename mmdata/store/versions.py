"""Dataset versions (``name@N``), tags (``name@stable``) and their lineage.

A version is one DuckLake snapshot: the data change and its ``_versions`` row commit together,
and the snapshot's commit info names the version, so time travel needs no copies.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

import duckdb

from mmdata import __version__
from mmdata.errors import InputError, NotFoundError
from mmdata.store.lake import fetch_dicts

NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]{0,63}$")
TAG_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_\-.]{0,63}$")
_SECRET_RE = re.compile(r"(key|token|secret|password|passwd|authorization)", re.I)
_URL_CREDENTIALS_RE = re.compile(r"(://)[^/@\s]+@")


def check_name(name: str) -> str:
    if not NAME_RE.match(name or ""):
        raise InputError(f"bad dataset name {name!r}: use a letter, then letters, digits, '_' or '-' (at most 64)")
    return name


def redact(value):
    """Drop secrets from lineage: values of secret-looking keys and credentials inside URLs."""
    if isinstance(value, dict):
        return {k: ("***" if _SECRET_RE.search(str(k)) and v else redact(v)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return _URL_CREDENTIALS_RE.sub(r"\1***@", value)
    return value


@dataclass
class Lineage:
    """Where a version came from; stored with it, secrets removed."""

    command: str
    arguments: dict = field(default_factory=dict)
    parents: list[str] = field(default_factory=list)
    inputs: list[dict] = field(default_factory=list)
    message: str = ""


@dataclass(frozen=True)
class VersionRef:
    dataset: str
    version: int
    snapshot: int
    record_kind: str

    def __str__(self) -> str:
        return f"{self.dataset}@{self.version}"

    @property
    def relation(self) -> str:
        """SQL for this version's rows."""
        return f'lake."{self.dataset}" AT (VERSION => {self.snapshot})'


def split_ref(text: str) -> tuple[str, str | None]:
    """``"name@3"`` -> ("name", "3"); ``"name"`` -> ("name", None)."""
    name, _, selector = text.partition("@")
    return check_name(name), (selector or None)


def _has_versions_table(con: duckdb.DuckDBPyConnection) -> bool:
    # Looked up by name: listing the lake's tables (duckdb_tables()) costs 0.05-0.08 s after each
    # commit, as DuckLake reloads them all. A store's first commit makes _versions.
    try:
        con.execute("SELECT 1 FROM lake._versions LIMIT 0")
    except duckdb.CatalogException:
        return False
    return True


def list_versions(con: duckdb.DuckDBPyConnection, dataset: str | list[str] | None = None) -> list[dict]:
    """Every version (of ``dataset``, of each dataset in a list, or of all), oldest first, with
    lineage and snapshot id."""
    if not _has_versions_table(con):
        return []
    names = [dataset] if isinstance(dataset, str) else list(dataset or [])
    where = f"WHERE v.dataset IN ({', '.join('?' for _ in names)})" if names else ""
    rows = fetch_dicts(
        con,
        f"""
        SELECT v.*, s.snapshot_id AS snapshot,
               (SELECT list(t.tag ORDER BY t.tag) FROM lake._tags t
                 WHERE t.dataset = v.dataset AND t.version = v.version) AS tags
        FROM lake._versions v
        JOIN lake.snapshots() s
          ON json_extract_string(s.commit_extra_info, '$.dataset') = v.dataset
         AND CAST(json_extract(s.commit_extra_info, '$.version') AS INTEGER) = v.version
        {where}
        ORDER BY v.dataset, v.version
        """,
        names,
    )
    for row in rows:
        for name in ("arguments", "inputs", "counts"):
            row[name] = json.loads(row[name]) if row[name] else None
        row["tags"] = row["tags"] or []
    return rows


def resolve(con: duckdb.DuckDBPyConnection, text: str, known: list[dict] | None = None) -> VersionRef:
    """Turn ``name``, ``name@N`` or ``name@tag`` into a VersionRef, or raise NotFoundError.
    ``known``: versions already listed (``list_versions`` of several datasets), sparing a query each."""
    name, selector = split_ref(text)
    versions = list_versions(con, name) if known is None else [v for v in known if v["dataset"] == name]
    if not versions:
        raise NotFoundError(f"unknown dataset {name!r} (mmdata ls lists the datasets)")
    if selector is None:
        chosen = versions[-1]
    elif selector.isdigit():
        chosen = next((v for v in versions if v["version"] == int(selector)), None)
    else:
        chosen = next((v for v in versions if selector in v["tags"]), None)
    if chosen is None:
        known = ", ".join(f"@{v['version']}" for v in versions)
        tags = sorted({t for v in versions for t in v["tags"]})
        hint = f"; tags: {', '.join('@' + t for t in tags)}" if tags else ""
        raise NotFoundError(f"unknown version {text!r}: {name} has {known}{hint}")
    return VersionRef(name, chosen["version"], chosen["snapshot"], chosen["record_kind"])


def record_version(con: duckdb.DuckDBPyConnection, dataset: str, record_kind: str, lineage: Lineage, counts: dict) -> int:
    """Inside an open transaction: add the ``_versions`` row and name the snapshot after it."""
    (latest,) = con.execute("SELECT coalesce(max(version), 0) FROM lake._versions WHERE dataset = ?", [dataset]).fetchone()
    version = latest + 1
    parents = ([f"{dataset}@{latest}"] if latest else []) + [p for p in lineage.parents if p != f"{dataset}@{latest}"]
    con.execute(
        "INSERT INTO lake._versions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            dataset,
            version,
            record_kind,
            datetime.now(UTC).replace(tzinfo=None),
            lineage.command,
            json.dumps(redact(lineage.arguments), ensure_ascii=False, default=str),
            parents,
            json.dumps(redact(lineage.inputs), ensure_ascii=False, default=str),
            json.dumps(counts),
            __version__,
            lineage.message,
        ],
    )
    con.execute(
        "CALL lake.set_commit_message('mmdata', ?, extra_info => ?)",
        [f"{lineage.command} -> {dataset}@{version}", json.dumps({"dataset": dataset, "version": version})],
    )
    return version


def set_tag(con: duckdb.DuckDBPyConnection, ref: VersionRef, tag: str) -> None:
    """Inside an open transaction: point ``tag`` at ``ref`` (moving it if it pointed elsewhere)."""
    if not TAG_RE.match(tag) or tag.isdigit():
        raise InputError(f"bad tag {tag!r}: start with a letter; letters, digits, '_', '-', '.'")
    con.execute("DELETE FROM lake._tags WHERE dataset = ? AND tag = ?", [ref.dataset, tag])
    con.execute(
        "INSERT INTO lake._tags VALUES (?, ?, ?, ?)",
        [ref.dataset, tag, ref.version, datetime.now(UTC).replace(tzinfo=None)],
    )
