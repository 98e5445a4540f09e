"""The diff page: counts, changed words highlighted side by side, record text escaped, defaults."""

from __future__ import annotations

from tests.browse.stores import XSS


def test_changed_words_are_marked(edited_http):
    page = edited_http.get("/diff", params={"a": "notes@1", "b": "notes@2"})
    assert page.status_code == 200
    assert "+1 added" in page.text and "−1 removed" in page.text and "~2 changed" in page.text and "2 unchanged" in page.text
    changed = page.text.split('<section class="changed">')[1].split("</section>")[0]
    assert "<del>answer</del>" in changed and "<ins>reply</ins>" in changed
    assert "Question 2?" in page.text.split('<section class="added">')[1]  # t2's replacement


def test_record_text_stays_escaped(edited_http):
    page = edited_http.get("/diff", params={"a": "notes@1", "b": "notes@2"})
    assert XSS not in page.text and "<script>alert" not in page.text and "<img src=x" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text


def test_defaults_are_the_version_before_and_the_newest(edited_http):
    page = edited_http.get("/diff", params={"b": "notes"})
    assert page.status_code == 200 and 'value="notes@1"' in page.text and 'value="notes@2"' in page.text
    assert "<del>answer</del>" in page.text
    assert "<del>answer</del>" in edited_http.get("/diff").text  # the first dataset, its newest against the one before
    first = edited_http.get("/diff", params={"b": "notes@1"})
    assert first.status_code == 200 and "first version of notes" in first.text


def test_a_small_limit_and_bad_refs(edited_http):
    page = edited_http.get("/diff", params={"a": "notes@1", "b": "notes@2", "limit": 1})
    assert page.text.count('<table class="turns">') == 1 and "first 1 shown" in page.text and "show more" in page.text
    missing = edited_http.get("/diff", params={"a": "notes@1", "b": "notes@7"})
    assert missing.status_code == 404 and "unknown version" in missing.text


def test_word_diff_pieces():
    from mmdata.browse.pages.diff import word_diff

    left, right = word_diff("the cat sat", "the dog sat down")
    assert left == [("", "the "), ("del", "cat"), ("", " sat")]
    assert right == [("", "the "), ("ins", "dog"), ("", " sat"), ("ins", " down")]
