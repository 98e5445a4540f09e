import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mmdata.errors import InputError
from mmdata.formats import open_source
from mmdata.formats.audio_instruction import audio_instruction
from mmdata.formats.base import FormatError
from mmdata.formats.llava import llava
from mmdata.formats.registry import detect, layout_of
from mmdata.formats.relationship import relationship
from mmdata.formats.sharegpt import sharegpt
from tests.conftest import SAMPLES, chat, make_png, write_jsonl


@pytest.mark.parametrize(
    "name,expected",
    [
        ("audio_instructions.jsonl", "audio-instruction"),
        ("relationships.jsonl", "relationship"),
        ("llava.json", "llava"),
        ("sharegpt.json", "sharegpt"),
        ("images", "folder"),
    ],
)
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


@pytest.mark.parametrize(
    "files,kind,images,audios",
    [
        (["a.png", "b.jpg"], "multi-image", 2, 0),
        (["a.mp3", "b.wav"], "multi-audio", 0, 2),
        (["a.mp3", "b.png"], "image-audio", 1, 1),
    ],
)
def test_relationship_kinds_and_placeholders(files, kind, images, audios):
    record = relationship(
        {
            "filename": files,
            "filename_description": ["one", "two"],
            "instruction": "Related?",
            "answer": "Yes.",
            "instruction_ms": "Berkaitan?",
            "answer_ms": "Ya.",
        }
    )
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
    one = llava(
        {"id": 7, "image": "x.jpg", "conversations": [{"from": "human", "value": "<image>\nHi"}, {"from": "gpt", "value": "Yo"}]}
    )
    assert one["images"] == ["x.jpg"] and one["kind"] == "image-instruction" and one["source_id"] == "7"
    assert one["chat"] == [{"role": "user", "content": "<image>\nHi"}, {"role": "assistant", "content": "Yo"}]
    assert "turn_fields" not in one
    none = llava({"id": "t", "conversations": [{"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Yo"}]})
    assert none["images"] == [] and none["kind"] == "text"
    with pytest.raises(FormatError, match="robot") as error:
        llava({"conversations": [{"from": "robot", "value": "x"}]})
    assert error.value.path == "conversations/0/from"


