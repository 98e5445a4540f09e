"""A store: a DuckLake lake (catalog + Parquet data files) plus a content-addressed media folder.

Layout of a local store::

    <root>/catalog.sqlite   DuckLake catalog (SQLite: several processes may read and write)
    <root>/data/            Parquet data files
    <root>/media/ab/<sha256>.<ext>
    <root>/runs/<run-id>/   run journals of long jobs (staged rows, resumable state)
    <root>/write.lock       the single-writer lock

A team store (``mmdata store init``; see ``address``) has the same parts elsewhere: the catalog
in PostgreSQL, ``data/`` and ``media/`` under an object-store URL or a shared folder. Its root
folder holds the descriptor, this machine's run journals and a cache of the media it read.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from mmdata.errors import MmdataError, StoreBusyError, StoreUnavailable
from mmdata.store.address import Address, hide_password, locate, resolve_root
from mmdata.store.bucket import configure_duckdb, is_url
from mmdata.store.extensions import load_extension
from mmdata.store.lock import catalog_locks, write_lock
from mmdata.store.object_media import open_media
from mmdata.store.sql import sql_string

__all__ = ["Rollback", "Store", "fetch_dicts", "resolve_root"]

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
    "CREATE TABLE IF NOT EXISTS lake._shards (run VARCHAR, shard INTEGER, shards INTEGER, finished_at TIMESTAMP, result VARCHAR)",
    """CREATE TABLE IF NOT EXISTS lake._flags (dataset VARCHAR, key VARCHAR, record_id VARCHAR, flag VARCHAR,
        note VARCHAR, who VARCHAR, created_at TIMESTAMP, cleared_at TIMESTAMP)""",
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
    """A data file the catalog names is gone or unreadable: the store was damaged outside mmdata;
    or, on object storage, the bucket did not answer (which no backup should be restored over)."""
    text = " ".join(str(exc).split())[:300]
    if store.team and not any(sign in text for sign in ("No files found", "404", "Not Found", "does not exist")):
        return StoreUnavailable(f"cannot read the store's data at {store.data_path}: {text} (mmdata store info checks each part)")
    return MmdataError(
        f"the store at {store.root} is damaged: {text} (a file under its data folder was deleted or cut; restore it from a backup)"
    )


class Rollback(Exception):
    """Raise inside ``Store.transaction`` to undo it quietly (e.g. when nothing changed)."""


class Store:
    """Open (or create on first write) the store at ``root``; ``reader()`` and ``transaction()`` give connections."""

    def __init__(self, root: str | os.PathLike | None = None):
        self.address: Address = locate(root)
        self.root = self.address.root
        self.team = self.address.team
        self.catalog = self.address.catalog
        self.data_path = self.address.data_path
        self.media = open_media(self.address.media, self.root / "cache" / "media")
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
        return True  # a team store's descriptor exists (else it would be local), and init made its catalog

    def where(self) -> str:
        """The catalog's address without a password (for messages)."""
        return hide_password(self.catalog)

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
        try:
            load_extension(con, "postgres_scanner" if self.team else "sqlite_scanner")
            load_extension(con, "ducklake")
            if is_url(self.data_path):
                configure_duckdb(con)
            if self.team:
                # Commits into different datasets race for the next snapshot id; DuckLake retries
                # those itself, and with a fleet committing at once it needs more than 10 tries.
                con.execute("SET ducklake_max_retry_count = 100")
        except BaseException:
            con.close()
            raise
        # No data inlining: our writes are batches, and inlined rows make every scan also query the catalog.
        # A local store must open wherever its folder is moved to: the catalog remembers the absolute
        # data path it was made with, and DuckLake refuses another one unless told to override it.
        options = (
            f"DATA_PATH {sql_string(self.data_path)}"
            + ("" if self.team else ", OVERRIDE_DATA_PATH true")
            + (", READ_ONLY" if read_only else ", DATA_INLINING_ROW_LIMIT 0")
        )
        try:
            con.execute(f"ATTACH {sql_string('ducklake:' + self.catalog)} AS lake ({options})")
            if sandbox:
                _sandbox(con, self.data_path)
        except duckdb.Error as exc:
            con.close()
            message = hide_password(" ".join(str(exc).split()))
            if "locked" in message:
                raise StoreBusyError(f"store is busy: the catalog {self.where()} is locked; retry") from None
            unreachable = StoreUnavailable if self.team else MmdataError
            raise unreachable(f"cannot open the store catalog {self.where()}: {message}") from None
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

    def lock(self, names: list[str], wait: float | None = None):
        """The write lock: the local store's one lock file, or a team catalog's locks on ``names``."""
        if self.team:
            return catalog_locks(self.catalog.removeprefix("postgres:"), names, wait)
        return write_lock(self.root / "write.lock", wait)

    @contextmanager
    def transaction(self, wait: float | None = None, locks: list[str] = ()) -> Iterator[duckdb.DuckDBPyConnection]:
        """Hold the write lock and one DuckLake transaction: all of it commits, or none of it.

        ``locks``: what the transaction changes (dataset names, or ``_media``...). A local store
        admits one writer at a time whatever they are; a team store serialises only writers that
        name the same thing, and every transaction there must name what it changes.
        """
        if self.team and not locks:
            raise ValueError("a transaction on a team store must name what it locks")
        with self.lock(list(locks), wait):
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
                if isinstance(exc, duckdb.Error) and "permission denied" in str(exc).lower():
                    raise MmdataError(
                        f"the catalog {self.where()} refused this write (permission denied): this database role may "
                        "only read; imports, tags, copies and jobs need the writer role (docs/scale.md)"
                    ) from None
                raise
            finally:
                con.close()
