from types import SimpleNamespace

import numpy as np
import polars as pl
import pytest

from mmdata.mix.draw import draw
from mmdata.mix.hashing import hash_order, mix64
from mmdata.mix.languages import apply_languages
from mmdata.mix.order import order_and_name

# Each test that uses the store fixture runs on a local and on a team store (PostgreSQL + S3).
pytestmark = pytest.mark.both_stores


def test_mix64_is_splitmix64():
    # SplitMix64's first output from seed 0 (the published reference value): reproducibility across
    # machines and library versions rests on this exact function.
    assert int(mix64(np.array([0x9E3779B97F4A7C15], dtype=np.uint64))[0]) == 0xE220A8397B1DCDAF
    mask = 2**64 - 1

    def by_hand(z: int) -> int:
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
        return z ^ (z >> 31)

    values = np.random.default_rng(0).integers(0, 2**63, 50, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    assert [int(v) for v in mix64(values)] == [by_hand(int(v)) for v in values]


def candidates(n_sources=3, per_source=400, seed=0):
    rng = np.random.default_rng(seed)
    n = n_sources * per_source
    return pl.DataFrame(
        {
            "src": np.repeat(np.arange(n_sources, dtype=np.int32), per_source),
            "id": [f"r{i}" for i in range(n)],
            "has_malay": rng.random(n) < 0.8,
            "k_hi": rng.integers(0, 2**63, n, dtype=np.uint64),
            "k_lo": rng.integers(0, 2**63, n, dtype=np.uint64),
        }
    )


def plans(planned, language="en"):
    return [SimpleNamespace(planned=p, language=language, removed={}) for p in planned]


SPEC = SimpleNamespace(seed=7, hash="spec-hash", split=None)


def named(cand, planned, language):
    rows = apply_languages(draw(cand, SPEC, plans(planned, language)), SPEC, plans(planned, language))
    rows = rows.with_columns(pl.lit("train").alias("split"))
    return order_and_name(rows, SPEC)


def test_rows_do_not_depend_on_the_order_candidates_arrive_in():
    cand = candidates()
    first, unique = named(cand, [100, 400, 900], {"mix": {"ms": 0.5, "en": 0.5}})
    again, _ = named(cand.sample(fraction=1.0, shuffle=True, seed=3), [100, 400, 900], {"mix": {"ms": 0.5, "en": 0.5}})
    columns = ["src", "id", "copy", "language", "mix_index", "key_hi", "key_lo", "id_hi", "id_lo"]
    assert first.sort("mix_index").select(columns).equals(again.sort("mix_index").select(columns)) and unique


def test_repeat_gives_whole_copies_then_the_lowest_draws():
    picked = draw(candidates(1, 400), SPEC, plans([900]))
    assert picked.height == 900 and picked.group_by("copy").len().sort("copy")["len"].to_list() == [400, 400, 100]
    assert picked.filter(pl.col("copy") == 2)["id"].to_list() == picked["id"].to_list()[:100]  # one order serves all copies


def test_language_mix_share_and_malay_only_where_it_exists():
    cand = candidates(1, 4000)
    rows = apply_languages(draw(cand, SPEC, plans([4000])), SPEC, plans([4000], {"mix": {"ms": 0.3, "en": 0.7}}))
    malay = rows.filter(pl.col("language") == "ms")
    assert malay["has_malay"].all() and abs(malay.height / 4000 - 0.3 * 0.8) < 0.03
    both_plans = plans([4000], "both")
    both = apply_languages(draw(cand, SPEC, both_plans), SPEC, both_plans)
    assert both.height == 4000 + int(cand["has_malay"].sum())
    assert both_plans[0].removed == {"no_malay": 4000 - int(cand["has_malay"].sum())}


def test_keys_stay_put_when_the_seed_changes_and_ids_do_not():
    cand = candidates(1, 300)
    one, _ = named(cand, [300], "both")
    other_seed = SimpleNamespace(seed=8, hash="spec-hash-2", split=None)
    rows = apply_languages(draw(cand, other_seed, plans([300], "both")), other_seed, plans([300], "both"))
    two, _ = order_and_name(rows.with_columns(pl.lit("train").alias("split")), other_seed)
    by_key = lambda frame: frame.sort("key_hi", "key_lo")  # noqa: E731
    assert by_key(one)["id"].to_list() == by_key(two)["id"].to_list()  # same rows, same keys
    assert set(one["id_hi"].to_list()).isdisjoint(two["id_hi"].to_list())  # new ids for a new spec
    assert one.sort("mix_index")["key_hi"].to_list() != two.sort("mix_index")["key_hi"].to_list()  # the seed reorders them


def test_repeated_source_ids_are_reported_as_repeated_keys():
    cand = candidates(1, 50)
    cand = pl.concat([cand, cand.head(1)])  # a source holding one record id twice
    _, unique = named(cand, [51], "en")
    assert not unique


def test_ties_fall_back_to_the_key_hash():
    primary = np.array([5, 3, 5, 1], dtype=np.uint64)
    hi = np.array([9, 0, 2, 0], dtype=np.uint64)
    order, tied = hash_order(primary, hi, np.zeros(4, dtype=np.uint64))
    assert tied and order.tolist() == [3, 1, 2, 0]
