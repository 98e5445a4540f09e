"""What only a team store (PostgreSQL catalog + S3 data) has to prove: many writers at once, readers
that never wait, and no credential anywhere it writes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mmdata.errors import StoreBusyError
from mmdata.importing import import_
from mmdata.querying import query
from mmdata.store.lake import Store
from mmdata.store.versions import list_versions
from tests.conftest import chat, write_jsonl
from tests.servers import PG_PASSWORD, S3_KEY_ID, S3_SECRET

WRITER = """
import sys
from mmdata.importing import import_
result = import_(sys.argv[1], sys.argv[2], sys.argv[3], wait=120)
print(result.version)
"""


def _file(folder, name: str, n: int, tag: str):
    return write_jsonl(
        folder / f"{name}.jsonl",
        [{"kind": "conversation", "id": f"{tag}-{i}", "chat": chat((f"{tag} question {i}?", f"answer {i}."))} for i in range(n)],
    )


def _writers(team_store, files_and_datasets):
    """Start one process per (file, dataset) at once; wait for all; their outputs."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), dataset, str(team_store.root)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for path, dataset in files_and_datasets
    ]
    outs = [p.communicate(timeout=300) for p in procs]
    for proc, (_out, err) in zip(procs, outs):
        assert proc.returncode == 0, err
    return [int(out.strip()) for out, _ in outs]


def test_eight_writers_into_one_dataset(team_store, tmp_path):
    files = [(_file(tmp_path, f"w{i}", 25, f"w{i}"), "shared") for i in range(8)]
    versions = _writers(team_store, files)
    assert sorted(versions) == list(range(1, 9))  # unique and gap-free
    with team_store.reader() as con:
        assert [v["version"] for v in list_versions(con, "shared")] == list(range(1, 9))
        ids = [r[0] for r in con.execute('SELECT key FROM lake."shared"').fetchall()]
    assert len(ids) == 200 and len(set(ids)) == 200
    # each version holds what the writers before it committed, nothing lost between them
    counts = [query(f'SELECT count(*) AS n FROM "shared@{v}"', team_store).table.to_pylist()[0]["n"] for v in range(1, 9)]
    assert counts == [25 * v for v in range(1, 9)]


def test_eight_writers_into_eight_datasets(team_store, tmp_path):
    files = [(_file(tmp_path, f"d{i}", 25, f"d{i}"), f"set{i}") for i in range(8)]
    assert _writers(team_store, files) == [1] * 8
    with team_store.reader() as con:
        for i in range(8):
            assert [v["version"] for v in list_versions(con, f"set{i}")] == [1]
            assert con.execute(f'SELECT count(DISTINCT key), count(*) FROM lake."set{i}"').fetchone() == (25, 25)


HOLDER = """
import sys, time
from mmdata.store.lake import Store
with Store(sys.argv[1]).lock([sys.argv[2]], wait=5):
    print("locked", flush=True)
    time.sleep(60)
"""


def test_a_writer_waits_only_for_its_own_dataset(team_store, tmp_path):
    import_(_file(tmp_path, "a0", 3, "a0"), "a", team_store)
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(team_store.root), "a"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        # another dataset commits at once; readers of the locked one read at once
        started = time.monotonic()
        assert import_(_file(tmp_path, "b0", 3, "b0"), "b", team_store, wait=0).version == 1
        assert query("SELECT count(*) AS n FROM a", team_store).table.to_pylist() == [{"n": 3}]
        assert time.monotonic() - started < 10
        with pytest.raises(StoreBusyError, match=r"mmdata pid \d+ .* is writing to a"):
            import_(_file(tmp_path, "a1", 3, "a1"), "a", team_store, wait=0.3)
        holder.kill()  # kill -9 drops the connection, and PostgreSQL the lock with it
        holder.wait()
        assert import_(_file(tmp_path, "a1", 3, "a1"), "a", team_store, wait=30).version == 2
    finally:
        holder.kill()
        holder.wait()


