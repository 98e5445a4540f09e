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
    ids, labels, lengths = encoded.encode_records(records, tokenizer, layout, cache_dir=tmp_path / "cache",
                                                  progress=lambda task, done, total=None, note=None: seen.append(task))
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
