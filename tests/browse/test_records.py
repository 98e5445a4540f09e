"""The records pages: a version's conversations as bubbles, keyset paging, the SQL filter behind
query's guard, the text search, one record's shareable page, and every record string as text."""

from __future__ import annotations

import re

import pytest

from mmdata.errors import QueryError
from mmdata.importing import import_
from mmdata.querying import query
from tests.conftest import make_png, make_wav, write_jsonl

XSS = "<script>alert(1)</script>"
IMG_XSS = "<img src=x onerror=alert(1)>"


def _keys(html: str) -> list[str]:
    return re.findall(r'<article class="record [^"]*" id="r-[^"]*" data-key="([^"]+)" data-id="([^"]+)"', html)


def _ids(html: str) -> list[str]:
    return [record_id for _, record_id in _keys(html)]


def _link(html: str, cls: str) -> str | None:
    found = re.search(rf'<a class="{cls}" href="([^"]+)"', html)
    return found.group(1).replace("&amp;", "&") if found else None


def test_a_conversation_shows_bubbles_media_and_placeholders(client):
    page = client.get("/d/chats")
    assert page.status_code == 200
    html = page.text
    assert len(_keys(html)) == 31
    assert html.count('<div class="turn user">') == 31 and html.count('<div class="turn assistant">') == 31
    assert 'class="en" lang="en"' in html and 'class="ms" lang="ms"' in html and "Apa kaitannya?" in html
    # two thumbnails linking to the full size, one player with its duration
    thumbs = re.findall(r'<a class="full" href="[^"]*/media/([0-9a-f]{64})"><img class="media" src="[^"]*/thumb/\1"', html)
    assert len(thumbs) == 2
    assert 'width="64" height="48"' in html  # the size from _media: the page does not jump
    assert re.search(r'<audio class="media" controls preload="metadata" src="[^"]*/media/[0-9a-f]{64}"></audio>', html)
    assert '<span class="duration">1.0 s</span>' in html
    # placeholders stand where the media were named, each a badge linking to its medium
    for label in ("image 1", "image 2", "audio 1"):
        assert f">{label}</a>" in html
    assert re.search(r'<a class="placeholder image" href="#(m-[0-9a-f]+-image-2)">image 2</a>', html)
    assert "static/records.css" in html
    assert html.count('<section class="flags"') == 31  # the flags partial, once per record


def test_pages_walk_every_record_once_by_id_and_back(client):
    first = client.get("/d/chats", params={"n": 10}).text
    assert len(_ids(first)) == 10 and _link(first, "prev") is None
    seen, html, pages = [], first, 0
    while True:
        seen += _ids(html)
        pages += 1
        following = _link(html, "next")
        if not following:
            break
        html = client.get(following).text
        assert _link(html, "prev")
    assert pages == 4 and len(seen) == 31 and seen == sorted(seen) and len(set(seen)) == 31
    second = client.get(_link(first, "next")).text
    back = client.get(_link(second, "prev")).text
    assert _ids(back) == _ids(first) and _link(back, "prev") is None and _link(back, "next")


def test_the_page_size_is_capped():
    from mmdata.browse.records import MAX_PAGE_SIZE, PAGE_SIZE, page_size

    assert page_size("1000000") == MAX_PAGE_SIZE and page_size("0") == 1 and page_size("x") == PAGE_SIZE
    assert page_size(None) == PAGE_SIZE and page_size("20") == 20


def test_the_sql_filter_narrows_the_rows_and_paging_keeps_it(client):
    html = client.get("/d/chats", params={"where": "len(images) > 0"}).text
    assert len(_keys(html)) == 1 and "Apa kaitannya?" in html
    assert 'value="len(images) &gt; 0"' in html  # the box keeps what was typed
    paged = client.get("/d/chats", params={"where": "len(images) = 0", "n": 20}).text
    assert len(_ids(paged)) == 20
    following = _link(paged, "next")
    assert "where=len" in following and "n=20" in following
    assert len(_ids(client.get(following).text)) == 10


