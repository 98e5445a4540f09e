"""The hashes every choice of a mixture is made from: splitmix64's finaliser applied to a record's
128-bit key hash (md5 of source entry, dataset and record id, taken once in DuckDB) and a salt made
from the seed. Integer arithmetic modulo 2**64, the same on any machine and for any numpy version,
with no per-choice string hashing."""

from __future__ import annotations

import hashlib

import numpy as np
import polars as pl


def mix64(values) -> np.ndarray:
    """splitmix64's finaliser: a bijective, well-mixed 64-bit hash of each value."""
    x = np.array(values, dtype=np.uint64)  # a copy: the steps below work in place, sparing temporaries
    with np.errstate(over="ignore"):
        x ^= x >> np.uint64(30)
        x *= np.uint64(0xBF58476D1CE4E5B9)
        x ^= x >> np.uint64(27)
        x *= np.uint64(0x94D049BB133111EB)
        x ^= x >> np.uint64(31)
    return x


def salt(*parts) -> np.uint64:
    """A 64-bit constant from ``parts`` (seed, purpose, ...): the first 8 bytes of their md5."""
    return np.uint64(int.from_bytes(hashlib.md5(":".join(map(str, parts)).encode()).digest()[:8], "big"))


def key_hash(text: str) -> tuple[int, int]:
    """A 128-bit key hash (two 64-bit halves of md5(``text``)) for rows made here, not read from a source."""
    number = int.from_bytes(hashlib.md5(text.encode()).digest(), "little")
    return number >> 64, number & (2**64 - 1)


def fraction(hashes: np.ndarray) -> np.ndarray:
    """Each hash as a number in [0, 1), in steps of a millionth."""
    return (hashes % np.uint64(1_000_000)).astype(np.float64) / 1_000_000


def hash_order(primary: np.ndarray, hi: np.ndarray, lo: np.ndarray) -> tuple[np.ndarray, bool]:
    """Indices sorting by ``primary``, and whether any values were equal (rare in 64 bits). Equal
    values fall back to the key hash, so the order never depends on the order rows arrived in."""
    order = pl.Series(primary).arg_sort().to_numpy()  # polars sorts on every core
    ranked = primary[order]
    tied = bool(len(ranked) > 1 and (ranked[1:] == ranked[:-1]).any())
    return (np.lexsort((lo, hi, primary)) if tied else order), tied
