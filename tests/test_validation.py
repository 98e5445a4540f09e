from mmdata.importing import import_
from mmdata.validation import validate
from tests.conftest import SAMPLES


def test_clean_dataset_and_version(store, audio_instruction_file):
    import_(audio_instruction_file, "talk", store)
    for target in ("talk", "talk@1"):
        report = validate(target, store)
        assert report.ok and report.checked == 2 and report.by_rule == {}


def test_file_is_checked_without_touching_the_store(store):
    report = validate(SAMPLES / "relationships.jsonl", store)
    assert not report.ok and report.checked == 3 and report.by_rule == {"content-ms-ui-text": 1}
    assert report.samples[0]["line"] == 3 and report.samples[0]["field_path"] == "chat/1/content_ms"
    assert not store.exists


def test_stored_media_that_went_missing_or_bad_is_found(store, audio_instruction_file):
    import_(audio_instruction_file, "talk", store)
    files = sorted(store.media.root.rglob("*.wav"))
    files[0].unlink()
    files[1].write_bytes(b"RIFF garbage")
    report = validate("talk", store)
    assert report.invalid == 2 and report.by_rule == {"media-missing": 1, "media-undecodable": 1}
