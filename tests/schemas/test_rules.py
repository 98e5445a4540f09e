import jsonschema
import pytest

from mmdata.schemas.check import RecordChecker, load_schema
from mmdata.store.media import MediaInfo

IMG, AUD = "a" * 64, "b" * 64


def conversation(**overrides):
    record = {
        "kind": "image-audio",
        "chat": [
            {"role": "user", "content": "<image>\n<audio>\nWhat links them?", "content_ms": "<image>\n<audio>\nApa kaitannya?"},
            {"role": "assistant", "content": "Both are Malaysian.", "content_ms": "Kedua-duanya dari Malaysia."},
        ],
        "images": [IMG],
        "audios": [AUD],
    }
    record.update(overrides)
    return record


def rules_of(record, kind="conversation", media=None):
    return {(v.path, v.rule) for v in RecordChecker(kind, media).check(record)}


@pytest.mark.parametrize("kind", ["conversation", "audio", "transcript", "image"])
def test_schemas_are_valid_draft_2020_12(kind):
    schema = load_schema(kind)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


def test_a_good_record_passes():
    assert rules_of(conversation()) == set()


def test_schema_violations_name_the_field():
    assert ("$", "schema:required") in rules_of({"kind": "text"})
    assert ("chat/0/role", "schema:enum") in rules_of(conversation(chat=[{"role": "bot", "content": "x"}]))
    assert ("images/0", "schema:pattern") in rules_of(conversation(images=["not-an-id"]))


def test_placeholder_counts_must_match_media_lists():
    assert ("images", "placeholder-count") in rules_of(conversation(images=[IMG, IMG]))
    assert ("audios", "placeholder-count") in rules_of(conversation(audios=[]))


def test_placeholder_counts_must_match_in_content_ms():
    record = conversation()
    record["chat"][0]["content_ms"] = "<image>\nApa kaitannya?"
    assert rules_of(record) == {("chat/0/content_ms", "placeholder-count")}


def test_roles_alternate_after_an_optional_system_turn():
    system = {"role": "system", "content": "Be brief."}
    good = conversation()
    good["chat"].insert(0, system)
    assert rules_of(good) == set()
    twice = conversation()
    twice["chat"].insert(1, {"role": "user", "content": "again"})
    assert ("chat/1/role", "role-order") in rules_of(twice)
    dangling = conversation()
    dangling["chat"].append({"role": "user", "content": "and?"})
    assert ("chat/2/role", "role-order") in rules_of(dangling)


def test_no_empty_turns():
    record = conversation()
    record["chat"][1]["content"] = "   "
    assert ("chat/1/content", "empty-turn") in rules_of(record)


@pytest.mark.parametrize(
    "text,rule",
    [
        ("None", "content-ms-null"),
        ("null", "content-ms-null"),
        (" NaN ", "content-ms-null"),
        ("Google Translate", "content-ms-ui-text"),
        ("Terjemahan Google", "content-ms-ui-text"),
        ("Detect language", "content-ms-ui-text"),
        ("Kedua-duanya. Translated by Google", "content-ms-ui-text"),
    ],
)
def test_content_ms_is_real_malay_or_absent(text, rule):
    record = conversation()
    record["chat"][1]["content_ms"] = text
    assert ("chat/1/content_ms", rule) in rules_of(record)
    del record["chat"][1]["content_ms"]
    assert rules_of(record) == set()


def test_media_must_resolve_decode_and_be_of_the_right_kind():
    from mmdata.errors import MediaError, MediaMissing

    def lookup(media_id):
        if media_id == IMG:
            return MediaInfo(IMG, ".wav", "audio", 10)  # an "image" that is really audio
        raise MediaMissing(f"media {media_id} is not in the store")

    assert rules_of(conversation(), media=lookup) == {("images/0", "media-kind"), ("audios/0", "media-missing")}

    def broken(media_id):
        raise MediaError("does not decode")

    assert ("images/0", "media-undecodable") in rules_of(conversation(), media=broken)


