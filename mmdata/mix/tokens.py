"""Tokens: the spec's tokenizer, and the dry run's count of the tokens the drawn rows hold."""

from __future__ import annotations

from pathlib import Path

from mmdata.errors import InputError


def load_tokenizer(path: str):
    """A Hugging Face ``tokenizers`` tokenizer from tokenizer.json (or a folder holding one)."""
    from tokenizers import Tokenizer

    file = Path(path) / "tokenizer.json" if Path(path).is_dir() else Path(path)
    if not file.exists():
        raise InputError(f"tokenizer: no tokenizer.json at {path}")
    return Tokenizer.from_file(str(file))


def expected_tokens(state, batch: int = 20000) -> tuple[dict[int, int], str]:
    """Tokens per source in the drawn ``state.rows``, each in its language, and how they were counted:
    with the spec's tokenizer, or estimated at 4 characters a token without one."""
    con, spec = state.con, state.spec
    text = (
        "array_to_string(list_transform(s.chat, lambda t: CASE r.language WHEN 'ms' THEN t.content_ms ELSE t.content END), ' ')"
    )
    con.register(state.drawn, state.rows.select("src", "id", "language").to_arrow())
    try:
        joined = f"FROM {state.drawn} r JOIN {state.records} s ON s.src = r.src AND s.id = r.id"
        if not spec.tokenizer:
            sums = con.execute(f"SELECT r.src, sum(len({text})) {joined} GROUP BY r.src").fetchall()
            return {src: round((chars or 0) / 4) for src, chars in sums}, "estimated at 4 characters a token"
        tokenizer, tokens = load_tokenizer(spec.tokenizer), {}
        for chunk in con.execute(f"SELECT r.src, {text} AS t {joined}").to_arrow_reader(batch):
            sizes = [len(e.ids) for e in tokenizer.encode_batch([t or "" for t in chunk.column("t").to_pylist()])]
            for src, size in zip(chunk.column("src").to_pylist(), sizes):
                tokens[src] = tokens.get(src, 0) + size
        return tokens, f"counted with {spec.tokenizer}"
    finally:
        con.unregister(state.drawn)
