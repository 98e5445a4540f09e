import os

import numpy as np
import pytest

import mmtrain.data.encoded as encoded
from mmtrain.data.records import read_records
from tests.mmtrain.data.conftest import LONG, MULTI, TEXT, write_export


def test_cache_skips_tokenizing_and_decoding_and_notices_a_changed_clip(tmp_path, tokenizer, layout, monkeypatch):
    folder = write_export(tmp_path / "export", [MULTI, TEXT, LONG])
    records = read_records(folder)
    seen = []
    ids, labels, lengths = encoded.encode_records(
        records,
        tokenizer,
        layout,
        cache_dir=tmp_path / "cache",
        progress=lambda task, done, total=None, note=None: seen.append(task),
    )
    assert {"measuring audio", "tokenizing"} <= set(seen) and len(lengths) == 3
    assert len(list((tmp_path / "cache").glob("*.npz"))) == 1

    def no_decoding(path):
        raise AssertionError("decoded again")

    monkeypatch.setattr(encoded, "load_audio", no_decoding)
    monkeypatch.setattr(encoded, "encode_conversation", no_decoding)
    again = encoded.encode_records(records, tokenizer, layout, cache_dir=tmp_path / "cache")
    assert all((a == b).all() for a, b in zip(again[0], ids)) and all((a == b).all() for a, b in zip(again[1], labels))
    assert again[2] == lengths and all(a.dtype == np.int32 for a in again[0])

    clip = folder / "media" / "short.wav"
    os.utime(clip, ns=(clip.stat().st_atime_ns, clip.stat().st_mtime_ns + 10**9))  # a replaced clip: a new key
    with pytest.raises(AssertionError, match="decoded again"):
        encoded.encode_records(records, tokenizer, layout, cache_dir=tmp_path / "cache")


def test_a_process_pool_gives_the_same_encoding_and_names_a_bad_record(tmp_path, tokenizer, layout):
    folder = write_export(tmp_path / "export", [MULTI, TEXT, LONG] * 3)
    records = read_records(folder)
    alone = encoded.encode_records(records, tokenizer, layout)
    pooled = encoded.encode_records(records, tokenizer, layout, workers=2, parallel_from=0)
    assert all((a == b).all() for a, b in zip(alone[0], pooled[0])) and len(pooled[0]) == 9
    assert all((a == b).all() for a, b in zip(alone[1], pooled[1]))
    from mmtrain.errors import DataError
    from mmtrain.tiny import build_tiny_tokenizer

    with pytest.raises(DataError, match=r"train.jsonl:1: record multi: expected 32 <\|image_pad\|>"):
        encoded.encode_records(records, build_tiny_tokenizer(), layout, workers=2, parallel_from=0)
