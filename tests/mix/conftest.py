"""A store with three mixture sources (``sources``), and helpers for spec files and mixture rows."""

import json

import pytest

from mmdata.importing import import_
from mmdata.querying import query
from tests.conftest import make_png, make_wav, write_jsonl


def fill(store, root):
    """a: 10 bilingual audio chats (two of them 6 turns long); b: 6 image pairs sharing pictures; c: 4 English-only chats."""
    for i in range(4):
        make_png(root / f"img{i}.png", colour=(i * 60, 20, 20))
    for i in range(10):
        make_wav(root / f"a{i}.wav", 0.3, 200 + 20 * i)

    def turns(n, i, ms=True):
        out = []
        for t in range(n):
            role = "user" if t % 2 == 0 else "assistant"
            turn = {"role": role, "content": ("<audio>\n" if t == 0 else "") + f"{role} says thing {i}.{t} in English"}
            if ms:
                turn["content_ms"] = ("<audio>\n" if t == 0 else "") + f"{role} berkata perkara {i}.{t} dalam bahasa Melayu"
            out.append(turn)
        return out

    a = [{"kind": "audio-instruction", "chat": turns(6 if i < 2 else 2, i), "audios": [f"a{i}.wav"]} for i in range(10)]
    b = [
        {
            "kind": "multi-image",
            "images": [f"img{i % 4}.png", f"img{(i + 1) % 4}.png"],
            "chat": [
                {
                    "role": "user",
                    "content": f"<image>\n<image>\nWhat links them, case {i}?",
                    "content_ms": f"<image>\n<image>\nApa kaitannya, kes {i}?",
                },
                {"role": "assistant", "content": f"They are related, case {i}.", "content_ms": f"Ia berkaitan, kes {i}."},
            ],
        }
        for i in range(6)
    ]
    c = [
        {
            "kind": "text",
            "chat": [{"role": "user", "content": f"Question {i}?"}, {"role": "assistant", "content": f"Answer  {i % 3}."}],
        }
        for i in range(4)
    ]  # records 0 and 3 give the same answer (up to spacing and case)
    for name, rows in (("a", a), ("b", b), ("c", c)):
        assert import_(write_jsonl(root / f"{name}.jsonl", rows), name, store, format="mmdata").imported == len(rows)
    return store


@pytest.fixture
def sources(store, tmp_path):
    return fill(store, tmp_path / "in")


def spec(tmp_path, text: str):
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    return path


def rows(store, name):
    out = []
    for r in query(
        f"SELECT kind, to_json(chat) AS chat, images, audios, extra, id FROM {name} "
        f"ORDER BY json_extract(extra, '$.mix_index')::INT",
        store,
    ).table.to_pylist():
        out.append({**r, "chat": json.loads(r["chat"]), "extra": json.loads(r["extra"])})
    return out
