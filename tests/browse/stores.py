"""Small stores for the history, diff, rejects and stats pages: a dataset edited into a second
version (a word changed, an XSS answer, a record replaced, a bad line), and a mixture of two sources."""

from __future__ import annotations

from mmdata.importing import import_
from tests.conftest import chat, write_jsonl

XSS = "<script>alert(1)</script><img src=x onerror=alert(2)>"


def pair_with_media(folder) -> dict:
    """Two pictures and a clip in ``folder``, and a conversation about them (id ``pair-1``)."""
    from tests.conftest import make_png, make_wav

    make_png(folder / "a.png", "red", (64, 48))
    make_png(folder / "b.png", "blue", (40, 40))
    make_wav(folder / "x.wav", 1.0)
    return {
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
    }


def edited(store, folder):
    """``notes@1`` (5 records keyed by source_id) and ``notes@2``: t0's answer says "reply" for
    "answer", t1's answer holds XSS, t2 is replaced by a new record, and one line is rejected."""
    rows = [
        {"kind": "conversation", "source_id": f"t{i}", "chat": chat((f"Question {i}?", f"The answer is {i}."))} for i in range(5)
    ]
    import_(write_jsonl(folder / "v1.jsonl", rows), "notes", store)
    rows[0]["chat"][1]["content"] = "The reply is 0."
    rows[1]["chat"][1]["content"] = f"The answer is {XSS}."
    rows[2] = {**rows[2], "source_id": "new"}
    bad = {"kind": "conversation", "chat": [{"role": "wizard", "content": XSS}]}
    import_(write_jsonl(folder / "v2.jsonl", [*rows, bad]), "notes", store, replace=True)
    return store


def mixture(store, folder):
    """Datasets a, b, c (tests/mix's sources) and ``m@1``, a mixture of 6 from a and 4 from b, both languages."""
    from mmdata.mix import mix
    from tests.mix.conftest import fill

    fill(store, folder)
    spec = folder / "spec.yaml"
    spec.write_text("name: m\nseed: 1\nlanguage: both\nsources:\n  - {dataset: a, take: 6}\n  - {dataset: b, take: 4}\n")
    mix(spec, store)
    return store
