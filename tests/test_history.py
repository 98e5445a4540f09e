import pytest

from mmdata.errors import InputError, NotFoundError
from mmdata.history import diff, tag
from mmdata.importing import import_
from mmdata.inspect import log, ls, show, stats
from tests.conftest import SAMPLES, chat, write_jsonl

# Each test that uses the store fixture runs on a local and on a team store (PostgreSQL + S3).
pytestmark = pytest.mark.both_stores


@pytest.fixture
def edited(store, media, audio_instruction_file):
    import_(audio_instruction_file, "talk", store)
    write_jsonl(
        media / "v2.jsonl",
        [
            {"context": "ctx one", "filename": "aud/x.wav", "chat": chat(("What is said?", "Hello, friend."))},
            {"context": "new", "filename": "aud/y.wav", "chat": chat(("New question?", "New answer."))},
        ],
    )
    import_(media / "v2.jsonl", "talk", store, replace=True)
    return store


def test_diff_counts_and_shows_examples(edited):
    result = diff("talk@1", "talk@2", edited)
    assert result["counts"] == {"added": 1, "removed": 1, "changed": 1, "unchanged": 0}
    changed = result["samples"]["changed"][0]
    assert changed["before"]["chat"][1]["content"] == "Hello."
    assert changed["after"]["chat"][1]["content"] == "Hello, friend."
    assert result["samples"]["added"][0]["context"] == "new"
    assert result["samples"]["removed"][0]["context"] == "ctx two"
    assert diff("talk@2", "talk@2", edited)["counts"]["unchanged"] == 2


def test_tags_point_and_move(edited):
    assert tag("talk@1", "stable", edited) == {"dataset": "talk", "version": 1, "tag": "stable"}
    assert show("talk@stable", edited)["version"] == "talk@1"
    tag("talk@2", "stable", edited)
    assert show("talk@stable", edited)["version"] == "talk@2"
    with pytest.raises(InputError, match="bad tag"):
        tag("talk@1", "7", edited)
    with pytest.raises(NotFoundError):
        tag("talk@5", "x", edited)


def test_ls_log_show_stats(edited):
    import_(SAMPLES / "images", "pics", edited)
    listing = {row["dataset"]: row for row in ls(edited)}
    assert listing["talk"]["version"] == 2 and listing["talk"]["records"] == 2
    assert listing["pics"]["record_kind"] == "image"
    history = log("talk", edited)
    assert [v["version"] for v in history] == [1, 2] and history[1]["arguments"]["replace"] is True
    info = show("talk@1", edited, limit=1)
    assert info["records"] == 2 and len(info["sample"]) == 1 and "chat" in info["columns"]
    numbers = stats("talk", edited)
    assert numbers["records"] == 2 and numbers["turns_mean"] == 2 and numbers["content_ms_turns_pct"] == 100
    assert numbers["audios_mean"] == 1 and numbers["kinds"] == {"audio-instruction": 2}
    assert stats("pics", edited)["with_caption_ms"] == 4
    with pytest.raises(NotFoundError):
        log("nope", edited)


def test_show_lists_rejects(store):
    import_(SAMPLES / "audio_instructions.jsonl", "talk", store)
    info = show("talk", store)
    assert info["rejects"] == {"content-ms-null": 1}
    assert info["reject_samples"][0]["field_path"] == "chat/1/content_ms"
