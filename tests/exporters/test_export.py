import json

import pytest

from mmdata.errors import InputError
from mmdata.exporters import export
from mmdata.importing import import_
from mmdata.querying import query
from mmdata.store.lake import Store
from tests.conftest import SAMPLES


@pytest.fixture
def filled(store):
    import_(SAMPLES / "relationships.jsonl", "rel", store)
    import_(SAMPLES / "audio_instructions.jsonl", "talk", store)
    import_(SAMPLES / "images", "pics", store)
    return store


def records(store, name):
    return query(f"SELECT * EXCLUDE (key) FROM {name} ORDER BY id", store).table.to_pylist()


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
