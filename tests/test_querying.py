import csv
import json

import pyarrow.parquet as pq
import pytest

from mmdata.errors import NotFoundError, QueryError
from mmdata.history import tag
from mmdata.importing import import_
from mmdata.querying import query
from tests.conftest import chat, write_jsonl


@pytest.fixture
def two_versions(store, media, audio_instruction_file):
    import_(audio_instruction_file, "talk", store)
    more = write_jsonl(media / "more.jsonl", [{"context": "c3", "filename": "aud/y.wav", "chat": chat(("Q3?", "A3."))}])
    import_(more, "talk", store)
    tag("talk@1", "stable", store)
    return store


def test_datasets_by_name_and_version(two_versions):
    count = lambda sql: query(sql, two_versions).table.to_pylist()[0]["n"]
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


@pytest.mark.parametrize("sql", ["DELETE FROM talk", "CREATE TABLE x AS SELECT 1", "INSERT INTO talk SELECT * FROM talk",
                                 "ATTACH 'x.db'", "COPY talk TO 'x.csv'", "SELECT 1; SELECT 2"])
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
