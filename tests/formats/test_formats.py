import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mmdata.errors import InputError
from mmdata.formats import detect, open_source
from mmdata.formats.base import FormatError
from mmdata.formats.chatformats import llava, sharegpt
from mmdata.formats.reference import audio_instruction, relationship
from tests.conftest import SAMPLES, chat, make_png, write_jsonl


@pytest.mark.parametrize("name,expected", [
    ("audio_instructions.jsonl", "audio-instruction"),
    ("relationships.jsonl", "relationship"),
    ("llava.json", "llava"),
    ("sharegpt.json", "sharegpt"),
    ("images", "folder"),
])
def test_detects_every_sample_format(name, expected):
    assert detect(SAMPLES / name) == expected


def test_audio_instruction_gets_its_audio_placeholder():
    record = audio_instruction({"context": "c", "filename": "a.mp3", "chat": chat(("Q?", "A."))})
    assert record["kind"] == "audio-instruction" and record["audios"] == ["a.mp3"]
    assert record["chat"][0]["content"] == "<audio>\nQ?"
    assert record["chat"][0]["content_ms"] == "<audio>\n[ms] Q?"
    kept = audio_instruction({"filename": "a.mp3", "chat": [{"role": "user", "content": "Q <audio>"}]})
    assert kept["chat"][0]["content"] == "Q <audio>"
    with pytest.raises(FormatError, match="filename"):
        audio_instruction({"chat": []})


@pytest.mark.parametrize("files,kind,images,audios", [
    (["a.png", "b.jpg"], "multi-image", 2, 0),
    (["a.mp3", "b.wav"], "multi-audio", 0, 2),
    (["a.mp3", "b.png"], "image-audio", 1, 1),
])
def test_relationship_kinds_and_placeholders(files, kind, images, audios):
    record = relationship({"filename": files, "filename_description": ["one", "two"], "instruction": "Related?",
                           "answer": "Yes.", "instruction_ms": "Berkaitan?", "answer_ms": "Ya."})
    assert record["kind"] == kind
    assert (len(record["images"]), len(record["audios"])) == (images, audios)
    user = record["chat"][0]
    assert user["content"].count("<image>") == images and user["content"].count("<audio>") == audios
    assert user["content_ms"].endswith("Berkaitan?") and user["content_ms"].count("<image>") == images
    assert "one" in record["context"] and "two" in record["context"]


def test_relationship_rejects_mismatched_descriptions_and_unknown_files():
    with pytest.raises(FormatError, match="1 descriptions for 2 files"):
        relationship({"filename": ["a.png", "b.png"], "filename_description": ["x"], "instruction": "i", "answer": "a"})
    with pytest.raises(FormatError, match="a.txt") as error:
        relationship({"filename": ["a.txt"], "instruction": "i", "answer": "a"})
    assert error.value.path == "filename/0"


def test_llava_image_string_list_or_absent():
    one = llava({"id": 7, "image": "x.jpg", "conversations": [{"from": "human", "value": "<image>\nHi"}, {"from": "gpt", "value": "Yo"}]})
    assert one["images"] == ["x.jpg"] and one["kind"] == "image-instruction" and one["source_id"] == "7"
    assert one["chat"] == [{"role": "user", "content": "<image>\nHi"}, {"role": "assistant", "content": "Yo"}]
    none = llava({"id": "t", "conversations": [{"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Yo"}]})
    assert none["images"] == [] and none["kind"] == "text"
    with pytest.raises(FormatError, match="robot") as error:
        llava({"conversations": [{"from": "robot", "value": "x"}]})
    assert error.value.path == "conversations/0/from"


def test_sharegpt_messages_and_conversations_spellings():
    a = sharegpt({"messages": [{"role": "user", "content": "<audio><audio>hi"}, {"role": "assistant", "content": "yo"}],
                  "audios": ["a.wav", "b.wav"]})
    assert a["kind"] == "multi-audio" and a["audios"] == ["a.wav", "b.wav"]
    b = sharegpt({"conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "yo"}], "system": "Be kind."})
    assert [t["role"] for t in b["chat"]] == ["system", "user", "assistant"]


def test_bad_json_lines_become_items_with_errors(tmp_path):
    path = write_jsonl(tmp_path / "x.jsonl", [
        {"context": "c", "filename": "a.wav", "chat": chat(("Q?", "A."))}, "{not json", '["a list"]'])
    items = list(open_source(path).items)
    assert [i.line for i in items] == [1, 2, 3]
    assert items[0].error is None
    assert "invalid JSON" in str(items[1].error)
    assert items[2].error is not None


def test_folder_with_metadata_jsonl_and_unlisted_files(tmp_path):
    make_png(tmp_path / "pics" / "a.png")
    make_png(tmp_path / "pics" / "sub" / "b.png")
    write_jsonl(tmp_path / "pics" / "metadata.jsonl", [{"file_name": "a.png", "caption": "red", "colour": "red"}])
    source = open_source(tmp_path / "pics")
    assert (source.format, source.record_kind) == ("folder", "image")
    records = {i.record["media_id"]: i.record for i in source.items}
    assert records["a.png"] == {"media_id": "a.png", "caption": "red", "colour": "red"}
    assert records["sub/b.png"] == {"media_id": "sub/b.png"}


def test_folder_of_mixed_media_is_refused(tmp_path, media):
    with pytest.raises(InputError, match="both images and audio"):
        open_source(media)


def test_unknown_layout_asks_for_format(tmp_path):
    path = write_jsonl(tmp_path / "x.jsonl", [{"foo": 1}])
    with pytest.raises(InputError, match="--format"):
        detect(path)
    with pytest.raises(InputError, match="unknown format"):
        open_source(path, format="csv")
    with pytest.raises(InputError, match="no such file"):
        open_source(tmp_path / "missing.jsonl")


def test_parquet_in_sharegpt_and_our_layouts(tmp_path):
    pq.write_table(pa.Table.from_pylist([{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}]),
                   tmp_path / "sg.parquet")
    assert detect(tmp_path / "sg.parquet") == "sharegpt"
    pq.write_table(pa.Table.from_pylist([{"kind": "text", "chat": [{"role": "user", "content": "hi"}],
                                          "generation": json.dumps({"model": "m"})}]), tmp_path / "ours.parquet")
    source = open_source(tmp_path / "ours.parquet")
    assert source.format == "mmdata"
    (item,) = source.items
    assert item.record["generation"] == {"model": "m"}
