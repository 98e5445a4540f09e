import json

import pytest

from mmdata.errors import InputError
from mmdata.exporters import export
from mmdata.importing import import_
from mmdata.querying import query
from mmdata.store.lake import Store
from mmdata.store.tables import from_row
from tests.conftest import SAMPLES, write_jsonl

# Each test that uses the store fixture runs on a local and on a team store (PostgreSQL + S3).
pytestmark = pytest.mark.both_stores


@pytest.fixture
def filled(store):
    import_(SAMPLES / "relationships.jsonl", "rel", store)
    import_(SAMPLES / "audio_instructions.jsonl", "talk", store)
    import_(SAMPLES / "images", "pics", store)
    return store


def records(store, name):
    return query(f"SELECT * EXCLUDE (key) FROM {name} ORDER BY id", store).table.to_pylist()


def as_record(row):
    return from_row("conversation", row)


@pytest.mark.parametrize("dataset", ["rel", "pics"])
def test_jsonl_round_trip_into_a_new_store_gives_the_same_records(filled, tmp_path, dataset):
    result = export(dataset, "jsonl", tmp_path / "out", filled)
    assert json.loads((tmp_path / "out" / "mmdata.json").read_text())["version"] == 1
    other = Store(tmp_path / "other")
    back = import_(tmp_path / "out" / "data.jsonl", dataset, other)
    assert back.imported == result["records"] and back.rejected == 0
    assert records(other, dataset) == records(filled, dataset)


def test_hf_export_decodes_real_media_and_round_trips(filled, tmp_path):
    import datasets

    export("rel", "hf", tmp_path / "hf", filled)
    loaded = datasets.load_from_disk(str(tmp_path / "hf"))
    assert len(loaded) == 2 and set(loaded.column_names) >= {"chat", "images", "audios", "kind"}
    multi_image = next(row for row in loaded if row["kind"] == "multi-image")
    assert [image.size for image in multi_image["images"]] == [(64, 64), (64, 64)]
    multi_audio = next(row for row in loaded if row["kind"] == "multi-audio")
    samples = multi_audio["audios"][0].get_all_samples()
    assert samples.sample_rate == 16000 and samples.data.shape[-1] == 16000  # kompang.wav: 1.0 s
    other = Store(tmp_path / "other")
    assert import_(tmp_path / "hf", "rel", other).imported == 2
    assert records(other, "rel") == records(filled, "rel")


def test_hf_export_of_image_records(filled, tmp_path):
    import datasets

    export("pics", "hf", tmp_path / "hf", filled)
    loaded = datasets.load_from_disk(str(tmp_path / "hf"))
    assert loaded[0]["image"].size == (64, 64) and loaded.features["image"].__class__.__name__ == "Image"


def test_sharegpt_export_is_registered_for_llama_factory(filled, tmp_path):
    result = export("rel", "sharegpt", tmp_path / "sg", filled)
    info = json.loads((tmp_path / "sg" / "dataset_info.json").read_text())
    assert info["rel"]["formatting"] == "sharegpt" and info["rel"]["columns"]["audios"] == "audios"
    rows = json.loads((tmp_path / "sg" / "data.json").read_text())
    assert len(rows) == result["records"] == 2
    for row in rows:
        for path in row.get("images", []) + row.get("audios", []):
            assert (tmp_path / "sg" / path).is_file()
        user = row["messages"][0]["content"]
        assert user.count("<image>") == len(row.get("images", [])) and user.count("<audio>") == len(row.get("audios", []))


def test_llava_export_writes_media_beside_and_malay_side(filled, tmp_path):
    export("talk", "llava", tmp_path / "en", filled)
    rows = json.loads((tmp_path / "en" / "data.json").read_text())
    assert rows[0]["conversations"][0]["from"] == "human" and (tmp_path / "en" / rows[0]["audio"]).is_file()
    result = export("talk", "llava", tmp_path / "ms", filled, language="ms")
    rows = json.loads((tmp_path / "ms" / "data.json").read_text())
    assert result["records"] == 2 and all(r["conversations"][0]["value"].startswith("<audio>") for r in rows)
    assert "Apakah" in json.dumps(rows, ensure_ascii=False)


def test_export_refuses_bad_requests(filled, tmp_path):
    with pytest.raises(InputError, match="unknown export format"):
        export("rel", "csv", tmp_path / "x", filled)
    with pytest.raises(InputError, match="holds image records"):
        export("pics", "llava", tmp_path / "x", filled)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "f").write_text("x")
    with pytest.raises(InputError, match="not empty"):
        export("rel", "jsonl", tmp_path / "full", filled)


def test_hf_parquet_with_embedded_media_imports(filled, tmp_path):
    import datasets

    export("rel", "hf", tmp_path / "hf", filled)
    datasets.load_from_disk(str(tmp_path / "hf")).to_parquet(str(tmp_path / "rel.parquet"))
    other = Store(tmp_path / "other")
    result = import_(tmp_path / "rel.parquet", "rel", other)
    assert (result.imported, result.rejected) == (2, 0)
    assert records(other, "rel") == records(filled, "rel")


