"""Each mix filter alone, on a tiny DuckDB table (no store), and the registry the rest of mix reads."""

import copy
import json
from pathlib import Path
from types import SimpleNamespace

import duckdb
import polars as pl
import pytest

from mmdata.errors import InputError
from mmdata.mix.filters import (
    DEDUPE,
    FILTERS,
    MAX_TOKENS,
    MAX_TURNS,
    NEAR_DEDUPE,
    NO_MALAY,
    WHERE,
    CandidateFilter,
    apply_filter,
    filters_table,
    mix_schema,
)
from mmdata.mix.state import MixState

# Each test that uses the store fixture runs on a local and on a team store (PostgreSQL + S3).
pytestmark = pytest.mark.both_stores

ROOT = Path(__file__).resolve().parents[2]


def turn(role, content, content_ms=None):
    return {"role": role, "content": content, "content_ms": content_ms}


def tiny_state(records: list[tuple[int, str, list[dict]]], filters: dict, tokenizer: str | None = None) -> MixState:
    """A state whose records view holds ``records`` (src, id, chat) and whose candidate table has the
    enabled filters' columns, computed level by level as the select step computes them."""
    con = duckdb.connect()
    spec = SimpleNamespace(filters=filters, tokenizer=tokenizer, split=None)
    state = MixState(con, spec, plans=[SimpleNamespace(removed={}) for _ in {src for src, _, _ in records}])
    con.execute(
        f"CREATE TABLE {state.records} (src INTEGER, id VARCHAR, context VARCHAR, "
        "chat STRUCT(role VARCHAR, content VARCHAR, content_ms VARCHAR)[])"
    )
    con.executemany(f"INSERT INTO {state.records} VALUES (?, ?, NULL, ?)", [list(r) for r in records])
    query = state.records
    for f in FILTERS:
        for name, sql in f.columns(spec):
            query = f"(SELECT *, {sql} AS {name} FROM {query})"
    con.execute(f"CREATE TABLE {state.candidates} AS SELECT * FROM {query}")
    return state


def kept(state: MixState) -> list[str]:
    return [i for (i,) in state.con.execute(f"SELECT id FROM {state.candidates} ORDER BY id").fetchall()]


def test_where_is_a_guarded_predicate_on_each_source():
    assert WHERE.predicate(SimpleNamespace(where=None)) == "true"
    assert WHERE.predicate(SimpleNamespace(where="len(images) = 1")) == "(len(images) = 1)"
    con = duckdb.connect()
    con.execute("CREATE TABLE t (id VARCHAR, kind VARCHAR)")
    WHERE.guard(con, "SELECT * FROM t WHERE (kind = 'text')", "spec.yaml:3")
    with pytest.raises(InputError, match=r"spec.yaml:3: where: Binder Error"):
        WHERE.guard(con, "SELECT * FROM t WHERE (nonsense > 1)", "spec.yaml:3")
    with pytest.raises(InputError, match=r"spec.yaml:3: where: .*write_log"):
        WHERE.guard(con, "SELECT * FROM t WHERE (write_log('x') IS NULL)", "spec.yaml:3")


def test_max_turns_drops_longer_conversations():
    state = tiny_state(
        [(0, "short", [turn("user", "a"), turn("assistant", "b")]), (0, "long", [turn("user", "a"), turn("assistant", "b")] * 3)],
        {"max_turns": 4},
    )
    apply_filter(state, MAX_TURNS)
    assert kept(state) == ["short"] and state.plans[0].removed == {"max_turns": 1}