def test_a_reader_in_a_long_transaction_does_not_block_a_writer(team_store, tmp_path):
    import_(_file(tmp_path, "r0", 3, "r0"), "r", team_store)
    con = team_store.connect(read_only=True)
    try:
        con.execute("BEGIN")
        assert con.execute('SELECT count(*) FROM lake."r"').fetchone() == (3,)
        assert import_(_file(tmp_path, "r1", 4, "r1"), "r", team_store, wait=0).version == 2
        assert con.execute('SELECT count(*) FROM lake."r"').fetchone() == (3,)  # its snapshot holds
        con.execute("COMMIT")
    finally:
        con.close()
    assert query("SELECT count(*) AS n FROM r", team_store).table.to_pylist() == [{"n": 7}]


def test_no_credential_is_written_anywhere(team_store, tmp_path, postgres, s3, monkeypatch, media):
    from mmdata.cli import app

    monkeypatch.setenv("PGPASSWORD", PG_PASSWORD)
    monkeypatch.setenv("MMDATA_HOME", str(team_store.root))
    source = write_jsonl(
        media / "talk.jsonl",
        [{"context": "c", "filename": "aud/x.wav", "chat": chat(("What is said?", "Hello."))}],
    )
    runner = CliRunner()
    outputs = [
        runner.invoke(app, ["import", str(source), "--into", "talk", "--format", "audio-instruction"]),
        runner.invoke(app, ["log", "talk", "--json"]),
        runner.invoke(app, ["query", "SELECT * FROM _versions"]),
        # an error that reaches the catalog and the bucket
        runner.invoke(app, ["--store", str(tmp_path / "missing"), "query", "SELECT 1"]),
    ]
    assert outputs[0].exit_code == 0, outputs[0].output
    written = [o.output for o in outputs]
    written.append(postgres.dump(team_store.catalog.removeprefix("postgres:")))
    for path in team_store.root.rglob("*"):
        if path.is_file():
            written.append(path.read_bytes().decode("utf-8", "replace"))
    written.append(json.dumps(s3.keys(team_store.address.location.split("/")[2])))
    for text in written:
        for secret in (PG_PASSWORD, S3_SECRET, S3_KEY_ID):
            assert secret not in text


def test_a_catalog_password_is_refused_and_never_echoed(tmp_path, postgres, s3):
    from mmdata.errors import InputError
    from mmdata.stores import init_store

    with pytest.raises(InputError) as caught:
        init_store(
            tmp_path / "t", catalog=f"postgres:{postgres.database()} password={PG_PASSWORD}", data=f"s3://{s3.bucket()}/x/"
        )
    assert PG_PASSWORD not in str(caught.value) and not (tmp_path / "t" / "store.yaml").exists()
    with pytest.raises(InputError) as caught:
        init_store(tmp_path / "t", catalog=f"postgres:postgresql://me:{PG_PASSWORD}@db/lake", data=f"s3://{s3.bucket()}/x/")
    assert PG_PASSWORD not in str(caught.value)


def test_an_unreachable_catalog_is_one_clear_error(tmp_path, postgres, s3, monkeypatch):
    from mmdata.errors import MmdataError
    from mmdata.store.address import write_descriptor

    monkeypatch.setenv("PGPASSWORD", PG_PASSWORD)
    bad = f"postgres:dbname=nosuchdb host={postgres.folder} port={postgres.port} user=postgres"
    write_descriptor(tmp_path / "t", bad, f"s3://{s3.bucket()}/x/")
    with pytest.raises(MmdataError) as caught:
        query("SELECT 1", Store(tmp_path / "t"))
    assert "nosuchdb" in str(caught.value) and PG_PASSWORD not in str(caught.value)


def test_media_of_a_team_store_are_in_the_bucket(team_store, media, s3):
    source = write_jsonl(media / "talk.jsonl", [{"context": "c", "filename": "aud/x.wav", "chat": chat(("Q?", "A."))}])
    import_(source, "talk", team_store, format="audio-instruction")
    bucket = team_store.address.location.split("/")[2]
    keys = s3.keys(bucket)
    assert any(k.startswith("lake/media/") and k.endswith(".wav") for k in keys)
    assert any(k.startswith("lake/data/") and k.endswith(".parquet") for k in keys)
    assert not (team_store.root / "media").exists() and not (team_store.root / "data").exists()