def test_a_filter_may_name_a_version(client):
    html = client.get("/d/chats", params={"where": 'id IN (SELECT id FROM "chats@1" WHERE len(audios) > 0)'}).text
    assert len(_keys(html)) == 1


@pytest.mark.parametrize(
    "where, says",
    [
        ("1=1) UNION SELECT * FROM chats WHERE (1=1", "one condition"),
        ("1=1) --", "one condition"),
        ("1=1; DROP TABLE chats", "one condition"),
        ("id = 'x", "not closed"),
        ("1=1 /*", "not closed"),
        ("id IN (SELECT 1 FROM checkpoint())", "read-only"),
        ("no_such_column = 1", "filter:"),
        ("id IN (SELECT * FROM read_text('/etc/passwd'))", "filter:"),  # the sandbox reads the store only
        ('id IN (SELECT id FROM "chats@9")', "unknown version"),
    ],
)
def test_a_filter_that_is_not_one_read_only_condition_is_refused_on_the_page(client, browsed, where, says):
    page = client.get("/d/chats", params={"where": where})
    assert page.status_code == 400
    assert says in page.text and '<p class="error filter-error">' in page.text
    assert '<form method="get" class="filter"' in page.text  # the filter stays, to be corrected
    assert query("SELECT count(*) AS n FROM chats", browsed).table.to_pylist() == [{"n": 31}]


def test_the_guard_sees_the_whole_statement():
    from mmdata.browse.records import check_filter

    assert check_filter("  role = 'x)' /* ) */ ") == "role = 'x)' /* ) */"
    assert check_filter("(a) AND ((b))") == "(a) AND ((b))"
    for bad in ("a)) OR ((b", "a) OR (b", "x; SELECT 1", "'open", "/* open"):
        with pytest.raises(QueryError):
            check_filter(bad)


def test_the_text_search_looks_in_english_and_malay(client):
    assert len(_keys(client.get("/d/chats", params={"q": "question 7?"}).text)) == 1
    assert len(_keys(client.get("/d/chats", params={"q": "KAITANNYA"}).text)) == 1
    assert len(_keys(client.get("/d/chats", params={"q": "Question 2"}).text)) == 11  # 2, 20..29
    both = client.get("/d/chats", params={"q": "Question", "where": "len(images) = 0", "n": 5}).text
    assert len(_keys(both)) == 5 and "q=Question" in _link(both, "next")
    # the words are a parameter and a pattern of their own: quotes and % mean themselves
    for text in ("'; DROP TABLE chats; --", "100%", "_"):
        page = client.get("/d/chats", params={"q": text})
        assert page.status_code == 200 and len(_keys(page.text)) == 0 and '<p class="empty">' in page.text


def test_each_record_has_a_shareable_page_pinned_to_its_version(client):
    html = client.get("/d/chats", params={"where": "len(images) > 0"}).text
    link = re.search(r'<a class="permalink" href="([^"]+)"', html).group(1)
    assert re.search(r"/d/chats@1/r/[0-9a-f]+$", link)
    one = client.get(link)
    assert one.status_code == 200 and "Apa kaitannya?" in one.text and len(_keys(one.text)) == 1
    assert client.get("/d/chats@1/r/nosuchkey").status_code == 404


def test_unknown_datasets_and_versions_are_404_pages(client):
    assert client.get("/d/nosuch").status_code == 404
    assert client.get("/d/chats@9").status_code == 404
    assert client.get("/d/chats@9/r/abc").status_code == 404


@pytest.fixture
def hostile(browsed, tmp_path):
    """A dataset whose every text field tries to run a script."""
    rows = [
        {
            "kind": "conversation",
            "id": "xss-1",
            "context": "</pre><script>alert(3)</script>",
            "generation": {"note": "<script>alert(2)</script>"},
            "chat": [
                {"role": "user", "content": XSS, "content_ms": IMG_XSS},
                {"role": "assistant", "content": '"><svg onload=alert(5)>', "content_ms": "ok"},
            ],
        }
    ]
    result = import_(write_jsonl(tmp_path / "xss" / "x.jsonl", rows), "xss", browsed)
    assert result.version == 1, result
    return browsed


