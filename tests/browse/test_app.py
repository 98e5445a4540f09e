"""The app's frame: the front page, errors as pages, the token, the loopback rule."""

from __future__ import annotations

import pytest

from mmdata.errors import InputError


def test_front_page_lists_datasets_and_searches(client):
    page = client.get("/")
    assert page.status_code == 200 and "chats" in page.text and "conversation" in page.text
    assert "chats" not in client.get("/", params={"q": "zzz"}).text.split("<tbody>")[1]


def test_an_unknown_route_is_a_404_page(client):
    page = client.get("/no/such/page")
    assert page.status_code == 404 and "<html" in page.text


def test_a_token_is_needed_on_every_request(browsed):
    from starlette.testclient import TestClient

    from mmdata.browse import create_app

    with TestClient(create_app(browsed, token="s3cret")) as http:
        assert http.get("/").status_code == 403
        assert http.get("/static/app.css").status_code == 403
        assert http.get("/", headers={"Authorization": "Bearer s3cret"}).status_code == 200
        first = http.get("/", params={"token": "s3cret"})
        assert first.status_code == 200 and "mmdata_token" in first.headers["set-cookie"]
        assert http.get("/").status_code == 200  # the cookie carries it from now on


def test_only_loopback_without_a_token():
    from mmdata.browse.app import check_binding

    check_binding("127.0.0.1", None)
    check_binding("0.0.0.0", "t")
    with pytest.raises(InputError, match="--token"):
        check_binding("0.0.0.0", None)
