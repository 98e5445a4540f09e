"""``mmdata browse`` in a real browser: Debian's Chromium driven by Playwright against the app
served by uvicorn on a free loopback port, over a small store built here once for the module."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from tests.browse.browser import chromium, missing, serving
from tests.browse.stores import pair_with_media
from tests.conftest import chat, write_jsonl

pytestmark = pytest.mark.skipif(missing() is not None, reason=missing() or "")

XSS = '<img src=x onerror="window.__xss=1"> and <script>window.__xss=1</script>'


def _rows(answer_3: str, folder) -> list[dict]:
    return [
        pair_with_media(folder),
        {"kind": "conversation", "id": "xss-1", "chat": chat(("Is this safe?", XSS))},
        *(
            {"kind": "conversation", "id": f"t{i:02d}", "chat": chat((f"Question {i}?", answer_3 if i == 3 else f"Answer {i}."))}
            for i in range(60)
        ),
    ]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The store (chats@1, chats@2 with one answer edited; notes@1), the app over it (flags
    allowed) and, beside it, the same app behind a token."""
    from mmdata.browse import create_app
    from mmdata.importing import import_
    from mmdata.querying import query
    from mmdata.store.lake import Store

    folder = tmp_path_factory.mktemp("browse-in")
    store = Store(folder.parent / f"{folder.name}-store")
    import_(write_jsonl(folder / "v1.jsonl", _rows("The sky is blue.", folder)), "chats", store, media_root=folder)
    import_(write_jsonl(folder / "v2.jsonl", _rows("The sky is grey.", folder)), "chats", store, media_root=folder, replace=True)
    notes = [{"kind": "conversation", "id": "n1", "chat": chat(("Hello?", "Hi."))}]
    import_(write_jsonl(folder / "notes.jsonl", notes), "notes", store, media_root=folder)

    def key(where: str) -> str:
        return query(f"SELECT key FROM chats WHERE {where}", store).table.column(0)[0].as_py()

    with serving(create_app(store, allow_flags=True)) as url, serving(create_app(store, token="s3cret")) as gated:
        yield SimpleNamespace(
            url=url,
            gated=gated,
            store=store,
            pair=key("len(images) = 2"),
            xss=key("chat[2].content LIKE '%onerror%'"),
        )


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser):
    """A fresh context per test (no cookies carried over), failing fast instead of waiting 30 s."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def _keys(page) -> list[str]:
    """The keys of the records the page shows."""
    return page.locator("article.record").evaluate_all("all => all.map(r => r.dataset.key)")


def _shown(page, selector: str) -> list[str]:
    return [text.strip() for text in page.locator(selector).all_inner_texts()]


def test_the_datasets_page_lists_the_datasets(site, page):
    assert page.goto(site.url + "/").status == 200
    names = _shown(page, "table.datasets td.name")
    assert "chats" in names and "notes" in names
    page.fill("form.search input[name=q]", "not")
    page.click("form.search button")
    page.wait_for_url("**/?q=not")
    assert _shown(page, "table.datasets td.name") == ["notes"]


def test_a_conversation_shows_both_images_and_a_clip_that_loads(site, page):
    media_statuses = []
    page.on("response", lambda response: "/media/" in response.url and media_statuses.append(response.status))
    assert page.goto(f"{site.url}/d/chats/r/{site.pair}").status == 200
    page.wait_for_function("[...document.querySelectorAll('article.record img')].every(i => i.complete)")
    widths = page.evaluate("[...document.querySelectorAll('article.record img')].map(i => i.naturalWidth)")
    assert len(widths) == 2 and all(w > 0 for w in widths), widths
    duration = page.evaluate(
        """() => new Promise((done, fail) => {
            const audio = document.querySelector('article.record audio');
            if (!audio) return fail(new Error('no audio element'));
            if (audio.readyState >= 1) return done(audio.duration);
            audio.addEventListener('loadedmetadata', () => done(audio.duration));
            audio.addEventListener('error', () => fail(new Error('audio failed to load')));
            audio.preload = 'metadata';
            audio.load();
        })"""
    )
    assert 0.9 < duration < 1.1
    # Seeking asks the server for a byte range (206): the player lands where it was sent.
    landed = page.evaluate(
        """() => new Promise((done) => {
            const audio = document.querySelector('article.record audio');
            audio.addEventListener('seeked', () => done(audio.currentTime), {once: true});
            audio.currentTime = 0.6;
        })"""
    )
    assert abs(landed - 0.6) < 0.05 and 206 in media_statuses, media_statuses


def test_paging_and_the_sql_filter_change_the_rows_shown(site, page):
    page.goto(f"{site.url}/d/chats")
    first = _keys(page)
    assert len(first) == 50
    page.click("nav.pager a.next")
    page.wait_for_url("**/d/chats?after=*")
    second = _keys(page)
    assert second and not set(first) & set(second) and len(first) + len(second) == 62
    page.click("nav.pager a.prev")
    page.wait_for_url("**/d/chats?before=*")
    assert _keys(page) == first
    page.fill("form.filter input[name=where]", "len(images) = 2")
    page.press("form.filter input[name=where]", "Enter")
    page.wait_for_url("**/d/chats?where=*")
    assert _keys(page) == [site.pair]
    assert "What links them?" in page.inner_text("article.record")


def test_a_diff_highlights_the_changed_word(site, page):
    assert page.goto(f"{site.url}/diff?a=chats@1&b=chats@2").status == 200
    added, removed = _shown(page, "section.changed ins"), _shown(page, "section.changed del")
    assert any("grey" in text for text in added) and any("blue" in text for text in removed)
    assert not any("sky" in text for text in added + removed)  # the words around it are not marked


def test_a_flag_set_in_the_page_can_be_queried(site, page):
    from mmdata.querying import query

    page.goto(f"{site.url}/d/chats/r/{site.pair}")
    page.evaluate("document.querySelectorAll('details.flag-add').forEach(d => d.open = true)")  # folded or not
    form = page.locator("form[action$='/flag']:has(select[name=flag])")
    form.locator("select[name=flag]").select_option("bad-translation")
    form.locator("input[name=note]").fill("Malay drops the audio")
    form.locator("input[name=who]").fill("reviewer-1")
    form.locator("button[type=submit]").click()
    page.wait_for_selector(".flag-list .flag-note")
    assert page.url.endswith(f"/d/chats/r/{site.pair}")
    assert "Malay drops the audio" in page.inner_text(".flag-list")
    rows = query("SELECT key, flag, note, who FROM _flags WHERE cleared_at IS NULL", site.store).table.to_pylist()
    assert {"key": site.pair, "flag": "bad-translation", "note": "Malay drops the audio", "who": "reviewer-1"} in rows


def test_a_record_with_markup_shows_it_as_text_and_runs_nothing(site, page):
    page.add_init_script("window.__xss = undefined")
    assert page.goto(f"{site.url}/d/chats/r/{site.xss}").status == 200
    page.wait_for_load_state("load")
    assert page.evaluate("window.__xss") is None
    text = page.inner_text("main")
    assert '<img src=x onerror="window.__xss=1">' in text and "<script>window.__xss=1</script>" in text
    page.goto(f"{site.url}/d/chats")
    page.wait_for_load_state("load")
    assert page.evaluate("window.__xss") is None


def test_media_are_served_by_id_only(site, page):
    for path in (
        "/media/..%2F..%2Fetc%2Fpasswd",
        "/media/%2e%2e/%2e%2e/etc/passwd",
        "/media/%2Fetc%2Fpasswd",
        "/thumb/..%2Fcatalog",
    ):
        response = page.request.get(site.url + path)
        assert response.status == 404, path
        assert "root:" not in response.text()


def test_with_a_token_a_request_without_it_is_refused(site, page):
    assert page.goto(site.gated + "/").status == 403
    assert page.request.get(f"{site.gated}/d/chats").status == 403
    assert page.goto(site.gated + "/?token=s3cret").status == 200
    assert "chats" in _shown(page, "table.datasets td.name")
    assert page.goto(site.gated + "/?q=cha").status == 200  # the cookie carries it from now on
    assert page.request.get(f"{site.gated}/static/app.css").status == 200