def test_llava_keeps_the_input_id_value_ms_and_turn_fields(store, media, tmp_path):
    rows = [
        {
            "id": "coco-1",
            "image": "img/a.png",
            "dataset": "coco",
            "conversations": [
                {"from": "human", "value": "<image>\nColour?", "value_ms": "<image>\nWarna?", "turn": 1},
                {"from": "gpt", "value": "Red.", "value_ms": "Merah."},
            ],
        },
        {
            "image": "img/b.png",
            "conversations": [{"from": "human", "value": "<image>\nColour?"}, {"from": "gpt", "value": "Blue."}],
        },
    ]
    (media / "llava.json").write_text(json.dumps(rows))
    assert import_(media / "llava.json", "pics", store, format="llava").imported == 2
    export("pics", "llava", tmp_path / "out", store)
    out = json.loads((tmp_path / "out" / "data.json").read_text())
    coco = next(r for r in out if r["id"] == "coco-1")
    assert coco["conversations"][0] == {"turn": 1, "from": "human", "value": "<image>\nColour?", "value_ms": "<image>\nWarna?"}
    (other,) = [r for r in out if r["id"] != "coco-1"]
    assert len(other["id"]) == 32  # no input id: the content hash
    again = Store(tmp_path / "again")
    assert import_(tmp_path / "out" / "data.json", "pics", again, format="llava").rejected == 0
    back = {r.get("source_id"): r for r in map(as_record, records(again, "pics"))}
    first = {r.get("source_id"): r for r in map(as_record, records(store, "pics"))}
    assert back["coco-1"]["turn_fields"] == [{"turn": 1}, {}] and back["coco-1"]["dataset"] == "coco"
    assert back["coco-1"]["chat"] == first["coco-1"]["chat"] and back["coco-1"]["chat"][1]["content_ms"] == "Merah."


def test_malay_placeholders_and_video_and_empty_relationships_are_rejected_by_rule(store, media):
    (media / "llava.json").write_text(
        json.dumps(
            [
                {
                    "id": 1,
                    "image": "img/a.png",
                    "conversations": [
                        {"from": "human", "value": "<image>\nWhat?", "value_ms": "<imej>\nApa?"},
                        {"from": "gpt", "value": "Red."},
                    ],
                },
                {"id": 2, "conversations": [{"from": "human", "value": "<img>\nWhat?"}, {"from": "gpt", "value": "Red."}]},
                {
                    "id": 3,
                    "video": "v.mp4",
                    "conversations": [{"from": "human", "value": "<video>\nWhat?"}, {"from": "gpt", "value": "Red."}],
                },
            ]
        )
    )
    result = import_(media / "llava.json", "pics", store, format="llava")
    assert result.rejected == 3
    rules = {(s["line"], s["field_path"], s["rule"]) for s in result.reject_samples}
    assert {
        (1, "chat/0/content_ms", "placeholder-unknown"),
        (2, "chat/0/content", "placeholder-unknown"),
        (3, "video", "video-unsupported"),
        (3, "chat/0/content", "video-unsupported"),
    } <= rules
    write_jsonl(media / "rel.jsonl", [{"filename": [], "instruction": "Related?", "answer": "No."}])
    result = import_(media / "rel.jsonl", "rel", store)
    assert result.rejects_by_rule == {"no-media": 1}


TOOL_CHAT = [
    {"role": "user", "content": "Rain in Ipoh?"},
    {"role": "function_call", "content": '{"name": "weather"}'},
    {"role": "observation", "content": '{"rain": true}'},
    {"role": "assistant", "content": "Yes."},
]


@pytest.fixture
def with_tools(store, tmp_path):
    path = write_jsonl(
        tmp_path / "tools.jsonl",
        [
            {"id": "t1", "messages": TOOL_CHAT, "tools": '[{"name": "weather"}]', "system": "Use tools."},
            {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello.", "content_ms": "Helo."}]},
        ],
    )
    assert import_(path, "tools", store).imported == 2
    return store


def test_sharegpt_export_writes_tools_system_ids_and_tool_roles(with_tools, tmp_path):
    export("tools", "sharegpt", tmp_path / "sg", with_tools)
    info = json.loads((tmp_path / "sg" / "dataset_info.json").read_text())["tools"]
    assert info["columns"] == {"messages": "messages", "tools": "tools"}  # no images/audios: no row has them
    assert (info["tags"]["function_tag"], info["tags"]["observation_tag"]) == ("function_call", "observation")
    rows = {r.get("id"): r for r in json.loads((tmp_path / "sg" / "data.json").read_text())}
    assert rows["t1"]["messages"] == [{"role": "system", "content": "Use tools."}, *TOOL_CHAT]
    assert rows["t1"]["tools"] == '[{"name": "weather"}]' and "tools" not in rows[None]
    assert rows[None]["messages"][1] == {"role": "assistant", "content": "Hello.", "content_ms": "Helo."}
    other = Store(tmp_path / "other")
    assert import_(tmp_path / "sg" / "data.json", "tools", other).rejected == 0
    assert records(other, "tools") == records(with_tools, "tools")


def test_llava_export_writes_tool_turns_with_their_tags(with_tools, tmp_path):
    export("tools", "llava", tmp_path / "llava", with_tools)
    rows = {r["id"]: r for r in json.loads((tmp_path / "llava" / "data.json").read_text())}
    assert [t["from"] for t in rows["t1"]["conversations"]] == ["system", "human", "function_call", "observation", "gpt"]


def test_mmtrain_export_leaves_tool_conversations_out_and_counts_them(with_tools, tmp_path):
    result = export("tools", "mmtrain", tmp_path / "mm", with_tools)
    assert (result["records"], result["skipped"], result["skipped_reasons"]) == (1, 1, {"tool-roles": 1})
    assert json.loads((tmp_path / "mm" / "mmdata.json").read_text())["skipped"] == {"tool-roles": 1}
    from mmtrain.data.records import read_records

    (record,) = read_records(tmp_path / "mm")
    assert [m["role"] for m in record.messages] == ["user", "assistant"]
