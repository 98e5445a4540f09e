"""Every record's token ids and labels, computed once per mixture, tokenizer and options, kept on disk.

A large mixture takes minutes to tokenize and to measure its audio (each clip is decoded once
to count its samples); the cache makes a second run, a resumed run and every extra rank start in
seconds. Clips are measured on a thread pool (PyAV decodes without holding the GIL); records are
tokenized on a process pool when there are many (chat templates are Python, Jinja holds the GIL).
"""

from __future__ import annotations

import hashlib
import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from mmtrain import silent
from mmtrain.data.media import load_audio
from mmtrain.data.records import Record
from mmtrain.data.template import encode_conversation
from mmtrain.errors import DataError
from mmtrain.tokens import MediaLayout

_VERSION = 1  # bump when the encoding itself changes
_CHUNK = 500  # records per task on the process pool
_tokenizer = None  # set in each worker process


def _start_worker(tokenizer) -> None:
    global _tokenizer
    _tokenizer = tokenizer


def _encode_chunk(chunk, layout, train_on, chat_template, tokenizer=None):
    out = []
    for rec, samples in chunk:
        try:
            ids, labels = encode_conversation(rec.messages, tokenizer or _tokenizer, layout, samples, train_on, chat_template)
        except DataError as exc:
            raise DataError(f"{rec.file}:{rec.line}: record {rec.id}: {exc}") from None
        out.append((np.asarray(ids, dtype=np.int32), np.asarray(labels, dtype=np.int32)))
    return out


def _workers(requested: int | None, records: int, parallel_from: int) -> int:
    if records < parallel_from:
        return 1
    return max(1, requested if requested is not None else min(16, os.cpu_count() or 1))


def measure_audio(paths, known: dict[str, int], progress=silent) -> dict[str, int]:
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
    parts = [
        _VERSION,
        repr(layout),
        train_on,
        chat_template or getattr(tokenizer, "chat_template", None),
        backend.to_str() if backend is not None else repr(tokenizer.get_vocab()),
    ]
    digest.update(json.dumps(parts, sort_keys=True, default=str).encode())
    for rec in records:
        digest.update(json.dumps([rec.id, rec.messages, rec.audios], ensure_ascii=False).encode())
    for path in sorted({p for rec in records for p in rec.audios}):  # a replaced clip changes its length
        stat = os.stat(path)
        digest.update(f"{path}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:24]


def encode_records(
    records: list[Record],
    tokenizer,
    layout: MediaLayout,
    train_on: str = "assistant",
    chat_template: str | None = None,
    audio_lengths: dict[str, int] | None = None,
    cache_dir: str | Path | None = None,
    progress=silent,
    workers: int | None = None,
    parallel_from: int = 5000,
):
    """``(ids, labels, audio_lengths)``: int32 arrays per record, and samples per clip.

    With ``cache_dir`` the result is read from / written to ``<cache_dir>/<fingerprint>.npz``.
    From ``parallel_from`` records on, ``workers`` processes tokenize (default: the CPU count, at most 16).
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
    chunks = [
        [(rec, [audio_lengths[p] for p in rec.audios]) for rec in records[i : i + _CHUNK]] for i in range(0, len(records), _CHUNK)
    ]
    pool_size = _workers(workers, len(records), parallel_from)
    encoded = []
    if pool_size > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor
        from concurrent.futures.process import BrokenProcessPool

        try:
            # spawn, not fork: the parent may hold torch and CUDA state that a forked child must not inherit
            with ProcessPoolExecutor(
                pool_size, mp_context=multiprocessing.get_context("spawn"), initializer=_start_worker, initargs=(tokenizer,)
            ) as pool:
                for part in pool.map(_encode_chunk, chunks, *[[x] * len(chunks) for x in (layout, train_on, chat_template)]):
                    encoded += part
                    progress("tokenizing", len(encoded), len(records))
        except BrokenProcessPool:  # spawn cannot start from every parent (e.g. a script read from stdin)
            encoded, pool_size = [], 1
    if pool_size == 1:
        for chunk in chunks:
            encoded += _encode_chunk(chunk, layout, train_on, chat_template, tokenizer)
            progress("tokenizing", len(encoded), len(records))
    ids = [pair[0] for pair in encoded]
    labels = [pair[1] for pair in encoded]
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        offsets = np.cumsum([0] + [len(a) for a in ids])
        partial = cache.with_suffix(".partial.npz")  # np.savez adds no suffix to a name ending in .npz
        np.savez(
            partial,
            ids=np.concatenate(ids) if ids else np.zeros(0, np.int32),
            labels=np.concatenate(labels) if labels else np.zeros(0, np.int32),
            offsets=offsets,
            audio_lengths=np.array(json.dumps(audio_lengths)),
        )
        partial.replace(cache)  # atomic: a crash leaves no half-written cache behind
    return ids, labels, audio_lengths
