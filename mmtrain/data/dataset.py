"""Packed training rows: whole samples side by side, media loaded when a row is asked for.

Every record is tokenized up front (its length, media included, is known before any media is
loaded: an audio clip's length only needs its sample count), then packed. A row's media are in
placeholder order, so the model can splice them over the pad tokens in sequence; rows without
media carry no media keys at all (no dummy image or silence).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from mmtrain import silent
from mmtrain.data.encoded import encode_records
from mmtrain.data.media import audio_features, load_audio, load_image
from mmtrain.data.packing import pack, packing_efficiency
from mmtrain.data.records import Record
from mmtrain.data.template import IGNORE
from mmtrain.errors import ConfigError, DataError
from mmtrain.tokens import MediaLayout

_SHOWN = 5


class PackedDataset(torch.utils.data.Dataset):
    """Rows of packed samples, each at most ``max_length`` tokens.

    ``overlong="skip"`` leaves out samples longer than ``max_length`` (their ids in ``skipped``);
    ``"error"`` raises a ``DataError`` naming them. Samples with no token to learn (no assistant
    reply under ``train_on="assistant"``) are left out too and listed in ``no_loss``. ``lengths``
    holds every record's token count, ``efficiency`` the share of row positions that are real tokens.
    ``audio_lengths`` (path -> samples at 16 kHz) is a cache filled as clips are measured; pass
    the same dict to several datasets to decode each clip once. ``cache_dir`` keeps the token ids
    on disk (``mmtrain.data.encoded``), so a second run or another rank skips tokenizing.
    """

    def __init__(
        self,
        records: list[Record],
        tokenizer,
        image_processor,
        feature_extractor,
        layout: MediaLayout,
        max_length: int = 8192,
        train_on: str = "assistant",
        chat_template: str | None = None,
        overlong: str = "skip",
        audio_lengths: dict[str, int] | None = None,
        cache_dir: str | Path | None = None,
        progress=silent,
    ):
        if overlong not in ("skip", "error"):
            raise ConfigError(f"overlong must be 'skip' or 'error', not {overlong!r}")
        self.records, self.layout = records, layout
        self.image_processor, self.feature_extractor = image_processor, feature_extractor
        self.max_length = max_length
        self.audio_lengths = {} if audio_lengths is None else audio_lengths
        # int32 arrays rather than lists: a Python int per token would cost ~36 bytes on a large mixture.
        self._ids, self._labels, _ = encode_records(
            records, tokenizer, layout, train_on, chat_template, self.audio_lengths, cache_dir, progress
        )
        self.lengths = [len(a) for a in self._ids]  # tokens per record, media included
        # lab[0] is masked in every row (see __getitem__), so a sample needs a labelled token after it.
        learnable = [bool((lab[1:] != IGNORE).any()) for lab in self._labels]
        keep = [i for i, ok in enumerate(learnable) if ok]
        self.no_loss = [rec.id for rec, ok in zip(records, learnable) if not ok]
        bins, overlong_idx = pack([self.lengths[i] for i in keep], max_length)
        self.bins = [[keep[j] for j in b] for b in bins]
        too_long = [keep[j] for j in overlong_idx]
        self._skipped = [records[i].id for i in too_long]
        if too_long and overlong == "error":
            shown = ", ".join(
                f"{records[i].file}:{records[i].line} {records[i].id} ({self.lengths[i]} tokens)" for i in too_long[:_SHOWN]
            )
            more = f" and {len(too_long) - _SHOWN} more" if len(too_long) > _SHOWN else ""
            raise DataError(
                f"{len(too_long)} record(s) longer than max_length={max_length}: {shown}{more}; "
                "raise max_length or set overlong=skip"
            )
        self.efficiency = packing_efficiency(self.lengths, self.bins, max_length)

    @property
    def skipped(self) -> list[str]:
        """Ids of the records left out for being longer than ``max_length``."""
        return self._skipped

    def __len__(self) -> int:
        return len(self.bins)

    def __getitem__(self, index: int) -> dict:
        """One packed row: ``input_ids``, ``labels``, ``position_ids`` (L,), ``sample_ids``, and media if any."""
        idx = self.bins[index]
        labels = []
        for i in idx:
            lab = self._labels[i].copy()
            lab[0] = IGNORE  # its target would be predicted from the previous sample's last token
            labels.append(lab)
        row = {
            "input_ids": torch.from_numpy(np.concatenate([self._ids[i] for i in idx])).long(),
            "labels": torch.from_numpy(np.concatenate(labels)).long(),
            "position_ids": torch.cat([torch.arange(len(self._ids[i])) for i in idx]),
            "sample_ids": [self.records[i].id for i in idx],
        }
        images = [load_image(p, self.image_processor) for i in idx for p in self.records[i].images]
        if images:
            row["pixel_values"] = torch.stack(images)
        feats, windows = [], []
        for i in idx:
            for path in self.records[i].audios:
                samples = load_audio(path)
                if len(samples) != self.audio_lengths[path]:
                    raise DataError(
                        f"{path}: {len(samples)} samples now, {self.audio_lengths[path]} when measured; "
                        "was the file changed during training?"
                    )
                f, w = audio_features(samples, self.feature_extractor, self.layout)
                feats.append(f)
                windows += w
        if feats:
            row["audio_features"] = torch.cat(feats)
            row["audio_window_samples"] = torch.tensor(windows, dtype=torch.long)
        return row


def collate(rows: list[dict], pad_token_id: int) -> dict:
    """Stack packed rows into a batch padded to the longest, media concatenated in row order.

    Padding gets ``pad_token_id``, no loss, and position ids of its own from 0, so the model sees
    it as one more (ignored) sample. ``attention_mask`` stays absent: the restarting position ids
    let the model build the block-diagonal causal mask.
    """
    if pad_token_id is None:
        raise ConfigError("the tokenizer has no pad token; set one (e.g. its end-of-text token)")
    length = max(len(r["input_ids"]) for r in rows)
    batch = {key: [] for key in ("input_ids", "labels", "position_ids")}
    for r in rows:
        pad = length - len(r["input_ids"])
        batch["input_ids"].append(torch.cat([r["input_ids"], torch.full((pad,), pad_token_id, dtype=torch.long)]))
        batch["labels"].append(torch.cat([r["labels"], torch.full((pad,), IGNORE, dtype=torch.long)]))
        batch["position_ids"].append(torch.cat([r["position_ids"], torch.arange(pad)]))
    out = {key: torch.stack(v) for key, v in batch.items()}
    out["sample_ids"] = [r["sample_ids"] for r in rows]
    for key in ("pixel_values", "audio_features", "audio_window_samples"):
        present = [r[key] for r in rows if key in r]
        if present:
            out[key] = torch.cat(present)
    return out
