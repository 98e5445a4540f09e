"""The SQL page: a read-only query as a table, writes refused, CSV and Parquet downloads."""

from __future__ import annotations

import io


def test_a_query_as_a_table(client):
    page = client.get("/sql", params={"q": "SELECT id, len(chat) AS turns FROM chats ORDER BY id"})
    assert page.status_code == 200 and "31 rows" in page.text and "<th>turns</th>" in page.text
    assert 'href="/sql.csv?q=SELECT' in page.text and 'href="/sql.parquet?q=SELECT' in page.text
    assert client.get("/sql").status_code == 200  # the empty form, with an example


def test_rows_shown_are_capped(client):
    page = client.get("/sql", params={"q": "SELECT * FROM range(1000)"})
    assert "1000 rows, the first 200 shown" in page.text and page.text.count("<tr>") == 201


def test_writes_are_refused(client):
    for sql in ("DELETE FROM chats", "CREATE TABLE x AS SELECT 1", "SELECT * FROM checkpoint()"):
        page = client.get("/sql", params={"q": sql})
        assert page.status_code == 400 and "read-only" in page.text and "<textarea" in page.text
    assert client.get("/sql.csv", params={"q": "DROP TABLE chats"}).status_code == 400
    assert client.get("/sql.parquet", params={"q": "SELECT nope FROM chats"}).status_code == 400
    assert client.get("/sql.xlsx", params={"q": "SELECT 1"}).status_code == 404


def test_record_text_in_results_is_escaped(client):
    page = client.get("/sql", params={"q": "SELECT '<script>alert(1)</script>' AS x"})
    assert "<script>alert" not in page.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text


def test_csv_and_parquet_downloads_parse(client):
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    sql = "SELECT id, chat FROM chats ORDER BY id"
    csv = client.get("/sql.csv", params={"q": sql})
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert "query.csv" in csv.headers["content-disposition"]
    table = pacsv.read_csv(io.BytesIO(csv.content))
    assert table.num_rows == 31 and table.column_names == ["id", "chat"]
    parquet = client.get("/sql.parquet", params={"q": sql})
    assert parquet.status_code == 200
    table = pq.read_table(io.BytesIO(parquet.content))
    assert table.num_rows == 31 and table.schema.field("chat").type.value_type.num_fields == 3
