"""Where a store lives: one folder a user or a whole team points ``--store`` / ``$MMDATA_HOME`` at.

A local store keeps everything in that folder. A team store's folder holds only ``store.yaml``,
which says where the shared parts are (a PostgreSQL catalog, an object-store or shared-disk data
location), plus this machine's run journals and media cache. The descriptor is meant to be
committed to a repository or copied to teammates, so it never holds a credential: PostgreSQL
reads ``PGUSER``/``PGPASSWORD``/``~/.pgpass``/``PGSERVICE`` like every libpq program, object
storage the standard AWS chain (environment, ``~/.aws``, instance roles).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from mmdata.errors import InputError
from mmdata.store.bucket import is_url, split_url

DEFAULT_ROOT = "mmdata-store"
DESCRIPTOR = "store.yaml"
_FORMAT = 1
_PASSWORD_RE = re.compile(r"(password\s*=\s*)(\S+)|(postgres(?:ql)?://[^:/@\s]+:)([^@\s]+)(@)", re.I)


def resolve_root(root: str | os.PathLike | None) -> Path:
    """``--store`` beats ``$MMDATA_HOME`` beats ``./mmdata-store``; a path to ``store.yaml`` means its folder."""
    path = Path(root or os.environ.get("MMDATA_HOME") or DEFAULT_ROOT).expanduser()
    return path.parent if path.name == DESCRIPTOR else path


def hide_password(text: str) -> str:
    """``text`` with any PostgreSQL password in it replaced by ``***`` (for messages and logs)."""
    return _PASSWORD_RE.sub(lambda m: (m[1] + "***") if m[1] else (m[3] + "***" + m[5]), text)


@dataclass(frozen=True)
class Address:
    """Where each part of a store is."""

    root: Path  # this machine's folder: the whole local store, or a team store's descriptor + journals + cache
    catalog: str  # "sqlite:<file>" or "postgres:<libpq conninfo>"
    location: str  # the folder or object-store URL under which data/ and media/ live
    team: bool

    @property
    def data_path(self) -> str:
        return _join(self.location, "data")

    @property
    def media(self) -> str:
        return _join(self.location, "media")

    @property
    def descriptor(self) -> Path:
        return self.root / DESCRIPTOR


def _join(location: str, name: str) -> str:
    if is_url(location):
        return location.rstrip("/") + f"/{name}/"
    return os.path.abspath(os.path.join(location, name))


def locate(root: str | os.PathLike | None) -> Address:
    """The address of the store at ``root`` (see ``resolve_root``): team when it holds ``store.yaml``."""
    root = resolve_root(root)
    descriptor = root / DESCRIPTOR
    if not descriptor.is_file():
        return Address(root, f"sqlite:{root / 'catalog.sqlite'}", str(root), team=False)
    from mmdata.yamlfile import load_yaml

    spec = load_yaml(descriptor, what="store descriptor").data
    if not isinstance(spec, dict) or not spec.get("catalog") or not spec.get("data"):
        raise InputError(f"{descriptor}: a store descriptor needs 'catalog' and 'data' (mmdata store init writes one)")
    catalog, location = check_catalog(str(spec["catalog"])), check_location(str(spec["data"]))
    return Address(root, catalog, location, team=True)


def check_catalog(catalog: str) -> str:
    """A team catalog address: ``postgres:<libpq conninfo or URI>``, with no password in it."""
    if not catalog.startswith("postgres:"):
        raise InputError(
            f"catalog {hide_password(catalog)!r}: a team store's catalog is postgres:<conninfo>, e.g. postgres:dbname=lake host=db.example.com"
        )
    if hide_password(catalog) != catalog:
        raise InputError(
            "the catalog address holds a password; leave it out and set PGPASSWORD or ~/.pgpass instead "
            "(the store descriptor is shared and must hold no secrets)"
        )
    return catalog


def check_location(location: str) -> str:
    """Where data and media go: an object-store URL or an absolute shared folder."""
    if is_url(location):
        split_url(location)  # refuses other schemes and credentials in the URL
        return location if location.endswith("/") else location + "/"
    if not os.path.isabs(location):
        raise InputError(f"data location {location!r}: give an s3://bucket/prefix/ URL or an absolute shared folder")
    return location


def write_descriptor(root: Path, catalog: str, location: str) -> Path:
    """Write ``root/store.yaml`` (atomically); the caller has checked both addresses."""
    import yaml

    root.mkdir(parents=True, exist_ok=True)
    path = root / DESCRIPTOR
    text = (
        "# An mmdata team store. Point --store or MMDATA_HOME at this folder (or a copy of it).\n"
        "# No credentials here: PostgreSQL uses PGUSER / PGPASSWORD / ~/.pgpass, object storage the AWS chain.\n"
        + yaml.safe_dump({"format": _FORMAT, "catalog": catalog, "data": location}, sort_keys=False)
    )
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
    return path