def test_max_tokens_counts_both_language_sides(tmp_path):
    from tokenizers import Tokenizer, models, pre_tokenizers

    tokenizer = Tokenizer(models.WordLevel({"[UNK]": 0}, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.save(str(tmp_path / "tokenizer.json"))  # one token per word
    state = tiny_state(
        [
            (0, "fits", [turn("user", "one two", "satu dua")]),
            (0, "long-malay", [turn("user", "one two", "satu dua tiga empat lima")]),
            (1, "long-english", [turn("user", "one two three four five")]),
        ],
        {"max_tokens": 4},
        tokenizer=str(tmp_path),
    )
    heard = []
    state.progress = lambda task, done, total=None, note=None: heard.append((task, done, total))
    apply_filter(state, MAX_TOKENS)
    assert kept(state) == ["fits"] and [p.removed for p in state.plans] == [{"max_tokens": 1}, {"max_tokens": 1}]
    assert heard[-1] == ("counting tokens", 3, 3)
    assert MAX_TOKENS.check({"max_tokens": 4}) and MAX_TOKENS.check({"max_tokens": 4, "tokenizer": "t.json"}) is None


def test_exact_dedupe_keeps_the_earliest_source_then_the_lowest_id():
    answer = lambda text: [turn("user", "q"), turn("assistant", text)]  # noqa: E731
    state = tiny_state(
        [
            (1, "a", answer("Same  answer.")),
            (0, "z", answer(" same answer.\n")),
            (0, "y", answer("SAME answer.")),
            (1, "b", answer("Another answer.")),
        ],
        {"dedupe": ["assistant"]},
    )
    apply_filter(state, DEDUPE)
    assert kept(state) == ["b", "y"] and [p.removed for p in state.plans] == [{"dedupe": 1}, {"dedupe": 1}]


def test_near_dedupe_drops_the_later_of_a_near_pair():
    words = "nasi lemak teh tarik durian kampung pasar malam kuala lumpur penang laksa wau songket batik".split()
    text = " ".join(words * 2)
    state = tiny_state(
        [
            (0, "first", [turn("assistant", text)]),
            (0, "second", [turn("assistant", text + " sambal")]),
            (0, "other", [turn("assistant", " ".join(reversed(words)))]),
        ],
        {"near_dedupe": {"threshold": 0.7, "fields": ["assistant"]}},
    )
    apply_filter(state, NEAR_DEDUPE)
    assert kept(state) == ["first", "other"] and state.plans[0].removed == {"near_dedupe": 1}


def test_no_malay_flags_records_missing_malay_on_any_turn():
    state = tiny_state(
        [
            (0, "both", [turn("user", "hi", "hai"), turn("assistant", "yes", "ya")]),
            (0, "half", [turn("user", "hi", "hai"), turn("assistant", "yes")]),
        ],
        {},
    )
    frame = pl.from_arrow(state.con.execute(f"SELECT id, {NO_MALAY.column} FROM {state.candidates} ORDER BY id").arrow())
    assert frame.filter(NO_MALAY.usable())["id"].to_list() == ["both"]


def test_a_filter_that_drops_nothing_reports_nothing():
    state = tiny_state([(0, "a", [turn("user", "x")])], {"max_turns": 4})
    apply_filter(state, MAX_TURNS)
    assert kept(state) == ["a"] and state.plans[0].removed == {}


def test_the_registry_names_every_removed_reason_once_in_run_order():
    assert [f.name for f in FILTERS] == ["where", "flagged", "max_turns", "max_tokens", "dedupe", "near_dedupe", "no_malay"]
    candidates = ["flagged", "max_turns", "max_tokens", "dedupe", "near_dedupe"]
    assert [f.name for f in FILTERS if isinstance(f, CandidateFilter)] == candidates
    assert all(f.help and f.spec_key for f in FILTERS)


def test_the_shipped_schema_and_docs_say_what_the_registry_says():
    shipped = json.loads((ROOT / "specs" / "schemas" / "mix.schema.json").read_text())
    assert mix_schema(copy.deepcopy(shipped)) == shipped  # a new filter: add its key to the shipped schema too
    assert filters_table() in (ROOT / "docs" / "mix.md").read_text()  # ... and paste filters_table() into docs/mix.md


def test_load_spec_reads_each_filters_setting(tmp_path):
    from mmdata.mix.spec import load_spec

    path = tmp_path / "spec.yaml"
    path.write_text("name: x\nmax_turns: 8\ndedupe: {exact: [chat], near: {threshold: 0.8}}\nsources:\n  - {dataset: a}\n")
    assert load_spec(path).filters == {
        "flagged": None,
        "max_turns": 8,
        "max_tokens": None,
        "dedupe": ["chat"],
        "near_dedupe": {"threshold": 0.8},
    }
    path.write_text("name: x\nsources:\n  - {dataset: a}\nmax_tokens: 5\n")
    with pytest.raises(InputError, match=r"spec.yaml:4: max_tokens needs a tokenizer"):
        load_spec(path)