def test_an_unreachable_bucket_stops_the_import_instead_of_rejecting_every_record(team_store, media, s3):
    from mmdata.errors import StoreUnavailable
    from mmdata.store.bucket import client

    bucket = team_store.address.location.split("/")[2]
    s3_client = client()
    for key in s3.keys(bucket):
        s3_client.delete_object(Bucket=bucket, Key=key)
    s3_client.delete_bucket(Bucket=bucket)
    source = write_jsonl(media / "talk.jsonl", [{"context": "c", "filename": "aud/x.wav", "chat": chat(("Q?", "A."))}])
    with pytest.raises(StoreUnavailable, match=f"s3://{bucket}/.*does not exist"):
        import_(source, "talk", team_store, format="audio-instruction")
    with team_store.reader() as con:
        assert list_versions(con, "talk") == []


def test_an_unreachable_bucket_is_one_error_line_for_readers(team_store, media, tmp_path):
    from tests.servers import free_port

    source = write_jsonl(media / "talk.jsonl", [{"context": "c", "filename": "aud/x.wav", "chat": chat(("Q?", "A."))}])
    import_(source, "talk", team_store, format="audio-instruction")
    env = {**os.environ, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}", "AWS_MAX_ATTEMPTS": "1"}
    for args in (
        ["export", "talk", "--format", "jsonl", "--out", str(tmp_path / "out")],
        ["query", "SELECT max(context) FROM talk"],
    ):
        proc = subprocess.run(
            [Path(sys.executable).parent / "mmdata", "--store", str(team_store.root), *args],
            env=env,
            capture_output=True,
            text=True,
        )
        assert proc.returncode == 1, proc.stderr  # a user-facing error, not a crash (70)
        assert "Traceback" not in proc.stderr and "damaged" not in proc.stderr
        assert "cannot read the store's data at s3://" in proc.stderr or "Could not connect to server" in proc.stderr


def test_a_read_only_role_gets_one_clear_line_when_it_writes(team_store, tmp_path, postgres):
    import psycopg

    from mmdata.errors import MmdataError
    from mmdata.store.address import write_descriptor

    import_(_file(tmp_path, "w0", 2, "w0"), "talk", team_store)
    conninfo = team_store.catalog.removeprefix("postgres:")
    with psycopg.connect(conninfo, autocommit=True) as con:
        con.execute("CREATE ROLE analyst LOGIN")
        con.execute("GRANT USAGE ON SCHEMA public TO analyst")
        con.execute("GRANT SELECT ON ALL TABLES IN SCHEMA public TO analyst")
    write_descriptor(
        tmp_path / "analyst", team_store.catalog.replace("user=postgres", "user=analyst"), team_store.address.location
    )
    analyst = Store(tmp_path / "analyst")
    assert query("SELECT count(*) AS n FROM talk", analyst).table.to_pylist() == [{"n": 2}]
    with pytest.raises(MmdataError, match="refused this write .* may only read"):
        import_(_file(tmp_path, "w1", 2, "w1"), "talk", analyst)
    with team_store.reader() as con:
        assert [v["version"] for v in list_versions(con, "talk")] == [1]


@pytest.mark.parametrize("data", ["gs://bucket/x/", "r2://bucket/x/", "s3://user:secret@bucket/x/", "relative/folder"])
def test_data_locations_that_would_not_work_are_refused(tmp_path, data):
    from mmdata.errors import InputError
    from mmdata.stores import init_store

    with pytest.raises(InputError) as caught:
        init_store(tmp_path / "t", catalog="postgres:dbname=lake host=db", data=data)
    assert "secret" not in str(caught.value) and not (tmp_path / "t" / "store.yaml").exists()