def test_transcript_and_media_record_rules():
    base = {"media_id": AUD, "start": 0.0, "end": 30.0, "text_ms": "selamat pagi"}
    assert rules_of(base, "transcript") == set()
    assert ("end", "time-span") in rules_of({**base, "end": 0.0}, "transcript")
    assert ("text_ms", "empty-turn") in rules_of({"media_id": AUD, "start": 0, "end": 1}, "transcript")
    assert ("$", "schema:required") in rules_of({"caption": "x"}, "image")
    assert rules_of({"media_id": IMG, "caption": "x", "width": 4, "height": 4}, "image") == set()


def test_fast_check_agrees_with_jsonschema():
    """The compiled fast path may only say yes where jsonschema does (and should agree on no)."""
    from mmdata.schemas.check import _fast_check, _validator

    cases = {
        "conversation": [
            conversation(),
            {"kind": "text"},
            conversation(chat=[]),
            conversation(images=["x"]),
            conversation(kind="Bad Kind"),
            conversation(chat=[{"role": "user"}]),
            conversation(chat=[{"role": "user", "content": ""}]),
            conversation(generation={"model": "m"}),
            conversation(generation="text"),
            conversation(context=None),
            conversation(extra_field=1),
            conversation(chat=[{"role": "user", "content": "x", "surprise": 1}]),
            [],
            "text",
        ],
        "transcript": [
            {"media_id": AUD, "start": 0, "end": 1},
            {"media_id": AUD, "start": -1, "end": 1},
            {"media_id": AUD, "start": 0, "end": 1, "language_prob": 2},
            {"media_id": AUD, "start": "0", "end": 1},
        ],
        "image": [
            {"media_id": IMG},
            {"media_id": IMG, "width": 0},
            {"media_id": IMG, "width": 1.5},
            {"media_id": IMG, "attributes": []},
        ],
        "audio": [{"media_id": AUD, "duration": 1.5}, {"media_id": AUD, "duration": -1}, {"media_id": None}],
    }
    for kind, records in cases.items():
        for record in records:
            assert _fast_check(kind)(record) == _validator(kind).is_valid(record), (kind, record)


def test_tool_turns_take_the_question_and_answer_places():
    """LLaMA-Factory's rule: a tool call answers, its result asks; the chat still ends on an answer."""
    tools = [
        {"role": "user", "content": "Weather in Ipoh?"},
        {"role": "function_call", "content": '{"name": "weather"}'},
        {"role": "observation", "content": '{"sky": "rain"}'},
        {"role": "assistant", "content": "Rain."},
    ]
    assert rules_of({"kind": "text", "chat": tools}) == set()
    assert ("chat/1/role", "role-order") in rules_of({"kind": "text", "chat": [tools[0], tools[2], tools[3]]})
    assert ("chat/2/role", "role-order") in rules_of({"kind": "text", "chat": tools[:3]})
    assert ("chat/0/role", "schema:enum") in rules_of({"kind": "text", "chat": [{"role": "tool", "content": "x"}]})


@pytest.mark.parametrize("tag", ["<imej>", "<img>", "<gambar>", "<Image>", "<image_1>", "<audio_ms>", "<suara>", "</image>"])
def test_placeholders_we_do_not_know_are_flagged(tag):
    record = conversation()
    record["chat"][1]["content_ms"] = f"Kedua-duanya {tag} dari Malaysia."
    assert ("chat/1/content_ms", "placeholder-unknown") in rules_of(record)


def test_html_is_not_a_placeholder():
    record = conversation()
    record["chat"][1]["content"] = 'Write <img src="a.png"> in the page.'
    assert rules_of(record) == set()


def test_video_is_refused_by_name():
    assert ("videos", "video-unsupported") in rules_of(conversation(videos=["a.mp4"]))
    record = conversation()
    record["chat"][0]["content"] = "<video>" + record["chat"][0]["content"]
    assert ("chat/0/content", "video-unsupported") in rules_of(record)


def test_turn_fields_are_one_object_per_turn():
    assert rules_of(conversation(turn_fields=[{"score": 1}, {}])) == set()
    assert ("turn_fields", "turn-fields") in rules_of(conversation(turn_fields=[{"score": 1}]))
    assert ("turn_fields/0", "schema:type") in rules_of(conversation(turn_fields=["x", {}]))
