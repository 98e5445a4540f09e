"""Which input records are one record, and how edits are told from new records (issue 12, point 1)."""

import json

import pytest

from mmdata.errors import InputError
from mmdata.history import diff
from mmdata.importing import import_
from tests.conftest import chat, make_png, write_jsonl

# Each test that uses the store fixture runs on a local and on a team store (PostgreSQL + S3).
pytestmark = pytest.mark.both_stores


def count(store, dataset):
    with store.reader() as con:
        return con.execute(f'SELECT count(*) FROM lake."{dataset}"').fetchone()[0]


def sharegpt(path, rows):
    path.write_text(json.dumps(rows))
    return path


def test_tool_calls_opening_with_the_same_request_are_all_kept(store, tmp_path):
    tools = json.dumps([{"name": "weather", "parameters": {"type": "object"}}])
    rows = [
        {
            "messages": [
                {"role": "user", "content": "What is the weather?"},
                {"role": "assistant", "content": f"It is {sky} in {city}."},
            ],
            "tools": tools,
        }
        for sky, city in [("sunny", "Ipoh"), ("rainy", "Kuching"), ("cloudy", "Melaka")]
    ]
    result = import_(sharegpt(tmp_path / "tools.json", rows), "tools", store)
    assert (result.imported, result.duplicates, result.rejected) == (3, 0, 0)
    assert count(store, "tools") == 3


def test_one_fixed_question_about_one_image_with_different_answers(store, tmp_path):
    make_png(tmp_path / "cat.png")
    rows = [
        {
            "messages": [{"role": "user", "content": "<image>Describe the picture."}, {"role": "assistant", "content": answer}],
            "images": ["cat.png"],
        }
        for answer in ("A red square.", "Something red.", "A small red picture.")
    ]
    result = import_(sharegpt(tmp_path / "captions.json", rows), "captions", store)
    assert (result.imported, result.duplicates) == (3, 0)


def test_multi_turn_chats_sharing_an_opening_and_exact_copies(store, media):
    opening = ("Hi, can you help?", "Of course.")
    rows = [
        {"filename": "aud/x.wav", "chat": chat(opening, (q, a))}
        for q, a in [("Translate it.", "Done."), ("Summarise it.", "Short."), ("Translate it.", "Done.")]
    ]
    result = import_(write_jsonl(media / "chats.jsonl", rows), "chats", store)
    assert (result.imported, result.duplicates) == (2, 1)  # the third line is the first one again


def test_input_ids_decide_identity(store, tmp_path):
    make_png(tmp_path / "a.png")

    def llava(answers):
        return [
            {
                "id": f"q{i}",
                "image": "a.png",
                "conversations": [{"from": "human", "value": "<image>\nWhat colour?"}, {"from": "gpt", "value": answer}],
            }
            for i, answer in enumerate(answers)
        ]

    first = import_(sharegpt(tmp_path / "v1.json", llava(["Red.", "Red.", "Crimson."])), "colours", store)
    assert first.imported == 3  # same text, other ids: three records
    second = import_(sharegpt(tmp_path / "v2.json", llava(["Red.", "Scarlet.", "Crimson."])), "colours", store)
    assert (second.added, second.changed, second.unchanged) == (0, 1, 2)
    changed = diff("colours@1", "colours@2", store)
    assert changed["counts"] == {"added": 0, "removed": 0, "changed": 1, "unchanged": 2}
    assert changed["samples"]["changed"][0]["after"]["source_id"] == "q1"


def test_an_id_repeated_with_other_content_is_rejected_not_merged(store, tmp_path):
    rows = [
        {"id": "same", "conversations": [{"from": "human", "value": q}, {"from": "gpt", "value": "A."}]}
        for q in ("First?", "Second?", "First?")
    ]
    result = import_(sharegpt(tmp_path / "ids.json", rows), "ids", store)
    assert (result.imported, result.duplicates, result.rejected) == (1, 1, 1)
    assert result.rejects_by_rule == {"duplicate-id": 1}
    assert result.reject_samples[0]["line"] == 2 and "line 1 is kept" in result.reject_samples[0]["message"]


def test_validate_reports_a_repeated_id_as_import_would(tmp_path):
    from mmdata.validation import validate

    rows = [
        {"id": "same", "conversations": [{"from": "human", "value": q}, {"from": "gpt", "value": "A."}]}
        for q in ("First?", "Second?")
    ]
    report = validate(sharegpt(tmp_path / "ids.json", rows), tmp_path / "store")
    assert (report.invalid, report.by_rule) == (1, {"duplicate-id": 1})


