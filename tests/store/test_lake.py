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


def test_store_location_precedence(tmp_path, monkeypatch):
    monkeypatch.delenv("MMDATA_HOME", raising=False)
    assert Store().root.name == "mmdata-store"
    monkeypatch.setenv("MMDATA_HOME", str(tmp_path / "env"))
    assert Store().root == tmp_path / "env"
    assert Store(tmp_path / "flag").root == tmp_path / "flag"


def test_every_write_is_a_version_with_lineage(store, audio_instruction_file):
    first = import_(audio_instruction_file, "talk", store)
    more = write_jsonl(audio_instruction_file.parent / "more.jsonl",
                       [{"context": "c3", "filename": "aud/x.wav", "chat": chat(("New?", "Yes."))}])
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
    if task == phase:
        os.kill(os.getpid(), signal.SIGKILL)
import_(sys.argv[1], "talk", sys.argv[2], progress=progress)
"""


@pytest.mark.parametrize("phase", ["reading", "committing"])
def test_killed_writer_leaves_no_partial_version(store, audio_instruction_file, phase):
    import_(audio_instruction_file, "talk", store)
    bigger = write_jsonl(audio_instruction_file.parent / "big.jsonl",
                         [{"context": f"c{i}", "filename": "aud/x.wav", "chat": chat((f"Q{i}?", "A."))} for i in range(1500)])
    # "committing" fires inside the open transaction, after the rows went in: the kill lands mid-commit.
    proc = subprocess.run([sys.executable, "-c", KILLER, str(bigger), str(store.root), phase])
    assert proc.returncode == -signal.SIGKILL
    with store.reader() as con:
        assert [v["version"] for v in list_versions(con, "talk")] == [1]
        assert con.execute('SELECT count(*) FROM lake."talk"').fetchone() == (2,)
    # ... and the next write goes through as version 2.
    assert import_(bigger, "talk", store).version == 2
