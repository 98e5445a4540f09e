import random

import pytest

from mmtrain.data.packing import pack, packing_efficiency, padded_efficiency


def naive_ffd(lengths, max_length):
    bins, room = [], []
    for i in sorted((i for i, n in enumerate(lengths) if n <= max_length), key=lambda i: (-lengths[i], i)):
        b = next((b for b, r in enumerate(room) if r >= lengths[i]), None)
        if b is None:
            bins.append([]), room.append(max_length)
            b = len(bins) - 1
        bins[b].append(i)
        room[b] -= lengths[i]
    return bins


def test_small_example():
    bins, overlong = pack([5, 9, 3, 4, 12, 1], 10)
    assert bins == [[1, 5], [0, 3], [2]] and overlong == [4]
    assert packing_efficiency([5, 9, 3, 4, 12, 1], bins, 10) == pytest.approx(22 / 30)


def test_matches_first_fit_decreasing_and_respects_max_length():
    rng = random.Random(1)
    for _ in range(20):
        lengths = [rng.randint(1, 120) for _ in range(rng.randint(1, 300))]
        bins, overlong = pack(lengths, 100)
        assert bins == naive_ffd(lengths, 100)
        assert all(sum(lengths[i] for i in b) <= 100 for b in bins)
        assert sorted([i for b in bins for i in b] + overlong) == list(range(len(lengths)))
        assert overlong == [i for i, n in enumerate(lengths) if n > 100]
        assert pack(lengths, 100) == (bins, overlong)  # deterministic


def test_large_and_empty():
    rng = random.Random(2)
    lengths = [rng.randint(50, 4000) for _ in range(20000)]
    bins, _ = pack(lengths, 8192)
    assert packing_efficiency(lengths, bins, 8192) > 0.95
    assert padded_efficiency(lengths, 8) < 0.8  # the reference's right-padded batches
    assert pack([], 10) == ([], []) and packing_efficiency([], [], 10) == 0.0
    assert padded_efficiency([4, 2, 3], 2) == pytest.approx(9 / 11)
