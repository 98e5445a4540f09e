"""A small store to browse, and the app over it (Starlette's TestClient: plain HTTP, no server)."""

from __future__ import annotations

import pytest

pytest.importorskip("starlette", reason="mmdata browse needs the web extra")

from mmdata.importing import import_  # noqa: E402
from tests.conftest import chat, make_png, make_wav, write_jsonl  # noqa: E402


@pytest.fixture
def browsed(store, tmp_path):
    """A store with a conversation dataset (two versions) holding two images and a clip."""
    folder = tmp_path / "in"
    make_png(folder / "a.png", "red", (64, 48))
    make_png(folder / "b.png", "blue", (40, 40))
    make_wav(folder / "x.wav", 1.0)
    rows = [
        {
            "kind": "conversation",
            "id": "pair-1",
            "images": ["a.png", "b.png"],
            "audios": ["x.wav"],
            "chat": [
                {
                    "role": "user",
                    "content": "<image><image><audio> What links them?",
                    "content_ms": "<image><image><audio> Apa kaitannya?",
                },
                {"role": "assistant", "content": "Both are colours.", "content_ms": "Kedua-duanya warna."},
            ],
        },
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