@pytest.mark.parametrize("where", ["list", "record"])
def test_a_hostile_record_shows_as_text(client, hostile, where):
    html = client.get("/d/xss").text
    if where == "record":
        html = client.get(re.search(r'<a class="permalink" href="([^"]+)"', html).group(1)).text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in html and "&lt;/pre&gt;&lt;script&gt;alert(3)" in html
    assert "&#34;&gt;&lt;svg onload=alert(5)&gt;" in html
    for raw in ("<script>alert", "<img src=x", "<svg"):
        assert raw not in html


def test_media_records_show_as_cards(client, browsed, tmp_path):
    pics, clips = tmp_path / "pics", tmp_path / "clips"
    make_png(pics / "cat.png", "green", (300, 150))
    write_jsonl(pics / "metadata.jsonl", [{"file": "cat.png", "caption": "a green cat", "caption_ms": "kucing hijau"}])
    make_wav(clips / "talk.wav", 2.0)
    write_jsonl(clips / "metadata.jsonl", [{"file": "talk.wav", "title": "a talk <i>"}])
    import_(pics, "pics", browsed)
    import_(clips, "clips", browsed)
    html = client.get("/d/pics").text
    assert '<img class="media"' in html and 'width="256" height="128"' in html and "300×150" in html
    assert '<dd class="ms">kucing hijau</dd>' in html and '<dd class="en">a green cat</dd>' in html
    assert len(_keys(client.get("/d/pics", params={"q": "hijau"}).text)) == 1
    html = client.get("/d/clips").text
    assert '<audio class="media" controls preload="metadata"' in html and "2.0 s" in html
    assert "a talk &lt;i&gt;" in html


def test_placeholders_number_each_medium_across_the_turns():
    from mmdata.browse.record_view import conversation

    row = {
        "key": "k",
        "images": ["a" * 64, "b" * 64, "c" * 64],
        "audios": [],
        "chat": [
            {"role": "user", "content": "<image> first", "content_ms": None},
            {"role": "assistant", "content": "ok", "content_ms": "ok"},
            {"role": "tool", "content": "<image><audio> then", "content_ms": "<image><audio> lalu"},
        ],
    }
    view = conversation(row, {"a" * 64: {"width": 1000, "height": 500}})
    first, _, third = view["turns"]
    assert [m["label"] for m in first["media"]] == ["image 1"] and first["media"][0]["thumb_width"] == 256
    assert [m["label"] for m in third["media"]] == ["image 2"]  # named in both languages, shown once
    assert third["cls"] == "other" and third["ms"][1] == {"placeholder": "audio", "n": 1, "item": None}
    assert [m["label"] for m in view["loose"]] == ["image 3"]  # no placeholder names it: shown atop the record


def test_the_flags_partial_gets_the_record_and_its_dataset():
    """``_flags.html`` (another page's partial) is included per record with ``record`` and
    ``dataset``; without it the record still renders."""
    from jinja2 import ChoiceLoader, DictLoader, Environment, FileSystemLoader

    from mmdata.browse.record_view import view
    from mmdata.browse.view import HERE
    from mmdata.store.versions import VersionRef

    row = {"id": "i1", "key": "k1", "kind": "conversation", "chat": [{"role": "user", "content": "hi", "content_ms": None}]}
    record = view(VersionRef("chats", 2, 5, "conversation"), row, {})
    files = FileSystemLoader(str(HERE / "templates"))
    for loader, expect in (
        (ChoiceLoader([DictLoader({"_flags.html": "FLAGS {{ record.key }} {{ record.ref }} {{ dataset }}"}), files]), True),
        (ChoiceLoader([DictLoader({"_flags.html": ""}), files]), False),
    ):
        env = Environment(loader=loader, autoescape=True)
        html = env.get_template("_conversation.html").render(record=record, url_for=lambda name, **kw: f"/{name}")
        assert ("FLAGS k1 chats@2 chats" in html) is expect and "no Malay" in html
