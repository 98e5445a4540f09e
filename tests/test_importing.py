import json

import pytest

from mmdata.errors import InputError
from mmdata.importing import import_
from tests.conftest import SAMPLES, chat, make_png, write_jsonl

# Each test that uses the store fixture runs on a local and on a team store (PostgreSQL + S3).
pytestmark = pytest.mark.both_stores


def rows(store, sql):
    with store.reader() as con:
        result = con.execute(sql)
        columns = [d[0] for d in result.description]
        return [dict(zip(columns, r)) for r in result.fetchall()]


def test_import_copies_media_and_references_ids(store, audio_instruction_file):
    result = import_(audio_instruction_file, "talk", store)
    assert (result.version, result.imported, result.rejected, result.skipped) == (1, 2, 0, 0)
    records = rows(store, 'SELECT audios, chat FROM lake."talk"')
    media_id = records[0]["audios"][0]
    assert len(media_id) == 64 and store.media.find(media_id).exists()
    media = rows(store, "SELECT * FROM lake._media")
    assert {m["kind"] for m in media} == {"audio"} and all(m["duration_s"] > 0 for m in media)


def test_reimporting_the_same_input_adds_nothing_and_says_so(store, audio_instruction_file):
    import_(audio_instruction_file, "talk", store)
    again = import_(audio_instruction_file, "talk", store)
    assert again.version is None and "already imported as talk@1" in again.message
    # Same records under another file name: caught by content, still no new version.
    copy = audio_instruction_file.parent / "copy.jsonl"
    copy.write_text(audio_instruction_file.read_text() + "\n")  # other bytes, same records
    third = import_(copy, "talk", store)
    assert third.version is None and third.skipped == 2 and "nothing new" in third.message
    with store.reader() as con:
        assert con.execute("SELECT count(*) FROM lake._versions").fetchone() == (1,)


def test_rejects_carry_file_line_field_and_rule(store, media):
    source = write_jsonl(
        media / "mixed.jsonl",
        [
            {"context": "ok", "filename": "aud/x.wav", "chat": chat(("Q?", "A."))},
            "{broken",
            {
                "context": "none",
                "filename": "aud/x.wav",
                "chat": [{"role": "user", "content": "Q2?"}, {"role": "assistant", "content": "A2.", "content_ms": "None"}],
            },
            {"context": "missing media", "filename": "aud/nope.wav", "chat": chat(("Q3?", "A3."))},
            {"context": "no chat", "filename": "aud/x.wav"},
        ],
    )
    result = import_(source, "talk", store)
    assert (result.imported, result.rejected) == (1, 4)
    assert result.rejects_by_rule == {"format": 2, "content-ms-null": 1, "media-missing": 1}
    found = {(r["line"], r["field_path"], r["rule"]) for r in result.reject_samples}
    assert found == {
        (2, "$", "format"),
        (3, "chat/1/content_ms", "content-ms-null"),
        (4, "audios/0", "media-missing"),
        (5, "chat", "format"),
    }
    stored = rows(store, "SELECT file, line, field_path, rule, version, record FROM lake._rejects ORDER BY line")
    assert [r["line"] for r in stored] == [2, 3, 4, 5] and {r["file"] for r in stored} == {str(source)}
    assert json.loads(stored[1]["record"])["context"] == "none"


def test_undecodable_media_is_rejected_not_fatal(store, media):
    (media / "aud" / "bad.wav").write_bytes(b"RIFF....garbage")
    source = write_jsonl(media / "bad.jsonl", [{"filename": "aud/bad.wav", "chat": chat(("Q?", "A."))}])
    result = import_(source, "talk", store)
    assert result.version is None and result.rejects_by_rule == {"media-undecodable": 1}
    # Nothing was imported, yet the reject is on record (with no version).
    assert rows(store, "SELECT version, field_path, rule FROM lake._rejects") == [
        {"version": None, "field_path": "audios/0", "rule": "media-undecodable"}
    ]


@pytest.fixture
def edited(media):
    """The audio-instruction file's first record with a new answer, and a new record on the same clip."""
    return write_jsonl(
        media / "edited.jsonl",
        [
            {"context": "ctx one", "filename": "aud/x.wav", "chat": chat(("What is said?", "Hello there."))},
            {"context": "ctx three", "filename": "aud/x.wav", "chat": chat(("Anything new?", "Yes."))},
        ],
    )


