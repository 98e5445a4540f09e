"""Our sharegpt exports, read by LLaMA-Factory's own loader (``make test`` installs llamafactory).

LLaMA-Factory reads a dataset in two steps: ``load_dataset("json")`` on the file its
``dataset_info.json`` names, then ``align_dataset``, whose sharegpt converter turns each row
into ``_prompt`` / ``_response`` / ``_system`` / ``_tools`` / media. ``_get_merged_dataset`` runs
both and needs no tokenizer or model, so the tests call it: first on LLaMA-Factory's own demo
files, then on our export of them, and compare what it sees.
"""

from __future__ import annotations

import hashlib
import json
import sys
import types
from pathlib import Path
from types import SimpleNamespace

import pytest

from mmdata.exporters import export
from mmdata.importing import import_
from mmdata.querying import query
from mmdata.store.lake import Store

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "llamafactory"
DEMOS = {
    "mllm_demo": "mllm_demo.json",
    "mllm_audio_demo": "mllm_audio_demo.json",
    "glaive_toolcall_en_demo": "glaive_toolcall_en_demo.json",
}


@pytest.fixture(scope="module")
def merged_dataset():
    """LLaMA-Factory's ``_get_merged_dataset``, imported without ``llamafactory/data/__init__.py``.

    That ``__init__`` also loads the collator and the multimodal plugins (torchaudio,
    torchvision), which the data path does not use and the test venv does not have.
    """
    try:
        import llamafactory
    except ImportError:  # pragma: no cover - make test installs it
        pytest.fail("llamafactory is not installed; `make test` installs it (pip install --no-deps llamafactory peft)")
    if "llamafactory.data.loader" not in sys.modules:
        package = types.ModuleType("llamafactory.data")
        package.__path__ = [str(Path(llamafactory.__file__).parent / "data")]
        sys.modules.setdefault("llamafactory.data", package)
    from llamafactory.data.loader import _get_merged_dataset

    return _get_merged_dataset


@pytest.fixture
def lf_read(merged_dataset, tmp_path, monkeypatch):
    """``lf_read(folder, name)``: the rows LLaMA-Factory aligns from dataset ``name`` of ``folder``'s dataset_info.json."""
    import datasets.config

    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(datasets.config, "HF_DATASETS_OFFLINE", True)

    def read(folder: Path, name: str) -> list[dict]:
        model_args = SimpleNamespace(cache_dir=str(tmp_path / "hf-cache"), hf_hub_token=None)
        data_args = SimpleNamespace(
            dataset_dir=str(folder),
            media_dir=str(folder),
            streaming=False,
            max_samples=None,
            preprocessing_num_workers=None,
            overwrite_cache=True,
            mix_strategy="concat",
        )
        training_args = SimpleNamespace(local_process_index=0, seed=0, dataloader_num_workers=0)
        return list(merged_dataset([name], model_args, data_args, training_args, stage="sft"))

    return read


def _digest(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def seen(row: dict) -> dict:
    """What a training run gets from an aligned row; media by content (the paths differ)."""
    return {
        "prompt": row["_prompt"],
        "response": row["_response"],
        "system": row["_system"] or "",
        "tools": row["_tools"] or "",
        "images": [_digest(p) for p in row["_images"] or []],
        "audios": [_digest(p) for p in row["_audios"] or []],
        "videos": row["_videos"],
    }


def well_formed(rows: list[dict]) -> bool:
    """LLaMA-Factory keeps a row it cannot align, with an empty prompt and response ("abnormal example")."""
    return all(row["_prompt"] and row["_response"] for row in rows)


def records(store: Store, name: str) -> list[dict]:
    return query(f"SELECT * EXCLUDE (key) FROM {name} ORDER BY id", store).table.to_pylist()


@pytest.mark.parametrize("name", sorted(DEMOS))
def test_llama_factory_sees_our_export_as_it_sees_its_own_demo(name, lf_read, store, tmp_path):
    original = lf_read(FIXTURES, name)
    assert well_formed(original)
    result = import_(FIXTURES / DEMOS[name], name, store)
    assert (result.imported, result.rejected) == (len(original), 0)
    export(name, "sharegpt", tmp_path / "sg", store)
    exported = lf_read(tmp_path / "sg", name)
    assert well_formed(exported)
    # Exports are in id order; LLaMA-Factory's view of each row must match one of the demo's rows.
    assert sorted(map(json.dumps, map(seen, exported))) == sorted(map(json.dumps, map(seen, original)))


def test_round_trip_keeps_messages_system_tools_and_media(store, tmp_path):
    for file in DEMOS.values():
        import_(FIXTURES / file, "mixed", store)
    export("mixed", "sharegpt", tmp_path / "sg", store)
    other = Store(tmp_path / "other")
    back = import_(tmp_path / "sg" / "data.json", "mixed", other)
    assert back.rejected == 0
    assert records(other, "mixed") == records(store, "mixed")


def test_every_shape_loads_in_llama_factory(lf_read, store, tmp_path):
    """Image-only, audio-only, text-only and mixed exports each name only the columns their rows have."""
    text = tmp_path / "text.json"
    text.write_text(
        json.dumps(
            [
                {
                    "messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello."}],
                    "system": "Answer in one word.",
                }
            ]
        )
    )
    for file in DEMOS.values():
        import_(FIXTURES / file, "mixed", store)
    import_(text, "mixed", store)
    import_(text, "text", store)
    import_(FIXTURES / "mllm_demo.json", "images", store)
    import_(FIXTURES / "mllm_audio_demo.json", "audios", store)
    expected = {
        "images": ({"messages", "images"}, 6),
        "audios": ({"messages", "audios"}, 3),
        "text": ({"messages"}, 1),
        "mixed": ({"messages", "images", "audios", "tools"}, 13),
    }
    for name, (columns, count) in expected.items():
        export(name, "sharegpt", tmp_path / name, store)
        info = json.loads((tmp_path / name / "dataset_info.json").read_text())
        assert set(info[name]["columns"]) == columns
        rows = lf_read(tmp_path / name, name)
        assert len(rows) == count and well_formed(rows), name
    (row,) = lf_read(tmp_path / "text", "text")
    assert row["_system"] == "Answer in one word."


def test_tool_calls_keep_their_roles(lf_read, store, tmp_path):
    import_(FIXTURES / "glaive_toolcall_en_demo.json", "tools", store)
    export("tools", "sharegpt", tmp_path / "sg", store)
    rows = lf_read(tmp_path / "sg", "tools")
    roles = {m["role"] for row in rows for m in row["_prompt"] + row["_response"]}
    assert roles == {"user", "assistant", "function", "observation"}  # LLaMA-Factory's Role values
    assert sum(bool(row["_tools"]) for row in rows) == 3


def test_video_demo_is_refused_by_name(store):
    result = import_(FIXTURES / "mllm_video_demo.json", "video", store)
    assert (result.imported, result.rejected) == (0, 3)
    assert result.rejects_by_rule == {"video-unsupported": 6}  # the videos field and the <video> placeholder
    assert {s["field_path"] for s in result.reject_samples} == {"videos", "chat/0/content"}
