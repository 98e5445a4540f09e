import pytest
import torch

from mmtrain.data.dataset import PackedDataset, collate
from mmtrain.data.records import read_records
from mmtrain.data.template import IGNORE, encode_conversation
from mmtrain.errors import ConfigError, DataError
from mmtrain.tokens import AUDIO_PAD, IMAGE_PAD


@pytest.fixture(scope="module")
def parts(tokenizer, image_processor, feature_extractor, layout):
    return dict(tokenizer=tokenizer, image_processor=image_processor, feature_extractor=feature_extractor, layout=layout)


@pytest.fixture(scope="module")
def records(export):
    return {r.id: r for r in read_records(export)}


def starts(position_ids):
    return (position_ids == 0).nonzero().flatten().tolist()


def test_one_row_holds_all_samples(records, parts):
    recs = list(records.values())
    ds = PackedDataset(recs, **parts, max_length=4096)
    assert len(ds) == 1 and ds.skipped == [] and ds.no_loss == []
    row = ds[0]
    lengths = ds.lengths
    order = [recs.index(records[i]) for i in row["sample_ids"]]
    assert sorted(row["sample_ids"]) == ["long", "multi", "text"]
    assert [lengths[i] for i in order] == sorted(lengths, reverse=True)  # longest first
    assert len(row["input_ids"]) == len(row["labels"]) == len(row["position_ids"]) == sum(lengths)
    # positions restart at every sample; no label is predicted across a boundary
    bounds = starts(row["position_ids"])
    assert bounds == [0, lengths[order[0]], lengths[order[0]] + lengths[order[1]]]
    assert all(row["labels"][b] == IGNORE for b in bounds)
    # the row's media follow the samples' order, then each record's placeholder order
    per_record = {"long": [48000, 48000, None], "multi": [48000, 4800], "text": []}
    windows = [w for sid in row["sample_ids"] for w in per_record[sid]]
    assert len(row["audio_window_samples"]) == len(windows) == row["audio_features"].shape[0]
    assert all(w is None or w == got for w, got in zip(windows, row["audio_window_samples"].tolist()))
    assert row["pixel_values"].shape == (2, 3, 32, 32)
    assert row["pixel_values"][0, 0].mean() > 0.9 and row["pixel_values"][1, 2].mean() > 0.9  # red, then blue

    def pad(tok):
        return (row["input_ids"] == parts["tokenizer"].convert_tokens_to_ids(tok)).sum().item()

    assert pad(IMAGE_PAD) == 32
    assert pad(AUDIO_PAD) == sum(parts["layout"].audio_tokens(n) for n in ds.audio_lengths.values())


def test_labels_match_the_sample_encoding(records, parts):
    ds = PackedDataset([records["text"]], **parts, train_on="all")
    ids, labels = encode_conversation(records["text"].messages, parts["tokenizer"], parts["layout"], [], train_on="all")
    row = ds[0]
    assert row["input_ids"].tolist() == ids and row["labels"].tolist() == [IGNORE] + labels[1:]
    assert row["position_ids"].tolist() == list(range(len(ids)))
    assert not {"pixel_values", "audio_features", "audio_window_samples"} & row.keys()  # no dummy media


def test_rows_respect_max_length(records, parts):
    recs = list(records.values())
    lengths = PackedDataset(recs, **parts, max_length=4096).lengths
    ds = PackedDataset(recs, **parts, max_length=max(lengths))
    assert all(len(ds[i]["input_ids"]) <= max(lengths) for i in range(len(ds)))
    assert sorted(s for i in range(len(ds)) for s in ds[i]["sample_ids"]) == ["long", "multi", "text"]
    ids_a = [ds[i]["sample_ids"] for i in range(len(ds))]
    assert ids_a == [r["sample_ids"] for r in PackedDataset(recs, **parts, max_length=max(lengths))]


def test_overlong_skip_or_error(records, parts):
    recs = list(records.values())
    text_len = PackedDataset([records["text"]], **parts).lengths[0]
    ds = PackedDataset(recs, **parts, max_length=text_len)
    assert sorted(ds.skipped) == ["long", "multi"] and len(ds) == 1 and ds[0]["sample_ids"] == ["text"]
    with pytest.raises(DataError, match=r"2 record\(s\) longer than max_length=.*train.jsonl:1 multi"):
        PackedDataset(recs, **parts, max_length=text_len, overlong="error")
    with pytest.raises(ConfigError):
        PackedDataset(recs, **parts, overlong="truncate")


def test_record_without_reply_is_left_out(records, parts):
    from dataclasses import replace

    question = replace(records["text"], id="q", messages=records["text"].messages[:2])
    ds = PackedDataset([question, records["text"]], **parts)
    assert ds.no_loss == ["q"] and [ds[i]["sample_ids"] for i in range(len(ds))] == [["text"]]


def test_collate_rows_with_and_without_media(records, parts):
    text_row = PackedDataset([records["text"]], **parts)[0]
    multi_row = PackedDataset([records["multi"]], **parts)[0]
    pad_id = parts["tokenizer"].pad_token_id
    batch = collate([text_row, multi_row], pad_id)
    n_text, n_multi = len(text_row["input_ids"]), len(multi_row["input_ids"])
    assert batch["input_ids"].shape == batch["labels"].shape == batch["position_ids"].shape == (2, n_multi)
    assert "attention_mask" not in batch and batch["sample_ids"] == [["text"], ["multi"]]
    assert (batch["input_ids"][0, n_text:] == pad_id).all() and (batch["labels"][0, n_text:] == IGNORE).all()
    assert batch["position_ids"][0, n_text:].tolist() == list(range(n_multi - n_text))  # padding: one more sample
    assert torch.equal(batch["input_ids"][1], multi_row["input_ids"])
    assert torch.equal(batch["pixel_values"], multi_row["pixel_values"])
    assert batch["audio_window_samples"].tolist() == [48000, 4800] and batch["audio_features"].shape == (2, 80, 300)
    only_text = collate([text_row, text_row], pad_id)
    assert not {"pixel_values", "audio_features", "audio_window_samples"} & only_text.keys()
    assert only_text["input_ids"].dtype == only_text["labels"].dtype == only_text["position_ids"].dtype == torch.long
    with pytest.raises(ConfigError):
        collate([text_row], None)
