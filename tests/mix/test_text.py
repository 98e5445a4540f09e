import duckdb
import pytest

from mmdata.mix.text import SPACES, single_spaced, trimmed


@pytest.mark.parametrize("text", ["a  b", "a\tb", "a\n\nb", " a b ", "a\r\n b\x0c", "plain text", ""])
def test_whitespace_guard_matches_the_regex(text):
    con = duckdb.connect()
    guarded, regex = con.execute(
        f"SELECT {single_spaced('t')}, regexp_replace(t, '\\s+', ' ', 'g') FROM (SELECT ? AS t)", [text]
    ).fetchone()
    assert guarded == regex


@pytest.mark.parametrize("text", [" a", "a ", "\u00a0a", "a\u3000", "\u2009a\u2009", "\ta\n", "é", "aé", "plain", ""])
def test_trim_guard_matches_trim(text):
    con = duckdb.connect()
    guarded, expected = con.execute(f"SELECT {trimmed('t')}, trim(t) FROM (SELECT ? AS t)", [text]).fetchone()
    assert guarded == expected


def test_trim_guard_knows_every_character_trim_strips():
    # If DuckDB's trim() ever strips more (or fewer) characters, the guard must follow.
    stripped = (
        duckdb.connect()
        .execute(
            "SELECT list(i ORDER BY i) FROM range(1, 1114112) t(i) "
            "WHERE (i < 55296 OR i > 57343) AND trim(chr(i::INT) || 'a') <> chr(i::INT) || 'a'"
        )
        .fetchone()[0]
    )
    assert stripped == list(SPACES)
