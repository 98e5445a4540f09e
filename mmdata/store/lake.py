"""A store: a DuckLake lake (catalog + Parquet data files) plus a content-addressed media folder.

Layout of a local store::

    <root>/catalog.sqlite   DuckLake catalog (SQLite: several processes may read and write)
    <root>/data/            Parquet data files
    <root>/media/ab/<sha256>.<ext>
    <root>/runs/<run-id>/   run journals of long jobs (staged rows, resumable state)
    <root>/write.lock       the single-writer lock

For a team, the catalog may be a PostgreSQL DSN (``MMDATA_CATALOG=postgres:dbname=lake host=...``)
and the data path an object-store URL (``MMDATA_DATA_PATH=s3://bucket/lake/``); media and run
journals stay under the root, which should then be a shared folder.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from mmdata.errors import MmdataError, StoreBusyError
from mmdata.store.extensions import load_extension
from mmdata.store.lock import write_lock
from mmdata.store.media import MediaFolder
from mmdata.store.sql import sql_string

DEFAULT_ROOT = "mmdata-store"

# Bookkeeping tables that live in the lake beside the datasets (names start with "_").
_META_DDL = [
    """CREATE TABLE IF NOT EXISTS lake._versions (
        dataset VARCHAR, version INTEGER, record_kind VARCHAR, created_at TIMESTAMP,
        command VARCHAR, arguments VARCHAR, parents VARCHAR[], inputs VARCHAR, counts VARCHAR,
        tool_version VARCHAR, message VARCHAR)""",
    "CREATE TABLE IF NOT EXISTS lake._tags (dataset VARCHAR, tag VARCHAR, version INTEGER, created_at TIMESTAMP)",
    """CREATE TABLE IF NOT EXISTS lake._rejects (
        dataset VARCHAR, version INTEGER, run_id VARCHAR, file VARCHAR, line BIGINT,
        field_path VARCHAR, rule VARCHAR, message VARCHAR, record VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS lake._media (
        id VARCHAR, ext VARCHAR, kind VARCHAR, bytes BIGINT, duration_s DOUBLE,
        sample_rate INTEGER, channels INTEGER, width INTEGER, height INTEGER)""",
]


# (catalog, data path, read_only) -> (DuckDB instance, the catalog file it opened); see Store.connect.
_INSTANCES: OrderedDict[tuple[str, str, bool], tuple[duckdb.DuckDBPyConnection, tuple | None]] = OrderedDict()
_MAX_INSTANCES = 8


def _forget(key: tuple) -> None:
    cached = _INSTANCES.pop(key, None)
    if cached:
        cached[0].close()


def fetch_dicts(con: duckdb.DuckDBPyConnection, sql: str, params=None) -> list[dict]:
    """The rows of ``sql`` as dicts keyed by column name."""
    result = con.execute(sql, params or [])
    columns = [d[0] for d in result.description]
    return [dict(zip(columns, values)) for values in result.fetchall()]


def _sandbox(con: duckdb.DuckDBPyConnection, data_path: str) -> None:
    """Lock ``con``'s instance down to reading: the lake's data files stay readable (DuckLake scans
    them through the instance's file system, and the catalog it attached stays open), but COPY TO,
    read_csv of other files, ATTACH, INSTALL/LOAD, extension autoloading, Python variables as
    tables and every later SET are refused by DuckDB itself. The data folder is still writable
    through functions that write files, which is why ``querying`` also refuses those by name."""
    folder = data_path if data_path.endswith("/") else data_path + "/"
    if "://" in data_path:
        con.execute("LOAD httpfs")  # object storage: autoloading it at the first scan is switched off below
    for setting in (
        f"allowed_directories = [{sql_string(folder)}]",
        "autoload_known_extensions = false",
        "autoinstall_known_extensions = false",
        "python_enable_replacements = false",
        "enable_external_access = false",
        "lock_configuration = true",
    ):
        con.execute(f"SET {setting}")


def damaged(store: Store, exc: Exception) -> MmdataError:
    """A data file the catalog names is gone or unreadable: the store was damaged outside mmdata."""
    return MmdataError(
        f"the store at {store.root} is damaged: {' '.join(str(exc).split())[:300]} "
        "(a file under its data folder was deleted or cut; restore it from a backup)"
    )


class Rollback(Exception):
    """Raise inside ``Store.transaction`` to undo it quietly (e.g. when nothing changed)."""


def resolve_root(root: str | os.PathLike | None) -> Path:
    """``--store`` beats ``$MMDATA_HOME`` beats ``./mmdata-store``."""
    return Path(root or os.environ.get("MMDATA_HOME") or DEFAULT_ROOT).expanduser()


class Store:
    """Open (or create on first write) the store at ``root``; ``reader()`` and ``transaction()`` give connections."""

    def __init__(self, root: str | os.PathLike | None = None, catalog: str | None = None, data_path: str | None = None):
        self.root = resolve_root(root)
        catalog = catalog or os.environ.get("MMDATA_CATALOG")
        data_path = data_path or os.environ.get("MMDATA_DATA_PATH")
        # A local store (catalog and data both in the folder) must open wherever the folder is moved
        # to: the catalog remembers the absolute data path it was made with, and DuckLake refuses
        # another one unless told to override it. Every data file path it records is relative.
        self.local = catalog is None and data_path is None
        self.catalog = catalog or f"sqlite:{self.root / 'catalog.sqlite'}"
        self.data_path = data_path or os.path.abspath(self.root / "data")
        self.media = MediaFolder(self.root / "media")
        self.runs = self.root / "runs"

    @classmethod
    def of(cls, store: Store | str | os.PathLike | None) -> Store:
        """``store`` itself, or the Store at that path (``--store`` / ``$MMDATA_HOME`` / default when None)."""
        return store if isinstance(store, Store) else cls(store)

    def __repr__(self) -> str:
        return f"Store({str(self.root)!r})"

    @property
    def exists(self) -> bool:
        if self.catalog.startswith("sqlite:"):
            return Path(self.catalog.removeprefix("sqlite:")).exists()
        return True

    def connect(self, read_only: bool = True, sandbox: bool = False) -> duckdb.DuckDBPyConnection:
        """A DuckDB connection with the lake attached as ``lake``.

        Connections are cursors on one cached DuckDB instance per store for reading and one for
        writing: loading the two extensions into a fresh instance costs ~0.2 s, the attach itself a
        few ms, and an attached lake still sees every later commit, from any process. A catalog file
        replaced since (a store deleted and made again at the same path) gets a fresh instance.

        ``sandbox`` (for SQL someone typed, implies read-only) is a third instance that can read the
        lake's data files and nothing else: no other files, no extensions, no settings changes.
        """
        read_only = read_only or sandbox
        if read_only and not self.exists:
            raise MmdataError(f"no store at {self.root}: import something first (mmdata --store {self.root} import ...)")
        if not read_only:
            self.root.mkdir(parents=True, exist_ok=True)
        key = (self.catalog, self.data_path, "sandbox" if sandbox else read_only)
        cached = _INSTANCES.get(key)
        if cached and cached[1] != self._catalog_file():
            _forget(key)
            cached = None
        if not cached:
            instance = self._open(read_only, sandbox)
            cached = _INSTANCES[key] = (instance, self._catalog_file())
            while len(_INSTANCES) > _MAX_INSTANCES:
                _forget(next(iter(_INSTANCES)))
        _INSTANCES.move_to_end(key)
        return cached[0].cursor()

    def _catalog_file(self) -> tuple[int, int] | None:
        """Which file the SQLite catalog is (device, inode); None for other catalogs or none yet."""
        if not self.catalog.startswith("sqlite:"):
            return None
        try:
            info = os.stat(self.catalog.removeprefix("sqlite:"))
        except OSError:
            return None
        return info.st_dev, info.st_ino

    def _open(self, read_only: bool, sandbox: bool = False) -> duckdb.DuckDBPyConnection:
        con = duckdb.connect()
        con.execute("SET enable_progress_bar = false")  # it prints to stdout on long queries; we report progress ourselves
        if not read_only:
            # Writers stream big staged files through DuckDB: cap its memory and let it spill, so an
            # import's footprint does not grow with the input. Set once: each SET memory_limit
            # hands freed memory back to the system, 0.07 s after a large mix.
            con.execute(f"SET memory_limit = '{os.environ.get('MMDATA_WRITE_MEMORY', '1GB')}'")
            con.execute(f"SET temp_directory = {sql_string(self.runs / '.spill')}")
            con.execute("SET preserve_insertion_order = false")
        if self.catalog.startswith("sqlite:"):
            load_extension(con, "sqlite_scanner")
        load_extension(con, "ducklake")
        # No data inlining: our writes are batches, and inlined rows make every scan also query the catalog.
        options = (
            f"DATA_PATH {sql_string(self.data_path)}"
            + (", OVERRIDE_DATA_PATH true" if self.local else "")
            + (", READ_ONLY" if read_only else ", DATA_INLINING_ROW_LIMIT 0")
        )
        try:
            con.execute(f"ATTACH {sql_string('ducklake:' + self.catalog)} AS lake ({options})")
            if sandbox:
                _sandbox(con, self.data_path)
        except duckdb.Error as exc:
            con.close()
            if "locked" in str(exc):
                raise StoreBusyError(f"store is busy: the catalog {self.catalog} is locked; retry") from exc
            raise MmdataError(f"cannot open the store catalog {self.catalog}: {exc}") from exc
        return con

    @contextmanager
    def reader(self) -> Iterator[duckdb.DuckDBPyConnection]:
        con = self.connect(read_only=True)
        try:
            yield con
        except duckdb.IOException as exc:
            raise damaged(self, exc) from exc
        finally:
            con.close()

    @contextmanager
    def transaction(self, wait: float | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
        """Hold the write lock and one DuckLake transaction: all of it commits, or none of it."""
        with write_lock(self.root / "write.lock", wait):
            con = self.connect(read_only=False)
            try:
                con.execute("BEGIN")
                for ddl in _META_DDL:
                    con.execute(ddl)
                yield con
                con.execute("COMMIT")
            except Rollback:
                con.execute("ROLLBACK")
            except BaseException as exc:
                try:
                    con.execute("ROLLBACK")
                except duckdb.Error:  # a failed COMMIT has already ended it; the first error is the one to raise
                    pass
                if isinstance(exc, duckdb.FatalException):  # the instance is unusable from now on
                    _forget((self.catalog, self.data_path, False))
                if isinstance(exc, duckdb.IOException):
                    raise damaged(self, exc) from exc
                raise
            finally:
                con.close()