def test_sharegpt_messages_and_conversations_spellings():
    a = sharegpt(
        {
            "messages": [{"role": "user", "content": "<audio><audio>hi"}, {"role": "assistant", "content": "yo"}],
            "audios": ["a.wav", "b.wav"],
        }
    )
    assert a["kind"] == "multi-audio" and a["audios"] == ["a.wav", "b.wav"]
    b = sharegpt({"conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "yo"}], "system": "Be kind."})
    assert [t["role"] for t in b["chat"]] == ["system", "user", "assistant"]


def test_bad_json_lines_become_items_with_errors(tmp_path):
    path = write_jsonl(
        tmp_path / "x.jsonl", [{"context": "c", "filename": "a.wav", "chat": chat(("Q?", "A."))}, "{not json", '["a list"]']
    )
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
    pq.write_table(
        pa.Table.from_pylist([{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}]),
        tmp_path / "sg.parquet",
    )
    assert detect(tmp_path / "sg.parquet") == "sharegpt"
    pq.write_table(
        pa.Table.from_pylist(
            [{"kind": "text", "chat": [{"role": "user", "content": "hi"}], "generation": json.dumps({"model": "m"})}]
        ),
        tmp_path / "ours.parquet",
    )
    source = open_source(tmp_path / "ours.parquet")
    assert source.format == "mmdata"
    (item,) = source.items
    assert item.record["generation"] == {"model": "m"}


def test_llava_value_ms_is_the_malay_side_and_other_turn_fields_are_kept():
    record = llava(
        {
            "id": "a1",
            "image": "x.jpg",
            "model": "gpt-4",
            "conversations": [
                {"from": "human", "value": "<image>\nWhat is it?", "value_ms": "<image>\nApakah ini?", "lang": "en"},
                {"from": "gpt", "value": "A cat.", "value_ms": "Seekor kucing."},
            ],
        }
    )
    assert record["chat"] == [
        {"role": "user", "content": "<image>\nWhat is it?", "content_ms": "<image>\nApakah ini?"},
        {"role": "assistant", "content": "A cat.", "content_ms": "Seekor kucing."},
    ]
    assert record["turn_fields"] == [{"lang": "en"}, {}]
    assert record["model"] == "gpt-4" and record["source_id"] == "a1"


def test_reference_turn_fields_are_kept():
    record = audio_instruction(
        {
            "filename": "a.mp3",
            "chat": [{"role": "user", "content": "Q?", "speaker": "host"}, {"role": "assistant", "content": "A.", "score": 0.9}],
        }
    )
    assert record["turn_fields"] == [{"speaker": "host"}, {"score": 0.9}]
    assert "turn_fields" not in audio_instruction({"filename": "a.mp3", "chat": chat(("Q?", "A."))})


def test_relationship_without_files_is_refused_by_rule():
    with pytest.raises(FormatError) as error:
        relationship({"filename": [], "instruction": "Related?", "answer": "No."})
    assert (error.value.path, error.value.rule) == ("filename", "no-media")


def test_sharegpt_maps_id_system_tools_tool_roles_and_keeps_videos():
    record = sharegpt(
        {
            "id": 12,
            "system": "Use tools.",
            "tools": '[{"name": "weather"}]',
            "videos": ["v.mp4"],
            "source": "web",
            "conversations": [
                {"from": "human", "value": "Rain?"},
                {"from": "function_call", "value": "{}"},
                {"from": "observation", "value": "{}", "latency": 3},
                {"from": "gpt", "value": "Yes."},
            ],
        }
    )
    assert [t["role"] for t in record["chat"]] == ["system", "user", "function_call", "observation", "assistant"]
    assert record["chat"][0]["content"] == "Use tools."
    assert record["turn_fields"] == [{}, {}, {}, {"latency": 3}, {}]
    assert (record["source_id"], record["tools"], record["videos"], record["input_source"]) == (
        "12",
        '[{"name": "weather"}]',
        ["v.mp4"],
        "web",
    )
    assert "id" not in record and "system" not in record


def test_sharegpt_system_turn_wins_over_the_system_column_which_is_kept():
    record = sharegpt(
        {
            "system": "column",
            "messages": [
                {"role": "system", "content": "turn"},
                {"role": "user", "content": "hi"},
                {"role": "assistant", "content": "yo", "content_ms": "hai"},
            ],
        }
    )
    assert record["chat"][0] == {"role": "system", "content": "turn"} and record["system"] == "column"
    assert record["chat"][2]["content_ms"] == "hai"


def test_sharegpt_unknown_role_names_the_turn():
    with pytest.raises(FormatError, match="robot") as error:
        sharegpt({"messages": [{"role": "user", "content": "hi"}, {"role": "robot", "content": "yo"}]})
    assert error.value.path == "messages/1/role"


def test_a_sharegpt_row_with_an_id_is_not_taken_for_llava():
    row = {"id": 1, "conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "yo"}], "system": "S"}
    assert layout_of(row).name == "sharegpt"
    assert layout_of({"id": 1, "conversations": []}).name == "llava"


def _dataset_info(folder, entry):
    (folder / "dataset_info.json").write_text(json.dumps({"mine": entry}))


def test_dataset_info_beside_the_file_names_columns_and_role_tags(tmp_path):
    path = tmp_path / "dialogs.json"
    path.write_text(
        json.dumps(
            [
                {
                    "dialog": [
                        {"speaker": "asker", "text": "<image>Who?"},
                        {"speaker": "tool", "text": "{}"},
                        {"speaker": "result", "text": "{}"},
                        {"speaker": "bot", "text": "Kane."},
                    ],
                    "pics": ["a.png"],
                    "prompt": "Be brief.",
                    "funcs": "[]",
                }
            ]
        )
    )
    _dataset_info(
        tmp_path,
        {
            "file_name": "dialogs.json",
            "formatting": "sharegpt",
            "columns": {"messages": "dialog", "images": "pics", "system": "prompt", "tools": "funcs"},
            "tags": {
                "role_tag": "speaker",
                "content_tag": "text",
                "user_tag": "asker",
                "assistant_tag": "bot",
                "function_tag": "tool",
                "observation_tag": "result",
            },
        },
    )
    assert detect(path) == "sharegpt"
    source = open_source(path)
    assert tmp_path / "dataset_info.json" in source.files
    (item,) = source.items
    record = item.record
    assert [t["role"] for t in record["chat"]] == ["system", "user", "function_call", "observation", "assistant"]
    assert (record["images"], record["tools"], record["kind"]) == (["a.png"], "[]", "image-instruction")
    assert not {"dialog", "pics", "prompt", "funcs"} & set(record)


def test_dataset_info_conversations_with_role_and_content(tmp_path):
    path = write_jsonl(
        tmp_path / "c.jsonl", [{"conversations": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}]
    )
    _dataset_info(
        tmp_path,
        {
            "file_name": "c.jsonl",
            "formatting": "sharegpt",
            "columns": {"messages": "conversations"},
            "tags": {"role_tag": "role", "content_tag": "content", "user_tag": "user", "assistant_tag": "assistant"},
        },
    )
    (item,) = open_source(path).items
    assert item.record["chat"] == [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]


def test_dataset_info_defaults_are_llama_factorys(tmp_path):
    """An entry that names no tags means from/value/human/gpt, as in LLaMA-Factory."""
    path = write_jsonl(
        tmp_path / "g.jsonl", [{"conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "yo"}]}]
    )
    _dataset_info(tmp_path, {"file_name": "g.jsonl", "formatting": "sharegpt"})
    (item,) = open_source(path).items
    assert [t["role"] for t in item.record["chat"]] == ["user", "assistant"]


@pytest.mark.parametrize(
    "entry,message",
    [
        ({"formatting": "alpaca"}, "formatting 'alpaca'"),
        ({}, "formatting 'alpaca'"),
        ({"formatting": "openai"}, "formatting 'openai'"),
        ({"formatting": "sharegpt", "ranking": True}, "preference data"),
        ({"formatting": "sharegpt", "columns": {"kto_tag": "label"}}, "preference data"),
    ],
)
def test_dataset_info_formats_we_do_not_read_are_refused(tmp_path, entry, message):
    path = write_jsonl(tmp_path / "a.jsonl", [{"instruction": "x", "output": "y"}])
    _dataset_info(tmp_path, {"file_name": "a.jsonl", **entry})
    with pytest.raises(InputError, match=message):
        detect(path)
    with pytest.raises(InputError, match=message):
        open_source(path, format="sharegpt")
    assert open_source(path, format="mmdata").format == "mmdata"  # another --format ignores the entry


def test_dataset_info_for_other_files_is_ignored(tmp_path):
    path = write_jsonl(
        tmp_path / "x.jsonl", [{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}]
    )
    _dataset_info(tmp_path, {"file_name": "other.json", "formatting": "alpaca"})
    assert detect(path) == "sharegpt"
    assert tmp_path / "dataset_info.json" not in open_source(path).files
    (tmp_path / "dataset_info.json").write_text("{broken")
    with pytest.raises(InputError, match="dataset_info.json: invalid JSON"):
        detect(path)


def test_input_fields_named_like_store_columns_are_kept_under_input_names():
    from mmdata.formats.llava import llava
    from mmdata.formats.sharegpt import sharegpt

    row = {
        "id": "1",
        "source": "coco",
        "key": "k9",
        "extra": "x",
        "generation": "v2",
        "conversations": [{"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Hello"}],
    }
    record = llava(row)
    assert {record[k] for k in ("input_source", "input_key", "input_extra", "input_generation")} == {"coco", "k9", "x", "v2"}
    assert "key" not in record and "extra" not in record and "source" not in record
    kept = sharegpt(
        {
            "messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Yo"}],
            "source": ["abc"],
            "generation": {"model": "m"},
        }
    )
    assert kept["source"] == ["abc"] and kept["generation"] == {"model": "m"}


# --- base / native / folder readers: bad bytes, NaN, broken files (tests/robustness covers every class through the CLI)


def test_jsonl_reader_skips_a_bom_and_rejects_bad_bytes_nan_and_repeated_keys(tmp_path):
    from mmdata.formats.base import read_json_items

    path = tmp_path / "rows.jsonl"
    path.write_bytes(
        b'\xef\xbb\xbf{"a": 1}\n{"a": "caf\xe9"}\n{"a": {"b": [NaN]}}\n{"a": 1, "a": 2}\n'
        + b'{"a": '
        + b"[" * 100
        + b"]" * 100
        + b"}\n"
    )
    rows = dict(read_json_items(path))
    assert rows[1] == {"a": 1}
    assert (rows[2].rule, rows[2].path) == ("encoding", "$")
    assert (rows[3].rule, rows[3].path) == ("json-nonfinite", "a/b/0")
    assert rows[4].rule == "format" and "'a' is given twice" in str(rows[4])
    assert "deeper than 64" in str(rows[5])


def test_json_array_reader_names_the_line_of_a_bad_byte(tmp_path):
    from mmdata.formats.base import read_json_items

    path = tmp_path / "rows.json"
    path.write_bytes(b'[\n{"a": 1},\n{"a": "\xff"}\n]')
    ((line, error),) = list(read_json_items(path))
    assert line == 3 and error.rule == "encoding"


def test_native_extra_is_parsed_strictly():
    from mmdata.formats.base import FormatError
    from mmdata.formats.native import native

    assert native({"kind": "text", "extra": '{"score": 1}'})["score"] == 1
    for extra, path in (("{broken", "extra"), ('{"score": NaN}', "extra/score"), ("[1]", "extra")):
        with pytest.raises(FormatError) as caught:
            native({"kind": "text", "extra": extra})
        assert caught.value.path == path


def test_parquet_reader_refuses_a_truncated_file_and_rejects_nan(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from mmdata.errors import InputError
    from mmdata.formats.containers import parquet_rows

    pq.write_table(pa.table({"kind": ["text", "text"], "score": [1.0, float("nan")]}), tmp_path / "a.parquet")
    rows = list(parquet_rows(tmp_path / "a.parquet"))
    assert rows[0][1]["score"] == 1.0 and (rows[1][1].rule, rows[1][1].path) == ("json-nonfinite", "score")
    data = (tmp_path / "a.parquet").read_bytes()
    (tmp_path / "cut.parquet").write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="cut.parquet"):
        list(parquet_rows(tmp_path / "cut.parquet"))


def test_folder_csv_with_bom_bad_bytes_and_surplus_values(tmp_path):
    from mmdata.formats.folder import folder_items

    make_png(tmp_path / "x.png")
    make_png(tmp_path / "y.png")
    make_png(tmp_path / "z.png")
    (tmp_path / "metadata.csv").write_bytes(b"\xef\xbb\xbffile,caption\nx.png,red\ny.png,caf\xe9\nz.png,a,b\n")
    items = {item.line: item for item in folder_items(tmp_path) if item.line}
    assert items[2].record == {"caption": "red", "media_id": "x.png"}
    assert (items[3].error.rule, items[3].error.path) == ("encoding", "caption")
    assert "3 values for 2 columns" in str(items[4].error)


@pytest.mark.parametrize("content", [b"[" * 100_000 + b"]" * 100_000, b"\xff\xfe{}", b'{"a": NaN}', b"not json", b"[1, 2]"])
def test_a_broken_dataset_info_json_is_one_error(tmp_path, content):
    from mmdata.formats import open_source

    data = tmp_path / "data.json"
    data.write_text('[{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Yo"}]}]')
    (tmp_path / "dataset_info.json").write_bytes(content)
    with pytest.raises(InputError, match="dataset_info.json"):
        open_source(data)
