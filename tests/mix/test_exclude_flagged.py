"""``exclude_flagged: true``: records with an active review flag never reach the mixture; cleared
flags exclude nothing; the plan counts what was left out."""

import pytest

from mmdata.mix import mix
from mmdata.querying import query
from mmdata.review import clear_flag, flag
from tests.mix.conftest import rows, spec

# Each test that uses the store fixture runs on a local and on a team store (PostgreSQL + S3).
pytestmark = pytest.mark.both_stores

SPEC = "name: clean\n{option}sources:\n  - {{dataset: a}}\n  - {{dataset: c}}\n"


def key_of(store, dataset: str, text: str) -> str:
    """The key of the record of ``dataset`` whose first turn holds ``text``."""
    found = query(f"SELECT key FROM {dataset} WHERE contains(chat[1].content, '{text}')", store).table.column(0).to_pylist()
    assert len(found) == 1
    return found[0]


def texts(store, name: str) -> str:
    return "\n".join(turn["content"] for row in rows(store, name) for turn in row["chat"])


def test_flagged_records_never_reach_the_mixture_and_cleared_ones_do(sources, tmp_path):
    flag(sources, "a", key_of(sources, "a", "thing 3.0"), "bad-translation", who="t")
    flag(sources, "a", key_of(sources, "a", "thing 7.0"), "bad-media", who="t")
    flag(sources, "a", key_of(sources, "a", "thing 7.0"), "other", who="t")  # two flags, one record
    flag(sources, "c", key_of(sources, "c", "Question 1?"), "wrong-answer", who="t")
    flag(sources, "a", key_of(sources, "a", "thing 5.0"), "other", who="t")
    clear_flag(sources, "a", key_of(sources, "a", "thing 5.0"))

    planned = mix(spec(tmp_path, SPEC.format(option="exclude_flagged: true\n")), sources, dry_run=True)
    assert {p["source"]: p["removed"] for p in planned.plan} == {"a@1": {"flagged": 2}, "c@1": {"flagged": 1}}

    result = mix(spec(tmp_path, SPEC.format(option="exclude_flagged: true\n")), sources)
    assert result.rows == 8 + 3
    assert {p["source"]: p["removed"] for p in result.report["plan"]} == {"a@1": {"flagged": 2}, "c@1": {"flagged": 1}}
    written = texts(sources, "clean")
    assert "thing 3.0" not in written and "thing 7.0" not in written and "Question 1?" not in written
    assert "thing 5.0" in written and "Question 2?" in written  # a cleared flag excludes nothing


def test_flags_count_only_when_the_spec_asks(sources, tmp_path):
    flag(sources, "a", key_of(sources, "a", "thing 3.0"), "other", who="t")
    result = mix(spec(tmp_path, SPEC.format(option="")), sources)
    assert result.rows == 10 + 4 and all(p["removed"] == {} for p in result.plan)
    assert "thing 3.0" in texts(sources, "clean")


def test_a_store_without_flags_excludes_nothing(sources, tmp_path):
    # A store written before flags existed has no _flags table until its next write.
    with sources.transaction(locks=["_flags"]) as con:
        con.execute("DROP TABLE lake._flags")
    result = mix(spec(tmp_path, SPEC.format(option="exclude_flagged: true\n")), sources)
    assert result.rows == 10 + 4 and all(p["removed"] == {} for p in result.plan)
