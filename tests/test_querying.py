import csv
import json

import pyarrow.parquet as pq
import pytest

from mmdata.errors import InputError, NotFoundError, QueryError
from mmdata.history import tag
from mmdata.importing import import_
from mmdata.querying import query
from mmdata.store.lake import Store
from tests.conftest import chat, make_wav, write_jsonl

# Each test that uses the store fixture runs on a local and on a team store (PostgreSQL + S3).
pytestmark = pytest.mark.both_stores


@pytest.fixture
def two_versions(store, media, audio_instruction_file):
    import_(audio_instruction_file, "talk", store)
    more = write_jsonl(media / "more.jsonl", [{"context": "c3", "filename": "aud/y.wav", "chat": chat(("Q3?", "A3."))}])
    import_(more, "talk", store)
    tag("talk@1", "stable", store)
    return store


def test_datasets_by_name_and_version(two_versions):
    def count(sql):
        return query(sql, two_versions).table.to_pylist()[0]["n"]

    assert count("SELECT count(*) AS n FROM talk") == 3
    assert count('SELECT count(*) AS n FROM "talk@1"') == 2
    assert count('SELECT count(*) AS n FROM "talk@2"') == 3
    assert count('SELECT count(*) AS n FROM "talk@stable"') == 2
    assert count("SELECT count(*) AS n FROM _versions") == 2


def test_nested_turns_unnest_and_media_filter(two_versions):
    roles = query("SELECT t.role, count(*) AS n FROM (SELECT unnest(chat) AS t FROM talk) GROUP BY 1 ORDER BY 1", two_versions)
    assert roles.table.to_pylist() == [{"role": "assistant", "n": 4}, {"role": "user", "n": 4}]
    media_id = query("SELECT audios[1] AS m FROM talk ORDER BY context LIMIT 1", two_versions).table.to_pylist()[0]["m"]
    hits = query(f"SELECT context FROM talk WHERE list_contains(audios, '{media_id}')", two_versions)
    assert hits.rows >= 1


@pytest.mark.parametrize(
    "sql",
    [
        "DELETE FROM talk",
        "CREATE TABLE x AS SELECT 1",
        "INSERT INTO talk SELECT * FROM talk",
        "ATTACH 'x.db'",
        "COPY talk TO 'x.csv'",
        "SELECT 1; SELECT 2",
    ],
)
def test_writes_are_refused(two_versions, sql):
    with pytest.raises(QueryError):
        query(sql, two_versions)


def test_bad_sql_carries_duckdb_message(two_versions):
    with pytest.raises(QueryError, match="syntax error"):
        query("SELEC 1", two_versions)
    with pytest.raises(QueryError, match="nope does not exist"):
        query("SELECT * FROM nope", two_versions)
    with pytest.raises(NotFoundError, match="talk has @1, @2"):
        query('SELECT * FROM "talk@9"', two_versions)


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".jsonl"])
def test_results_stream_to_files(two_versions, tmp_path, suffix):
    out = tmp_path / f"result{suffix}"
    result = query("SELECT id, kind, chat FROM talk", two_versions, out=out)
    assert result.rows == 3 and result.table is None and out.exists()
    if suffix == ".parquet":
        assert pq.read_table(out).num_rows == 3
    elif suffix == ".csv":
        assert len(list(csv.DictReader(out.open()))) == 3
    else:
        assert [json.loads(line)["kind"] for line in out.read_text().splitlines()] == ["audio-instruction"] * 3


@pytest.fixture(scope="module", params=["local", "team"])
def shared(request, tmp_path_factory):
    """One store with two versions for the many tests that only read it (and check it is unchanged):
    a local one, and a team one (PostgreSQL catalog, data on S3)."""
    root = tmp_path_factory.mktemp("shared")
    make_wav(root / "input" / "x.wav")
    first = write_jsonl(
        root / "input" / "a.jsonl",
        [
            {"context": "c1", "filename": "x.wav", "chat": chat(("Q1?", "A1."))},
            {"context": "c2", "filename": "x.wav", "chat": chat(("Q2?", "A2."))},
        ],
    )
    if request.param == "team":
        from mmdata.stores import init_store

        postgres, s3 = request.getfixturevalue("postgres"), request.getfixturevalue("s3")
        store = init_store(root / "store", catalog=f"postgres:{postgres.database()}", data=f"s3://{s3.bucket()}/lake/")
    else:
        store = Store(root / "store")
    import_(first, "talk", store)
    import_(
        write_jsonl(root / "input" / "b.jsonl", [{"context": "c3", "filename": "x.wav", "chat": chat(("Q3?", "A3."))}]),
        "talk",
        store,
    )
    tag("talk@1", "stable", store)
    return store


