import os
import signal
import subprocess
import sys
import time

import pytest

from mmdata.errors import NotFoundError, StoreBusyError
from mmdata.importing import import_
from mmdata.store.lake import Store
from mmdata.store.lock import write_lock
from mmdata.store.versions import list_versions, redact, resolve
from tests.conftest import chat, hold_write_lock, write_jsonl

# Each test that uses the store fixture runs on a local and on a team store (PostgreSQL + S3).
pytestmark = pytest.mark.both_stores


def test_store_location_precedence(tmp_path, monkeypatch):
    monkeypatch.delenv("MMDATA_HOME", raising=False)
    assert Store().root.name == "mmdata-store"
    monkeypatch.setenv("MMDATA_HOME", str(tmp_path / "env"))
    assert Store().root == tmp_path / "env"
    assert Store(tmp_path / "flag").root == tmp_path / "flag"


def test_every_write_is_a_version_with_lineage(store, audio_instruction_file):
    first = import_(audio_instruction_file, "talk", store)
    more = write_jsonl(
        audio_instruction_file.parent / "more.jsonl", [{"context": "c3", "filename": "aud/x.wav", "chat": chat(("New?", "Yes."))}]
    )
    second = import_(more, "talk", store)
    assert (first.version, second.version) == (1, 2)
    with store.reader() as con:
        versions = list_versions(con, "talk")
        assert [v["version"] for v in versions] == [1, 2]
        lineage = versions[1]
        assert lineage["command"] == "import"
        assert lineage["parents"] == ["talk@1"]
        assert lineage["inputs"][0]["sha256"] and lineage["inputs"][0]["path"] == "more.jsonl"
        assert lineage["counts"]["added"] == 1 and lineage["tool_version"]
        # Versions are DuckLake snapshots: the old one still reads as it was.
        v1, v2 = resolve(con, "talk@1"), resolve(con, "talk")
        assert con.execute(f"SELECT count(*) FROM {v1.relation}").fetchone() == (2,)
        assert con.execute(f"SELECT count(*) FROM {v2.relation}").fetchone() == (3,)


def test_a_store_made_again_at_the_same_path_is_not_served_by_the_old_instances(store, audio_instruction_file):
    import shutil

    import_(audio_instruction_file, "talk", store)
    import_(audio_instruction_file, "other", store)
    with store.reader() as con:  # the process now holds a cached reader and writer for this path
        assert len(list_versions(con)) == 2
    shutil.rmtree(store.root)
    again = Store(store.root)
    assert import_(audio_instruction_file, "talk", again).version == 1
    with again.reader() as con:
        assert [(v["dataset"], v["version"]) for v in list_versions(con)] == [("talk", 1)]


def test_unknown_dataset_and_version(store, audio_instruction_file):
    import_(audio_instruction_file, "talk", store)
    with store.reader() as con:
        with pytest.raises(NotFoundError, match="unknown dataset 'nope'"):
            resolve(con, "nope")
        with pytest.raises(NotFoundError, match="talk has @1"):
            resolve(con, "talk@7")
        with pytest.raises(NotFoundError):
            resolve(con, "talk@stable")


def test_secrets_never_reach_lineage():
    cleaned = redact({"api_key": "sk-123", "base_url": "https://user:pw@host/v1", "nested": [{"token": "t"}]})
    assert cleaned == {"api_key": "***", "base_url": "https://***@host/v1", "nested": [{"token": "***"}]}


def test_second_writer_gets_store_is_busy(store):
    with hold_write_lock(store.root) as holder:
        start = time.monotonic()
        with pytest.raises(StoreBusyError, match=f"store is busy: pid {holder.pid}"):
            with write_lock(store.root / "write.lock", wait=0.5):
                pass
        assert time.monotonic() - start >= 0.5
    # The kernel released the dead holder's lock: writing works again at once.
    with write_lock(store.root / "write.lock", wait=0):
        pass


def test_second_writer_waits_for_the_first(store, audio_instruction_file):
    with hold_write_lock(store.root, seconds=1.5):
        result = import_(audio_instruction_file, "talk", store, wait=20)
    assert result.version == 1


KILLER = """
import os, signal, sys
from mmdata.importing import import_
phase = sys.argv[3]
def progress(task, done, total=None):
    # "committing" 1/1 is reported inside the open transaction, after every row went in.
    if task == phase and (phase != "committing" or done == 1):
        os.kill(os.getpid(), signal.SIGKILL)
import_(sys.argv[1], "talk", sys.argv[2], progress=progress)
"""


@pytest.mark.parametrize("phase", ["reading", "committing"])
def test_killed_writer_leaves_no_partial_version(store, audio_instruction_file, phase):
    import_(audio_instruction_file, "talk", store)
    bigger = write_jsonl(
        audio_instruction_file.parent / "big.jsonl",
        [{"context": f"c{i}", "filename": "aud/x.wav", "chat": chat((f"Q{i}?", "A."))} for i in range(1500)],
    )
    proc = subprocess.run([sys.executable, "-c", KILLER, str(bigger), str(store.root), phase])
    assert proc.returncode == -signal.SIGKILL
    with store.reader() as con:
        assert [v["version"] for v in list_versions(con, "talk")] == [1]
        assert con.execute('SELECT count(*) FROM lake."talk"').fetchone() == (2,)
    # ... and the next write goes through as version 2.
    assert import_(bigger, "talk", store).version == 2


