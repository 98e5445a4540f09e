"""``--shard i/n``: a deterministic split of work items so n machines can share one store."""

from __future__ import annotations

import hashlib

from mmdata.errors import InputError


def parse_shard(text: str | None) -> tuple[int, int]:
    """``"2/8"`` -> (2, 8); None -> (0, 1). Shards count from 0."""
    if not text:
        return 0, 1
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise InputError(f"--shard {text!r}: write i/n, e.g. 0/4") from None
    if count < 1 or not 0 <= index < count:
        raise InputError(f"--shard {text!r}: need 0 <= i < n")
    return index, count


def in_shard(key: str, shard: tuple[int, int]) -> bool:
    """Whether the item named ``key`` belongs to ``shard``; every key is in exactly one shard."""
    index, count = shard
    return count == 1 or int(hashlib.sha1(key.encode()).hexdigest(), 16) % count == index
