"""Setting up and checking a store: ``mmdata store init`` and ``mmdata store info``."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from mmdata.errors import InputError, MmdataError
from mmdata.store.address import DESCRIPTOR, check_catalog, check_location, hide_password, locate, resolve_root, write_descriptor
from mmdata.store.bucket import is_url, split_url
from mmdata.store.lake import Store


def init_store(root: str | os.PathLike | None, *, catalog: str, data: str, wait: float | None = None) -> Store:
    """Create a team store: its catalog in PostgreSQL (``catalog``: ``postgres:<conninfo>``, no password),
    its data and media under ``data`` (``s3://bucket/prefix/`` or an absolute shared folder), and its
    descriptor ``store.yaml`` in the folder ``root`` that teammates point ``--store`` at.

    Running it again with the same addresses (a teammate's first run, a copy of the folder) only
    checks them; other addresses in a folder that already names a store are refused.
    """
    root = resolve_root(root)
    catalog, data = check_catalog(catalog), check_location(data)
    if (root / "catalog.sqlite").exists():
        raise InputError(f"{root} is a local store; make the team store in another folder and copy datasets over (mmdata copy)")
    existing = locate(root)
    if existing.team and (existing.catalog, existing.location) != (catalog, data):
        raise InputError(
            f"{root / DESCRIPTOR} already names another store ({hide_password(existing.catalog)}, {existing.location}); "
            "use another folder"
        )
    if is_url(data):
        _check_bucket(data)
    fresh = not existing.team
    write_descriptor(root, catalog, data)
    store = Store(root)
    try:
        # Attaching read-write makes DuckLake's own tables in the database; the first transaction, ours.
        with store.transaction(wait, locks=["_store"]):
            pass
    except BaseException:
        if fresh:
            (root / DESCRIPTOR).unlink(missing_ok=True)  # no descriptor pointing at a store that was never made
        raise
    return store


def _check_bucket(url: str) -> str:
    """Raise MmdataError unless the bucket of ``url`` answers; a line saying what was found."""
    from mmdata.store.bucket import client

    bucket, prefix = split_url(url)
    try:
        listing = client().list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=1)
    except Exception as exc:  # botocore's errors (no such bucket, denied, no network) all end here
        raise MmdataError(f"cannot reach {url}: {' '.join(str(exc).split())[:200]}") from None
    return "reachable" + (", holds objects" if listing.get("KeyCount") else ", empty")


@dataclass
class Check:
    part: str  # catalog, data, media
    where: str
    ok: bool
    detail: str


@dataclass
class StoreInfo:
    root: str
    kind: str  # local or team
    descriptor: str | None
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)


def store_info(store: Store | str | None = None) -> StoreInfo:
    """Where each part of ``store`` is, and whether this machine can reach it (nothing is changed)."""
    store = Store.of(store)
    address = store.address
    info = StoreInfo(str(store.root), "team" if store.team else "local", str(address.descriptor) if store.team else None)
    info.checks.append(_check("catalog", store.where(), lambda: _catalog_detail(store)))
    info.checks.append(_check("data", store.data_path, lambda: _location_detail(store.data_path)))
    info.checks.append(_check("media", address.media, lambda: _location_detail(address.media)))
    return info


def _check(part: str, where: str, probe) -> Check:
    try:
        return Check(part, where, True, probe())
    except MmdataError as exc:
        return Check(part, where, False, hide_password(str(exc)))


def _catalog_detail(store: Store) -> str:
    from mmdata.store.versions import list_versions

    if not store.exists:
        return "no store yet (the first import makes it)"
    with store.reader() as con:
        versions = list_versions(con)
        (snapshots,) = con.execute("SELECT count(*) FROM lake.snapshots()").fetchone()
    datasets = len({v["dataset"] for v in versions})
    return f"{datasets} datasets, {len(versions)} versions, {snapshots} snapshots"


def _location_detail(location: str) -> str:
    if is_url(location):
        return _check_bucket(location)
    path = Path(location)
    if not path.exists():
        return "not made yet (the first write makes it)"
    if not os.access(path, os.W_OK):
        raise MmdataError(f"{path} is not writable by this user")
    return "writable folder"