def test_edits_change_records_and_replace_removes_missing(store, edited, audio_instruction_file):
    import_(audio_instruction_file, "talk", store)
    added = import_(edited, "talk", store)  # without --replace, new content is more data
    assert (added.version, added.added, added.changed, added.removed) == (2, 2, 0, 0)
    assert rows(store, 'SELECT count(*) AS n FROM lake."talk"') == [{"n": 4}]
    replaced = import_(edited, "talk", store, replace=True)
    assert (replaced.version, replaced.unchanged, replaced.removed) == (3, 2, 2)
    assert rows(store, 'SELECT count(*) AS n FROM lake."talk"') == [{"n": 2}]


def test_replace_tells_an_edit_from_a_new_record(store, edited, audio_instruction_file):
    import_(audio_instruction_file, "talk", store)
    result = import_(edited, "talk", store, replace=True)
    assert (result.version, result.added, result.changed, result.removed) == (2, 1, 1, 1)


def test_only_identical_lines_are_duplicates(store, media):
    line = {"context": "c", "filename": "aud/x.wav", "chat": chat(("Q?", "A."))}
    source = write_jsonl(media / "dup.jsonl", [line, line, {**line, "chat": chat(("Q?", "Better A."))}])
    result = import_(source, "talk", store)
    assert (result.imported, result.duplicates) == (2, 1)
    answers = rows(store, 'SELECT chat[2].content AS a FROM lake."talk" ORDER BY a')
    assert answers == [{"a": "A."}, {"a": "Better A."}]


def test_every_reference_format_imports(store):
    expectations = {
        "audio_instructions.jsonl": ("audio-instruction", 2, 1),
        "relationships.jsonl": ("relationship", 2, 1),
        "llava.json": ("llava", 2, 1),
        "sharegpt.json": ("sharegpt", 2, 0),
        "images": ("folder", 4, 0),
    }
    for name, (format, imported, rejected) in expectations.items():
        result = import_(SAMPLES / name, name.split(".")[0], store)
        assert (result.format, result.imported, result.rejected) == (format, imported, rejected), name
    kinds = rows(store, 'SELECT kind, len(images) AS i, len(audios) AS a FROM lake."relationships" ORDER BY kind')
    assert kinds == [{"kind": "multi-audio", "i": 0, "a": 2}, {"kind": "multi-image", "i": 2, "a": 0}]
    images = rows(store, 'SELECT caption_ms, width, title FROM lake."images" ORDER BY title')
    assert images[0] == {"caption_ms": "Sepinggan nasi lemak dilukis sebagai bulatan hijau", "width": 64, "title": "Nasi lemak"}


def test_folder_of_audio_with_metadata_csv(store, tmp_path):
    from tests.conftest import make_wav

    make_wav(tmp_path / "clips" / "a.wav", 1.0)
    make_wav(tmp_path / "clips" / "b.wav", 0.5)
    (tmp_path / "clips" / "metadata.csv").write_text(
        "file,title,source_url,speaker\na.wav,Ceramah,https://example.test/a,Ustaz\n"
    )
    result = import_(tmp_path / "clips", "clips", store)
    assert (result.record_kind, result.imported) == ("audio", 2)
    got = rows(store, 'SELECT title, duration, extra FROM lake."clips" ORDER BY duration DESC')
    assert got[0] == {"title": "Ceramah", "duration": 1.0, "extra": '{"speaker": "Ustaz"}'}
    assert got[1]["title"] is None and got[1]["duration"] == 0.5


def test_a_dataset_holds_one_record_kind(store, tmp_path, audio_instruction_file):
    import_(audio_instruction_file, "talk", store)
    make_png(tmp_path / "pics" / "a.png")
    with pytest.raises(InputError, match="holds conversation records"):
        import_(tmp_path / "pics", "talk", store)


def test_bad_dataset_name(store, audio_instruction_file):
    with pytest.raises(InputError, match="bad dataset name"):
        import_(audio_instruction_file, "no spaces@1", store)


def test_a_store_whose_path_holds_a_quote(tmp_path, audio_instruction_file):
    from mmdata.store.lake import Store

    odd = Store(tmp_path / 'it\'s; a "store" é')
    assert import_(audio_instruction_file, "talk", odd).imported == 2
    edited = import_(audio_instruction_file, "talk", odd, replace=True)  # already imported: nothing to do
    assert edited.version is None
    assert rows(odd, 'SELECT count(*) AS n FROM lake."talk"') == [{"n": 2}]
