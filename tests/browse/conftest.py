"""A small store to browse, and the app over it (Starlette's TestClient: plain HTTP, no server)."""

from __future__ import annotations

import pytest

pytest.importorskip("starlette", reason="mmdata browse needs the web extra")

from mmdata.importing import import_  # noqa: E402
from tests.browse.stores import edited, pair_with_media  # noqa: E402
from tests.conftest import chat, write_jsonl  # noqa: E402


@pytest.fixture
def browsed(store, tmp_path):
    """A store with a conversation dataset (two versions) holding two images and a clip."""
    folder = tmp_path / "in"
    folder.mkdir()
    rows = [
        pair_with_media(folder),
        *({"kind": "conversation", "id": f"t{i}", "chat": chat((f"Question {i}?", f"Answer {i}."))} for i in range(30)),
    ]
    import_(write_jsonl(folder / "chats.jsonl", rows), "chats", store, media_root=folder)
    return store


@pytest.fixture
def client(browsed):
    from starlette.testclient import TestClient

    from mmdata.browse import create_app

    with TestClient(create_app(browsed, allow_flags=True)) as http:
        yield http


@pytest.fixture
def edited_http(store, tmp_path):
    """The app over ``stores.edited``: notes@1 and notes@2 (a word changed, XSS, a replaced record, a reject)."""
    from starlette.testclient import TestClient

    from mmdata.browse import create_app

    edited(store, tmp_path)
    with TestClient(create_app(store)) as client:
        yield client