def test_a_corrected_reimport_without_ids_shows_as_changed(store, media):
    v1 = write_jsonl(
        media / "v1.jsonl",
        [
            {"filename": "aud/x.wav", "chat": chat(("What is said?", "Hello."))},
            {"filename": "aud/y.wav", "chat": chat(("Who speaks?", "A man."))},
            {"filename": "aud/y.wav", "chat": chat(("Which language?", "Malay."))},
        ],
    )
    import_(v1, "talk", store)
    v2 = write_jsonl(
        media / "v2.jsonl",
        [
            {"filename": "aud/x.wav", "chat": chat(("What is being said?", "Hello there."))},  # only its media is the same
            {"filename": "aud/y.wav", "chat": chat(("Who speaks?", "A woman."))},  # same media and question
            {"filename": "aud/y.wav", "chat": chat(("Which language?", "Malay."))},  # unchanged
        ],
    )
    result = import_(v2, "talk", store, replace=True)
    assert (result.added, result.changed, result.removed, result.unchanged) == (0, 2, 0, 1)
    assert diff("talk@1", "talk@2", store)["counts"] == {"added": 0, "removed": 0, "changed": 2, "unchanged": 1}


def test_without_replace_a_new_answer_is_more_data_not_an_edit(store, media):
    import_(write_jsonl(media / "a.jsonl", [{"filename": "aud/x.wav", "chat": chat(("Q?", "First answer."))}]), "talk", store)
    result = import_(
        write_jsonl(media / "b.jsonl", [{"filename": "aud/x.wav", "chat": chat(("Q?", "Second answer."))}]), "talk", store
    )
    assert (result.added, result.changed) == (1, 0) and count(store, "talk") == 2


def test_ambiguous_edits_are_added_not_guessed(store, media):
    # Two stored answers to one question about one clip, and two new ones: which replaced which
    # cannot be told, so with --replace it is two removed and two added.
    import_(
        write_jsonl(media / "v1.jsonl", [{"filename": "aud/x.wav", "chat": chat(("Q?", a))} for a in ("A1.", "A2.")]),
        "talk",
        store,
    )
    result = import_(
        write_jsonl(media / "v2.jsonl", [{"filename": "aud/x.wav", "chat": chat(("Q?", a))} for a in ("B1.", "B2.")]),
        "talk",
        store,
        replace=True,
    )
    assert (result.added, result.changed, result.removed) == (2, 0, 2)


def test_keys_of_data_imported_before_keep_working(store, media, audio_instruction_file):
    """Stores made before keys changed hold other key values: same content re-imported is unchanged,
    a corrected record is changed, and the old keys stay as they are."""
    import_(audio_instruction_file, "talk", store)
    with store.transaction(locks=["talk"]) as con:  # what an older mmdata wrote: keys that are not the content id
        con.execute('UPDATE lake."talk" SET key = md5(id)')
        old_keys = sorted(r[0] for r in con.execute('SELECT key FROM lake."talk"').fetchall())
    again_file = media / "again.jsonl"  # other bytes, same records
    again_file.write_text(audio_instruction_file.read_text() + "\n")
    again = import_(again_file, "talk", store)
    assert again.version is None and again.unchanged == 2
    lines = [json.loads(line) for line in audio_instruction_file.read_text().splitlines()]
    lines[0]["chat"][1]["content"] = "A corrected answer."
    fixed = import_(write_jsonl(media / "fixed.jsonl", lines), "talk", store, replace=True)
    assert (fixed.changed, fixed.added) == (1, 0)
    with store.reader() as con:
        assert sorted(r[0] for r in con.execute('SELECT key FROM lake."talk"').fetchall()) == old_keys


def test_replace_with_every_line_rejected_is_refused(store, media, audio_instruction_file):
    import_(audio_instruction_file, "talk", store)
    broken = write_jsonl(media / "broken.jsonl", ["{not json", {"filename": "aud/x.wav"}])
    with pytest.raises(InputError, match=r"refusing to replace talk \(2 records\) with nothing.*format 2.*--allow-empty"):
        import_(broken, "talk", store, format="audio-instruction", replace=True)
    assert count(store, "talk") == 2
    emptied = import_(broken, "talk", store, format="audio-instruction", replace=True, allow_empty=True)
    assert (emptied.version, emptied.removed) == (2, 2) and "2 removed" in emptied.message
    assert count(store, "talk") == 0


def test_replace_says_how_many_records_it_removes(store, media, audio_instruction_file):
    import_(audio_instruction_file, "talk", store)
    one = write_jsonl(media / "one.jsonl", [json.loads(audio_instruction_file.read_text().splitlines()[0])])
    result = import_(one, "talk", store, replace=True)
    assert result.removed == 1 and result.message.endswith("1 removed")
