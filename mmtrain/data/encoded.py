"""Every record's token ids and labels, computed once per mixture, tokenizer and options, kept on disk.

A large mixture takes minutes to tokenize and to measure its audio (each clip is decoded once
to count its samples); the cache makes a second run, a resumed run and every extra rank start in
seconds. Clips are measured on a thread pool (PyAV decodes without holding the GIL).
"""

from __future__ import annotations

import hashlib
import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from mmtrain.data.media import load_audio
from mmtrain.data.records import Record
from mmtrain.data.template import encode_conversation
from mmtrain.errors import DataError
from mmtrain.tokens import MediaLayout

_VERSION = 1  # bump when the encoding itself changes


def measure_audio(paths, known: dict[str, int], progress=lambda *a, **k: None) -> dict[str, int]:
    """Samples at 16 kHz of every clip in ``paths`` not yet in ``known`` (filled in place)."""
    todo = sorted({p for p in paths if p not in known})
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        for n, (path, samples) in enumerate(zip(todo, pool.map(lambda p: len(load_audio(p)), todo)), start=1):
            known[path] = samples
            progress("measuring audio", n, len(todo))
    return known


def _fingerprint(records: list[Record], tokenizer, layout: MediaLayout, train_on: str, chat_template: str | None) -> str:
    digest = hashlib.sha256()
    backend = getattr(tokenizer, "backend_tokenizer", None)
    parts = [_VERSION, repr(layout), train_on, chat_template or getattr(tokenizer, "chat_template", None),
             backend.to_str() if backend is not None else repr(tokenizer.get_vocab())]
    digest.update(json.dumps(parts, sort_keys=True, default=str).encode())
    for rec in records:
        digest.update(json.dumps([rec.id, rec.messages, rec.audios], ensure_ascii=False).encode())
    for path in sorted({p for rec in records for p in rec.audios}):  # a replaced clip changes its length
        stat = os.stat(path)
        digest.update(f"{path}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:24]


def encode_records(records: list[Record], tokenizer, layout: MediaLayout, train_on: str = "assistant",
                   chat_template: str | None = None, audio_lengths: dict[str, int] | None = None,
                   cache_dir: str | Path | None = None, progress=lambda *a, **k: None):
    """``(ids, labels, audio_lengths)``: int32 arrays per record, and samples per clip.

    With ``cache_dir`` the result is read from / written to ``<cache_dir>/<fingerprint>.npz``.
    """
    audio_lengths = {} if audio_lengths is None else audio_lengths
    cache = None
    if cache_dir is not None:
        cache = Path(cache_dir) / f"{_fingerprint(records, tokenizer, layout, train_on, chat_template)}.npz"
        if cache.exists():
            with np.load(cache, allow_pickle=False) as saved:
                offsets = saved["offsets"]
                ids = np.split(saved["ids"], offsets[1:-1])
                labels = np.split(saved["labels"], offsets[1:-1])
                audio_lengths.update(json.loads(str(saved["audio_lengths"])))
            return ids, labels, audio_lengths
    measure_audio([p for rec in records for p in rec.audios], audio_lengths, progress)
    ids, labels = [], []
    for n, rec in enumerate(records, start=1):
        try:
            i, lab = encode_conversation(rec.messages, tokenizer, layout, [audio_lengths[p] for p in rec.audios],
                                         train_on, chat_template)
        except DataError as exc:
            raise DataError(f"{rec.file}:{rec.line}: record {rec.id}: {exc}") from exc
        ids.append(np.asarray(i, dtype=np.int32))
        labels.append(np.asarray(lab, dtype=np.int32))
        if n % 256 == 0 or n == len(records):
            progress("tokenizing", n, len(records))
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        offsets = np.cumsum([0] + [len(a) for a in ids])
        partial = cache.with_suffix(".partial.npz")  # np.savez adds no suffix to a name ending in .npz
        np.savez(partial, ids=np.concatenate(ids) if ids else np.zeros(0, np.int32),
                 labels=np.concatenate(labels) if labels else np.zeros(0, np.int32), offsets=offsets,
                 audio_lengths=np.array(json.dumps(audio_lengths)))
        partial.replace(cache)  # atomic: a crash leaves no half-written cache behind
    return ids, labels, audio_lengths
