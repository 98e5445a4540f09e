"""Packing samples into rows of at most ``max_length`` tokens (first-fit decreasing), and its efficiency.

The reference trained on right-padded batches: every row as long as the batch's longest sample.
Packing fills rows with whole samples instead; attention stays within a sample because
``position_ids`` restart at 0 for each one.
"""

from __future__ import annotations


def pack(lengths: list[int], max_length: int) -> tuple[list[list[int]], list[int]]:
    """Bins of sample indices whose lengths sum to at most ``max_length``, and the indices too long to fit.

    First-fit decreasing (ties broken by index, so the result is deterministic): each sample,
    longest first, goes to the first bin with room. A max-tree over the bins' free space finds
    that bin in O(log n), so a million samples pack in seconds.
    """
    if max_length < 1:
        raise ValueError("max_length must be positive")
    overlong = [i for i, n in enumerate(lengths) if n > max_length]
    order = sorted((i for i, n in enumerate(lengths) if n <= max_length), key=lambda i: (-lengths[i], i))
    size = 1
    while size < max(len(order), 1):
        size *= 2
    free = [0] * (2 * size)  # free[size + b] = room left in bin b; unopened bins count as full
    bins: list[list[int]] = []
    for i in order:
        n = lengths[i]
        if bins and free[1] >= n:  # descend to the leftmost bin with room
            node = 1
            while node < size:
                node = 2 * node if free[2 * node] >= n else 2 * node + 1
            b = node - size
        else:
            b = len(bins)
            bins.append([])
            node = size + b
            free[node] = max_length
        bins[b].append(i)
        free[node] -= n
        node //= 2
        while node:
            free[node] = max(free[2 * node], free[2 * node + 1])
            node //= 2
    return bins, overlong


def packing_efficiency(lengths: list[int], bins: list[list[int]], max_length: int) -> float:
    """Real tokens / (rows x max_length): the share of positions that are not padding."""
    return sum(lengths[i] for b in bins for i in b) / (len(bins) * max_length) if bins else 0.0


def padded_efficiency(lengths: list[int], batch_size: int) -> float:
    """The reference's share of real tokens: batches in the given order, each padded to its longest sample."""
    batches = [lengths[i : i + batch_size] for i in range(0, len(lengths), batch_size)]
    positions = sum(len(b) * max(b) for b in batches)
    return sum(lengths) / positions if positions else 0.0