def _three_versions(store, audio_instruction_file):
    import_(audio_instruction_file, "talk", store)
    for n in (3, 4):
        more = write_jsonl(
            audio_instruction_file.parent / f"more{n}.jsonl",
            [{"context": f"c{n}", "filename": "aud/x.wav", "chat": chat((f"Q{n}?", "A."))}],
        )
        import_(more, "talk", store)


@pytest.mark.parametrize("how", ["copy", "rename"])
def test_a_store_folder_can_be_moved(store, audio_instruction_file, tmp_path, how):
    import shutil

    from mmdata.exporters import export
    from mmdata.history import diff
    from mmdata.inspect import log
    from mmdata.querying import query

    _three_versions(store, audio_instruction_file)
    moved = tmp_path / "elsewhere" / "store copy"
    moved.parent.mkdir()
    if how == "copy":  # a backup restored somewhere else
        shutil.copytree(store.root, moved)
        shutil.rmtree(store.root)
    else:  # a new disk
        os.rename(store.root, moved)
    again = Store(moved)
    counts = [query(f'SELECT count(*) AS n FROM "talk@{v}"', again).table.to_pylist()[0]["n"] for v in (1, 2, 3)]
    assert counts == [2, 3, 4]
    assert [v["version"] for v in log("talk", again)] == [1, 2, 3]
    assert diff("talk@1", "talk@3", again)["counts"]["added"] == 2
    assert export("talk@2", "jsonl", tmp_path / "out", again)["records"] == 3
    newer = write_jsonl(
        audio_instruction_file.parent / "newer.jsonl", [{"context": "c5", "filename": "aud/y.wav", "chat": chat(("Q5?", "A."))}]
    )
    assert import_(newer, "talk", again).version == 4
    files = query("SELECT data_file FROM ducklake_list_files('lake', 'talk')", again).table.column("data_file").to_pylist()
    # A local store's data moves with its folder; a team store's folder is only its address.
    assert files and all(f.startswith(again.data_path if again.team else str(moved / "data")) for f in files)
    assert query('SELECT count(*) AS n FROM "talk@1"', again).table.to_pylist() == [{"n": 2}]
    assert not store.root.exists()  # nothing was written back at the old place


def test_a_relative_store_opens_from_another_folder(audio_instruction_file, tmp_path, monkeypatch):
    from mmdata.querying import query

    (tmp_path / "a" / "b").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "a")
    import_(audio_instruction_file, "talk", "rel-store")
    monkeypatch.chdir(tmp_path / "a" / "b")
    assert query("SELECT count(*) AS n FROM talk", "../rel-store").table.to_pylist() == [{"n": 2}]
    assert import_(audio_instruction_file, "other", "../rel-store").version == 1


def test_a_store_path_with_a_quote_opens(tmp_path):
    odd = Store(tmp_path / "it's a store; DROP TABLE x")
    with odd.transaction() as con:
        con.execute("CREATE TABLE lake.t AS SELECT 1 AS a")
    for sandbox in (False, True):
        con = odd.connect(sandbox=sandbox)
        assert con.execute("SELECT a FROM lake.t").fetchone() == (1,)
        con.close()


@pytest.mark.parametrize(
    "sql",
    [
        "COPY (SELECT 1) TO '{catalog}'",
        "COPY (SELECT 1) TO '{outside}'",
        "SELECT * FROM read_text('/etc/passwd')",
        "INSTALL httpfs",
        "LOAD httpfs",
        "ATTACH '{outside}.db' AS x",
        "SET enable_external_access = true",
        "SET lock_configuration = false",
        "CALL ducklake_expire_snapshots('lake', older_than => now())",
        "CALL ducklake_set_option('lake', 'parquet_compression', 'zstd')",
        "DELETE FROM lake.talk",
        "INSERT INTO __ducklake_metadata_lake.ducklake_metadata VALUES ('a', 'b', NULL, NULL)",
    ],
)
def test_the_sandbox_refuses_on_its_own(store, audio_instruction_file, tmp_path, sql, request):
    """Below querying's own checks, the instance it runs on refuses writes and outside files by itself."""
    import duckdb

    import_(audio_instruction_file, "talk", store)
    catalog = store.root / ("store.yaml" if store.team else "catalog.sqlite")
    before = catalog_state(store, request)
    if store.team and sql == "LOAD httpfs":
        sql = "LOAD sqlite_scanner"  # a team store reads its data through httpfs: loading it again is no change
    con = store.connect(sandbox=True)
    try:
        with pytest.raises(duckdb.Error):
            con.execute(sql.replace("{catalog}", str(catalog)).replace("{outside}", str(tmp_path / "out.csv"))).fetchall()
        assert con.execute('SELECT count(*) FROM lake."talk"').fetchone() == (2,)
    finally:
        con.close()
    assert catalog_state(store, request) == before and not list(tmp_path.glob("out.csv*"))


def catalog_state(store, request) -> bytes:
    """Every byte of the catalog: the SQLite file, or a dump of the team catalog's database (and its descriptor)."""
    if store.team:
        dump = request.getfixturevalue("postgres").dump(store.catalog.removeprefix("postgres:"))
        return dump.encode() + (store.root / "store.yaml").read_bytes()
    return (store.root / "catalog.sqlite").read_bytes()
