"""Review flags: set, list, clear (kept as history), checked names and keys, no new version."""

import getpass

import pytest

from mmdata.errors import InputError, NotFoundError
from mmdata.importing import import_
from mmdata.inspect import log
from mmdata.querying import query
from mmdata.review import clear_flag, flag, flags, flags_for
from tests.conftest import chat, write_jsonl

# Each test that uses the store fixture runs on a local and on a team store (PostgreSQL + S3).
pytestmark = pytest.mark.both_stores


@pytest.fixture
def talk(store, tmp_path):
    rows = [{"id": f"c{i}", "kind": "text", "chat": chat((f"Question {i}?", f"Answer {i}."))} for i in range(3)]
    import_(write_jsonl(tmp_path / "talk.jsonl", rows), "talk", store)
    return store


def keys(store, name="talk") -> list[str]:
    return [r["key"] for r in query(f"SELECT key FROM {name} ORDER BY key", store).table.to_pylist()]


def test_a_flag_is_set_listed_and_cleared_with_its_history_kept(talk):
    first, second = keys(talk)[:2]
    row = flag(talk, "talk", first, "wrong-answer", note="the answer is 4", who="aisyah")
    assert row["dataset"] == "talk" and row["key"] == first and row["record_id"] and row["cleared_at"] is None
    flag(talk, "talk", first, "bad-translation", who="aisyah")
    flag(talk, "talk", second, "other", note="odd")
    assert [(f["key"], f["flag"]) for f in flags(talk, "talk")] == [
        (first, "wrong-answer"),
        (first, "bad-translation"),
        (second, "other"),
    ]
    assert {k: [f["flag"] for f in v] for k, v in flags_for(talk, "talk@1", [first, "nope"]).items()} == {
        first: ["wrong-answer", "bad-translation"]
    }

    assert clear_flag(talk, "talk", first, "wrong-answer") == 1
    assert clear_flag(talk, "talk", first, "wrong-answer") == 0  # nothing active is left to clear
    assert [f["flag"] for f in flags(talk, "talk", first)] == ["bad-translation"]
    history = flags(talk, "talk", first, active=False)
    assert [(f["flag"], f["cleared_at"] is not None) for f in history] == [("wrong-answer", True), ("bad-translation", False)]
    assert clear_flag(talk, "talk", first) == 1  # every active flag of the record
    assert flags(talk, "talk", first) == []


def test_flags_are_queryable_and_default_to_the_os_user(talk):
    key = keys(talk)[0]
    flag(talk, "talk", key, "bad-media", note="no <picture> here")
    found = query("SELECT dataset, key, flag, note, who FROM _flags", talk).table.to_pylist()
    assert found == [{"dataset": "talk", "key": key, "flag": "bad-media", "note": "no <picture> here", "who": getpass.getuser()}]


def test_bad_names_unknown_datasets_and_keys_are_refused(talk):
    key = keys(talk)[0]
    with pytest.raises(InputError, match="unknown flag 'ugly'.*bad-translation"):
        flag(talk, "talk", key, "ugly")
    with pytest.raises(NotFoundError, match="unknown dataset 'nope'"):
        flag(talk, "nope", key, "other")
    with pytest.raises(NotFoundError, match="no record with key 'zzz' in talk@1"):
        flag(talk, "talk", "zzz", "other")
    with pytest.raises(NotFoundError, match="unknown dataset"):
        clear_flag(talk, "nope", key)
    with pytest.raises(InputError, match="note too long"):
        flag(talk, "talk", key, "other", note="x" * 5000)
    assert flags(talk) == []


def test_flags_make_no_version_and_follow_the_record_into_later_versions(talk, tmp_path):
    before = log("talk", talk)
    key = keys(talk)[0]
    flag(talk, "talk", key, "wrong-answer")
    assert log("talk", talk) == before  # the lineage does not see flags
    # The same ids with a corrected answer: the same keys, a new version; the flag still names the record.
    rows = [{"id": f"c{i}", "kind": "text", "chat": chat((f"Question {i}?", f"Fixed {i}."))} for i in range(3)]
    import_(write_jsonl(tmp_path / "v2.jsonl", rows), "talk", talk, replace=True)
    assert keys(talk) == keys(talk, '"talk@1"')
    assert [f["key"] for f in flags(talk, "talk")] == [key]
    assert flag(talk, "talk@1", key, "other")["dataset"] == "talk"  # found in an older version, stored by name
