"""POST /flag: refused without --allow-flags or without this app's form key; with both, the flag is
stored (queryable as _flags), shown by the _flags.html partial, and can be cleared."""

from __future__ import annotations

import re

import pytest

from mmdata.querying import query
from mmdata.review import flag, flags


def pair_key(store) -> str:
    return query("SELECT key FROM chats WHERE len(images) = 2", store).table.column(0)[0].as_py()


def with_record_route(app):
    """The app plus ``/_test/{key}``: a page holding one record's ``_flags.html``, as the records
    pages include it (the partial is what this module tests, whichever page shows it)."""
    from starlette.responses import HTMLResponse

    from mmdata.browse.view import templates

    async def one_record(request):
        partial = templates().env.get_template("_flags.html")
        context = {
            "request": request,
            "store": request.app.state.store,
            "allow_flags": request.app.state.allow_flags,
            "record": {"key": request.path_params["key"], "id": "x"},
            "dataset": request.query_params.get("dataset", "chats"),
        }
        return HTMLResponse(f"<main>{partial.render(context)}</main>")

    app.add_route("/_test/{key}", one_record)
    return app


@pytest.fixture
def http(browsed):
    from starlette.testclient import TestClient

    from mmdata.browse import create_app

    with TestClient(with_record_route(create_app(browsed, allow_flags=True)), follow_redirects=False) as client:
        yield client


def form_key(http, key: str) -> str:
    return re.search(r'name="form_key" value="([^"]+)"', http.get(f"/_test/{key}").text).group(1)


def test_flags_are_refused_without_allow_flags(browsed):
    from starlette.testclient import TestClient

    from mmdata.browse import create_app

    with TestClient(with_record_route(create_app(browsed))) as client:
        key = pair_key(browsed)
        page = client.get(f"/_test/{key}")
        assert page.status_code == 200 and "<form" not in page.text  # nothing to click
        refused = client.post("/flag", data={"dataset": "chats", "key": key, "flag": "other", "form_key": "x"})
        assert refused.status_code == 403 and "--allow-flags" in refused.text
    assert flags(browsed) == []


def test_a_post_without_this_apps_form_key_is_refused(http, browsed):
    key = pair_key(browsed)
    fields = {"dataset": "chats", "key": key, "flag": "other"}
    assert http.post("/flag", data=fields).status_code == 403
    assert http.post("/flag", data={**fields, "form_key": "guessed"}).status_code == 403
    assert flags(browsed) == []


def test_a_flag_round_trips_into_the_page_and_query(http, browsed):
    key = pair_key(browsed)
    fields = {"form_key": form_key(http, key), "dataset": "chats", "key": key, "flag": "bad-translation"}
    done = http.post("/flag", data={**fields, "note": "Malay drops <b>the</b> audio", "who": "aisyah"})
    assert done.status_code == 303 and done.headers["location"] == f"/d/chats/r/{key}"
    assert query("SELECT flag, note, who FROM _flags", browsed).table.to_pylist() == [
        {"flag": "bad-translation", "note": "Malay drops <b>the</b> audio", "who": "aisyah"}
    ]
    page = http.get(f"/_test/{key}").text
    assert "bad translation" in page and "Malay drops &lt;b&gt;the&lt;/b&gt; audio" in page and "aisyah" in page
    assert 'name="who" placeholder="your name" maxlength="100" aria-label="reviewer" value="aisyah"' in page  # remembered

    cleared = http.post("/flag", data={**fields, "action": "clear", "next": f"/_test/{key}?x=1"})
    assert cleared.status_code == 303 and cleared.headers["location"] == f"/_test/{key}?x=1"
    assert "Malay drops" not in http.get(f"/_test/{key}").text
    assert [f["cleared_at"] is not None for f in flags(browsed, active=False)] == [True]


def test_the_partial_shows_flags_of_the_record_only_and_read_only_without_allow_flags(browsed):
    from starlette.testclient import TestClient

    from mmdata.browse import create_app

    key = pair_key(browsed)
    other = query(f"SELECT key FROM chats WHERE key <> '{key}' LIMIT 1", browsed).table.column(0)[0].as_py()
    flag(browsed, "chats", key, "bad-media", note="the second picture is blank", who="lee")
    with TestClient(with_record_route(create_app(browsed))) as client:
        shown = client.get(f"/_test/{key}", params={"dataset": "chats@1"}).text
        assert "the second picture is blank" in shown and "lee" in shown and "clear" not in shown
        assert "the second picture is blank" not in client.get(f"/_test/{other}").text


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({"flag": "ugly"}, 400),  # not one of the flags
        ({"key": "no-such-key"}, 404),
        ({"dataset": "nope"}, 404),
        ({"dataset": "../etc"}, 400),
    ],
)
def test_bad_flags_are_error_pages(http, browsed, fields, status):
    key = pair_key(browsed)
    base = {"form_key": form_key(http, key), "dataset": "chats", "key": key, "flag": "other"}
    answer = http.post("/flag", data={**base, **fields})
    assert answer.status_code == status and "<html" in answer.text
    assert flags(browsed) == []


@pytest.mark.parametrize("elsewhere", ["//evil.example/x", "/\\evil.example", "https://evil.example/", "/\t/evil.example"])
def test_the_redirect_stays_in_the_app(http, browsed, elsewhere):
    key = pair_key(browsed)
    fields = {"form_key": form_key(http, key), "dataset": "chats", "key": key, "flag": "other", "next": elsewhere}
    assert http.post("/flag", data=fields).headers["location"] == f"/d/chats/r/{key}"


def test_the_record_and_records_pages_show_the_flag_and_its_form(http, browsed):
    key = pair_key(browsed)
    fields = {"form_key": form_key(http, key), "dataset": "chats", "key": key, "flag": "wrong-answer"}
    assert http.post("/flag", data={**fields, "note": "the link is the colour"}).status_code == 303
    for path in (f"/d/chats/r/{key}", "/d/chats", "/d/chats@1"):
        shown = http.get(path)
        assert shown.status_code == 200 and "the link is the colour" in shown.text, path
        assert shown.text.count('class="flag flag-add"') == (1 if "/r/" in path else 31), path
