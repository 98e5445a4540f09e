"""Near-copy detection: MinHash signatures of word 3-grams through an LSH index (datasketch).

The index has to be walked in order — each row is checked against the rows kept before it, so the
earlier row of a pair wins — but the signatures do not: on large inputs worker processes compute
them, batch by batch, while this process walks the index. The result is the same either way.
"""

from __future__ import annotations

import multiprocessing
import os
import re
import sys
from collections import deque
from collections.abc import Callable, Hashable, Iterable, Iterator

import numpy as np

_WORDS = re.compile(r"\w+")
PARALLEL_FROM = 50_000  # rows; below this, starting worker processes costs more than they save


def signatures(texts: list[str | None], num_perm: int) -> tuple[str, np.ndarray]:
    """MinHash values (one row of ``num_perm`` per text) of each text's word 3-grams, and the
    permutation scheme that made them; punctuation and spacing do not make a text new."""
    from datasketch import MinHash

    shingles = []
    for text in texts:
        words = _WORDS.findall(text or "")
        shingles.append([" ".join(words[i : i + 3]).encode() for i in range(max(1, len(words) - 2))])
    made = MinHash.bulk(shingles, num_perm=num_perm)
    return (made[0].scheme if made else ""), (np.stack([m.hashvalues for m in made]) if made else np.empty((0, num_perm)))


def default_workers(rows: int) -> int:
    """Worker processes for ``rows`` rows: none for small inputs, else all cores but this one's (at most 4)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)  # the cores we may use
    return 0 if rows < PARALLEL_FROM else max(0, min(cores - 1, 4))


def near_copies(
    batches: Iterable[tuple[list[Hashable], list[str | None]]],
    threshold: float,
    num_perm: int = 64,
    workers: int = 0,
    on_batch: Callable[[int, int], None] | None = None,
) -> list[Hashable]:
    """The keys of rows whose text is a near copy (estimated Jaccard >= ``threshold``) of an earlier
    kept row. ``batches`` yields (keys, texts) in the order that decides which row of a pair stays.
    ``on_batch(rows, dropped_so_far)`` hears each batch."""
    from datasketch import LeanMinHash, MinHashLSH

    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    dropped: list[Hashable] = []
    for keys, (scheme, values) in _signed(batches, num_perm, workers):
        for key, row in zip(keys, values):
            signature = LeanMinHash(seed=1, hashvalues=row, scheme=scheme)  # as MinHash.bulk made them
            if lsh.query(signature):
                dropped.append(key)
            else:
                lsh.insert(key, signature, check_duplication=False)
        if on_batch:
            on_batch(len(keys), len(dropped))
    return dropped


def _signed(batches, num_perm: int, workers: int) -> Iterator[tuple[list, tuple[str, np.ndarray]]]:
    """(keys, signatures) per batch, in order; computed ahead in ``workers`` processes when there are any."""
    if not workers or not _can_spawn():
        for keys, texts in batches:
            yield keys, signatures(texts, num_perm)
        return
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    serial = False
    # spawn, not fork: the parent holds DuckDB's threads, which a forked child must not inherit
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        pending: deque = deque()
        for keys, texts in batches:
            future = None
            if not serial:
                try:
                    future = pool.submit(signatures, texts, num_perm)
                except BrokenProcessPool:  # a worker failed to start or died: the rest is done here
                    serial = True
            pending.append((keys, texts, future))
            while len(pending) > (0 if serial else 2 * workers):  # a few batches ahead, not the whole input
                serial = yield from _next(pending, num_perm, serial, BrokenProcessPool)
        while pending:
            serial = yield from _next(pending, num_perm, serial, BrokenProcessPool)


def _can_spawn() -> bool:
    """Whether a spawned worker can re-import this program's main module (not so for a script read
    from standard input, whose workers would fail to start and print why)."""
    main = getattr(sys.modules.get("__main__"), "__file__", None)
    return main is None or os.path.exists(main)


def _next(pending: deque, num_perm: int, serial: bool, broken: type):
    keys, texts, future = pending.popleft()
    if future is not None and not serial:
        try:
            yield keys, future.result()
            return False
        except broken:  # spawn cannot start from every parent (e.g. a script read from stdin): go on here
            serial = True
    yield keys, signatures(texts, num_perm)
    return serial