def _files(root):
    """Every file under ``root`` with its size and modification time."""
    return {p: (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*") if p.is_file()}


CATALOG = "{catalog}"
# Each of these would write, change a setting or reach outside the store if it ran.
WRITES = [
    "DELETE FROM talk",
    "UPDATE talk SET context = 'x'",
    "INSERT INTO talk SELECT * FROM talk",
    "CREATE TABLE x AS SELECT 1",
    "CREATE TEMP MACRO m() AS 1",
    "DROP TABLE talk",
    "ALTER TABLE talk ADD COLUMN y INT",
    "ATTACH 'x.db'",
    "DETACH lake",
    "COPY talk TO 'x.csv'",
    f"COPY (SELECT 1) TO '{CATALOG}'",
    "COPY talk FROM 'x.csv'",
    "EXPORT DATABASE 'exported'",
    "IMPORT DATABASE 'exported'",
    "INSTALL httpfs",
    "LOAD httpfs",
    "SET enable_external_access = true",
    "RESET lock_configuration",
    "SET VARIABLE v = 1",
    "USE memory",
    "PRAGMA enable_profiling",
    "PRAGMA profiling_output = 'profile.json'",
    "CHECKPOINT",
    "VACUUM",
    "ANALYZE",
    "BEGIN",
    "PREPARE p AS SELECT 1",
    "CALL ducklake_expire_snapshots('lake', older_than => now())",
    "CALL ducklake_cleanup_old_files('lake', cleanup_all => true)",
    "CALL ducklake_merge_adjacent_files('lake')",
    "CALL ducklake_set_option('lake', 'parquet_compression', 'zstd')",
    "CALL ducklake_flush_inlined_data('lake')",
    "CALL ducklake_add_data_files('lake', 'talk', 'x.parquet')",
    # EXPLAIN ANALYZE runs the statement it explains, in every spelling
    f"EXPLAIN ANALYZE COPY (SELECT 1) TO '{CATALOG}'",
    "EXPLAIN (ANALYZE) COPY talk TO 'x.csv'",
    "EXPLAIN (FORMAT json, ANALYZE) INSTALL httpfs",
    "EXPLAIN ANALYZE INSTALL httpfs",
    "EXPLAIN ANALYZE DELETE FROM talk",
    f"EXPLAIN /* no */ ANALYZE -- comments\n COPY (SELECT 1) TO '{CATALOG}'",
    "EXPLAIN COPY talk TO 'x.csv'",
    "explain(analyse)copy talk to 'x.csv'",
    # more than one statement, however it is dressed
    f"SELECT 1; COPY (SELECT 1) TO '{CATALOG}'",
    "SELECT 1; -- just a comment\nDROP TABLE talk",
    "SELECT 1; SELECT 2",
    # functions that write files, change settings or run SQL from a string, inside a SELECT
    "SELECT * FROM ducklake_expire_snapshots('lake', older_than => now())",
    "SELECT * FROM ducklake_cleanup_old_files('lake', cleanup_all => true)",
    "SELECT * FROM ducklake_delete_orphaned_files('lake', cleanup_all => true)",
    "SELECT * FROM ducklake_merge_adjacent_files('lake')",
    "SELECT * FROM ducklake_rewrite_data_files('lake')",
    "SELECT * FROM ducklake_add_data_files('lake', 'talk', 'x.parquet')",
    "SELECT * FROM ducklake_set_option('lake', 'parquet_compression', 'zstd')",
    "SELECT * FROM ducklake_flush_inlined_data('lake')",
    "SELECT * FROM ducklake_set_commit_message('lake', 'a', 'b')",
    "SELECT * FROM checkpoint('lake')",
    "SELECT * FROM system.main.force_checkpoint('lake')",
    "WITH c AS (SELECT * FROM checkpoint('lake')) SELECT * FROM c",
    "SELECT (SELECT count(*) FROM enable_logging(storage := 'file', storage_path := 'logs')) AS n",
    "SELECT * FROM talk, LATERAL enable_profiling(format := 'json', save_location := 'p.json')",
    "SELECT * FROM query('COPY talk TO ''x.csv''')",
    "SELECT * FROM query_table('talk')",
    "SELECT * FROM sqlite_attach('{catalog}')",
    "SELECT write_log('x', level := 'error')",
    "EXPLAIN ANALYZE SELECT * FROM checkpoint('lake')",
]


@pytest.mark.parametrize("sql", WRITES)
def test_nothing_that_writes_gets_through(shared, tmp_path, monkeypatch, sql, request):
    monkeypatch.chdir(tmp_path)  # relative file names in the SQL would land here
    catalog = shared.root / ("store.yaml" if shared.team else "catalog.sqlite")
    before, catalog_bytes = {**_files(tmp_path), **_files(shared.root)}, _shared_state(shared, request)
    with pytest.raises(QueryError, match="read-only|exactly one"):
        query(sql.replace("{catalog}", str(catalog)), shared)
    assert _shared_state(shared, request) == catalog_bytes
    assert {**_files(tmp_path), **_files(shared.root)} == before
    assert query("SELECT count(*) AS n FROM talk", shared).table.to_pylist() == [{"n": 3}]


def _shared_state(store, request):
    """The catalog's bytes, and on a team store every key and ETag in its bucket as well."""
    if not store.team:
        return (store.root / "catalog.sqlite").read_bytes()
    from mmdata.store.bucket import client, split_url

    bucket, _ = split_url(store.address.location)
    objects = client().list_objects_v2(Bucket=bucket).get("Contents", [])
    dump = request.getfixturevalue("postgres").dump(store.catalog.removeprefix("postgres:"))
    return dump, sorted((o["Key"], o["ETag"]) for o in objects)


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM read_text('/etc/passwd')",
        "SELECT * FROM read_csv('{outside}')",
        "SELECT * FROM '{outside}'",
        "SELECT * FROM glob('/etc/*')",
        "SELECT * FROM read_blob('{outside}')",
    ],
)
def test_files_outside_the_store_cannot_be_read(shared, tmp_path, sql):
    outside = tmp_path / "secret.csv"
    outside.write_text("a,b\n1,2\n")
    with pytest.raises(QueryError, match="reads the store's datasets only"):
        query(sql.replace("{outside}", str(outside)), shared)


