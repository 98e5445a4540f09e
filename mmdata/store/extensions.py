"""Load DuckLake and the extensions it needs without the network.

A plain ``LOAD ducklake`` downloads the extension on first use, which fails offline. The PyPI
wheels ``duckdb-extension-<name>`` carry the signed binaries for one duckdb release; we load
those files directly, signature checks left on.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import duckdb

from mmdata.errors import MmdataError
from mmdata.store.sql import sql_string

_WHEELS = {
    "ducklake": "duckdb_extension_ducklake",
    "sqlite_scanner": "duckdb_extension_sqlite_scanner",
    # A team store (the ``team`` extra): a PostgreSQL catalog, data on object storage.
    "postgres_scanner": "duckdb_extension_postgres_scanner",
    "httpfs": "duckdb_extension_httpfs",
}


def _wheel_binary(name: str) -> Path | None:
    try:
        module = importlib.import_module(_WHEELS[name])
    except ImportError:
        return None
    folder = Path(module.__file__).parent / "extensions" / f"v{duckdb.__version__}"
    binary = folder / f"{name}.duckdb_extension"
    return binary if binary.exists() else None


def load_extension(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Load ``name`` from its wheel when present, else by name (which may download it)."""
    binary = _wheel_binary(name)
    try:
        # a site-packages path may hold a quote; LOAD takes no parameters
        con.execute(f"LOAD {sql_string(binary)}" if binary else f"LOAD {name}")
    except duckdb.Error as exc:
        raise MmdataError(
            f"cannot load the DuckDB extension {name!r} ({exc}); "
            f"install duckdb=={duckdb.__version__} with {_WHEELS[name].replace('_', '-')}=={duckdb.__version__}"
        ) from exc
