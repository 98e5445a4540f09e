import json

import pytest

from mmtrain.data.records import read_manifest, read_records
from mmtrain.errors import DataError

from .conftest import LONG, MULTI, TEXT, write_export


def test_reads_both_splits_with_absolute_media(export):
    train = read_records(export)
    assert [r.id for r in train] == ["multi", "text", "long"]
    multi = train[0]
    assert multi.images == [str(export.resolve() / "media/red.png"), str(export.resolve() / "media/blue.png")]
    assert multi.audios[0].endswith("media/three.wav") and multi.source == "demo@1"
    assert (multi.file.endswith("train.jsonl"), multi.line, train[2].line) == (True, 1, 3)
    assert [r.id for r in read_records(export, "test")] == ["text"]


def test_manifest(export, tmp_path):
    assert read_manifest(export)["splits"] == {"train": 3, "test": 1}
    (tmp_path / "manifest.json").write_text(json.dumps({"dataset": "other"}))
    assert read_manifest(tmp_path) == {"dataset": "other"}
    with pytest.raises(DataError, match="no manifest"):
        read_manifest(tmp_path / "nowhere")


def test_schema_errors_name_file_line_and_id(tmp_path):
    bad_lang = {**TEXT, "id": "t2", "language": "fr"}
    extra = {**TEXT, "id": "t3", "extra": 1}
    folder = write_export(tmp_path / "x", [TEXT, bad_lang, "{not json", extra])
    with pytest.raises(DataError) as err:
        read_records(folder)
    msg = str(err.value)
    assert msg.startswith("3 unusable record(s)")
    assert "train.jsonl:2: record t2: language" in msg and "'fr'" in msg
    assert "train.jsonl:3: not valid JSON" in msg and "train.jsonl:4: record t3" in msg
    assert "\n" not in msg


def test_placeholder_media_mismatch_and_missing_file(tmp_path):
    one_image = {**MULTI, "id": "m1", "images": ["media/red.png"]}
    missing = {**LONG, "id": "gone", "audios": ["media/nope.ogg"]}
    reserved = {
        **TEXT,
        "id": "res",
        "messages": [TEXT["messages"][0], {"role": "user", "content": "a <|image_pad|>"}, TEXT["messages"][2]],
    }
    folder = write_export(tmp_path / "x", [one_image, TEXT, missing, reserved])
    with pytest.raises(DataError) as err:
        read_records(folder)
    msg = str(err.value)
    assert "train.jsonl:1: record m1: 2 <image> placeholder(s) but 1 images" in msg
    assert "train.jsonl:3: record gone: missing media file media/nope.ogg" in msg
    assert "train.jsonl:4: record res: text contains the reserved token <|image_pad|>" in msg


def test_many_problems_are_counted_not_all_listed(tmp_path):
    rows = [{**TEXT, "id": f"b{i}", "language": "xx"} for i in range(8)]
    with pytest.raises(DataError, match=r"^8 unusable .* and 3 more$"):
        read_records(write_export(tmp_path / "x", rows))


def test_missing_split(tmp_path):
    with pytest.raises(DataError, match="valid.jsonl not found"):
        read_records(write_export(tmp_path / "x", [TEXT]), "valid")


def test_tool_turns_are_refused_with_their_reason(tmp_path):
    tools = {
        **TEXT,
        "id": "tool",
        "messages": [
            TEXT["messages"][1],
            {"role": "function_call", "content": "{}"},
            {"role": "observation", "content": "{}"},
            TEXT["messages"][2],
        ],
    }
    with pytest.raises(DataError, match=r"train.jsonl:2: record tool: messages/1/role: function_call is a tool turn"):
        read_records(write_export(tmp_path / "x", [TEXT, tools]))
