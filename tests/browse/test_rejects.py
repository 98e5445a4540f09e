"""The rejects page: counts by rule and the rejected lines with their reasons, escaped."""

from __future__ import annotations

from tests.browse.stores import XSS


def test_counts_by_rule_and_lines(edited_http):
    page = edited_http.get("/d/notes/rejects")
    assert page.status_code == 200
    assert 'href="?rule=schema%3Aenum"' in page.text or 'href="?rule=schema:enum"' in page.text
    lines = page.text.split('<table class="rejects">')[1]
    assert "v2.jsonl" in lines and "chat/0/role" in lines and "&#39;wizard&#39; is not one of" in lines
    assert XSS not in page.text and "&lt;script&gt;" in lines  # the rejected line, shown as text
    assert edited_http.get("/d/notes/rejects", params={"rule": "format"}).text.count('<td class="message">') == 0


def test_a_version_without_rejects(edited_http):
    page = edited_http.get("/d/notes@1/rejects")
    assert page.status_code == 200 and "No lines were rejected" in page.text
    assert edited_http.get("/d/nope/rejects").status_code == 404