@pytest.mark.parametrize(
    "sql",
    [
        "EXPLAIN SELECT * FROM talk",
        "EXPLAIN ANALYZE SELECT count(*) FROM talk",
        "EXPLAIN (FORMAT json) SELECT 1",
        "EXPLAIN (SELECT 1)",
        "DESCRIBE talk",
        'SUMMARIZE "talk@1"',
        "SHOW TABLES",
        "PRAGMA version",
        "FROM talk",
        '-- a comment first\nWITH t AS (SELECT * FROM "talk@stable") SELECT count(*) FROM t /* and one after */;',
        "SELECT * FROM ducklake_snapshots('lake')",
        "SELECT * FROM ducklake_table_info('lake')",
        "SELECT count(*) FROM read_parquet('{data}/main/talk/*.parquet')",
        "SELECT * FROM range(3)",
    ],
)
def test_reading_forms_still_work(shared, sql):
    result = query(sql.replace("{data}", shared.data_path.rstrip("/")), shared)
    assert result.rows >= 1


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".jsonl"])
def test_out_paths_are_never_sql(shared, tmp_path, suffix):
    folder = tmp_path / "odd 'dir'; DROP TABLE talk; --"
    out = folder / f'hasil ujian\'s; "é" 結果{suffix}'
    result = query('SELECT id, chat, audios FROM "talk@1"', shared, out=out)
    assert result.rows == 2 and result.columns == ["id", "chat", "audios"]
    assert [p.name for p in folder.iterdir()] == [out.name]  # no partial file left beside it
    if suffix == ".parquet":
        assert pq.read_table(out).column_names == ["id", "chat", "audios"]
    elif suffix == ".csv":
        rows = list(csv.DictReader(out.open()))
        assert len(rows) == 2 and rows[0]["chat"].startswith("[{")
    else:
        rows = [json.loads(line) for line in out.read_text().splitlines()]
        assert len(rows) == 2 and rows[0]["chat"][0]["role"] == "user"


def test_out_may_not_point_into_the_store_and_a_failed_query_leaves_no_file(two_versions, tmp_path):
    with pytest.raises(InputError, match="inside the store"):
        query("SELECT 1", two_versions, out=two_versions.root / "data" / "main" / "talk" / "x.parquet")
    with pytest.raises(InputError, match="use a .parquet"):
        query("SELECT 1", two_versions, out=tmp_path / "x.txt")
    with pytest.raises(QueryError, match="boom"):
        query("SELECT error('boom') FROM talk", two_versions, out=tmp_path / "x.parquet")
    assert not list(tmp_path.glob("*x.parquet*"))


def test_statements_that_do_not_parse_or_check_are_refused(shared):
    with pytest.raises(QueryError, match="exactly one"):
        query("", shared)
    with pytest.raises(QueryError, match="syntax error"):
        query("EXPLAIN ANALYZE", shared)
    with pytest.raises(QueryError, match="read-only here: IMPORT"):  # DuckDB's parser would read its files
        query("SELECT 1; IMPORT DATABASE 'exported'", shared)
