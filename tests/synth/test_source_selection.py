"""Choosing synthesize's source records: --where (read-only, as a mix source's) and --no-quality-filter, for every type."""

import json

import pytest
from typer.testing import CliRunner

from mmdata.cli import app
from mmdata.errors import InputError
from mmdata.importing import import_
from mmdata.querying import query
from mmdata.synth import synthesize
from mmdata.synth.sources import load_items
from mmdata.synth.types import TYPES
from tests.conftest import make_speech, write_jsonl
from tests.synth.test_templates import import_pages

# Each type's sources among the shared fixtures (images: pics, transcripts: tx, conversations: chats).
SOURCES = {
    "audio-instructions": ["tx"],
    "visual-context": ["pics"],
    "multi-image": ["pics"],
    "multi-audio": ["tx"],
    "image-audio": ["pics", "tx"],
    "translate": ["chats"],
}


@pytest.fixture
def everything(images, transcripts, conversations):
    return images  # one store holding pics, tx and chats


def first_id(store, dataset) -> str:
    return query(f"SELECT min(id) AS id FROM {dataset}", store).table.to_pylist()[0]["id"]


def used(items) -> set[str]:
    return {s["id"] for item in items for s in item.sources}


def test_every_type_is_covered():
    assert set(SOURCES) == set(TYPES)


@pytest.mark.parametrize("kind", list(TYPES))
def test_where_and_the_quality_filter_for_every_type(everything, kind):
    """One store per type (building it is most of the time): --where chooses, a writing or broken
    --where is refused before anything is read, and --no-quality-filter leaves non-transcripts alone."""
    store, sources = everything, SOURCES[kind]
    excluded = first_id(store, sources[0])
    before, _ = load_items(store, TYPES[kind], sources, 2, 0)
    after, _ = load_items(store, TYPES[kind], sources, 2, 0, where=f"id <> '{excluded}'")
    assert excluded not in used(after)
    assert used(after) <= {r["id"] for s in sources for r in query(f"SELECT id FROM {s}", store).table.to_pylist()}
    if kind not in ("multi-audio", "image-audio"):  # drawn groups may leave the excluded record out anyway
        assert excluded in used(before) and len(after) < len(before)
    with pytest.raises(InputError):  # nothing matches: said so, before any request
        load_items(store, TYPES[kind], sources, 2, 0, where="false")

    with pytest.raises(InputError, match=r"where: the store is read-only here: write_log\(\) is not allowed"):
        synthesize(kind, sources, "x", store, dry_run=True, where="write_log('x') IS NULL")
    with pytest.raises(InputError, match=r"where: give exactly one SQL statement"):  # out of its parentheses
        synthesize(kind, sources, "x", store, dry_run=True, where=f"true); DELETE FROM {sources[0]} WHERE (true")
    with pytest.raises(InputError, match=r"--from \w+@1: where: .*no_such_column"):
        synthesize(kind, sources, "x", store, dry_run=True, where="no_such_column = 1")
    assert query(f"SELECT count(*) AS n FROM {sources[0]}", store).table.to_pylist()[0]["n"] > 0

    # Off, the quality filter changes nothing but transcripts: these all pass it anyway.
    without, _ = load_items(store, TYPES[kind], sources, 2, 0, quality_filter=False)
    assert [i.id for i in before] == [i.id for i in without]


@pytest.fixture
def noisy(store, tmp_path):
    """Two transcripts: one that passes the default quality filter, one that does not (a low log-probability, repeated n-grams)."""
    good = "Hari ini kita akan belajar tentang sejarah Malaysia dan bagaimana negara ini mencapai kemerdekaan"
    rows = []
    for i, (text, logprob, repeated) in enumerate([(good, -0.3, False), ("la la la la la la la la la la la la", -2.5, True)]):
        make_speech(tmp_path / "tx" / f"c{i}.wav", f"clip number {i}")
        scores = {
            f"{k}_{lang}": v
            for lang in ("ms", "en")
            for k, v in (("avg_logprob", logprob), ("compression_ratio", 1.4), ("repeated_ngram", repeated))
        }
        rows.append(
            {
                "media_id": f"c{i}.wav",
                "start": 0.0,
                "end": 2.0,
                "text_ms": text,
                "text_en": None,
                "language": "ms",
                "avg_logprob": logprob,
                "no_speech_prob": 0.01,
                "compression_ratio": 1.4,
                **scores,
            }
        )
    assert import_(write_jsonl(tmp_path / "tx" / "tx.jsonl", rows), "tx", store, format="mmdata").imported == 2
    return store


def test_no_quality_filter_lets_a_low_quality_transcript_through(noisy):
    kept = synthesize("audio-instructions", ["tx"], "x", noisy, dry_run=True)
    every = synthesize("audio-instructions", ["tx"], "x", noisy, dry_run=True, quality_filter=False)
    assert kept.items == 1 and every.items == 2
    assert any("la la la" in p["messages"][0]["content"] for p in every.prompts)
    assert not any("la la la" in p["messages"][0]["content"] for p in kept.prompts)


def test_no_quality_filter_and_where_on_the_command_line(noisy):
    args = [
        "--store",
        str(noisy.root),
        "synthesize",
        "--type",
        "audio-instructions",
        "--from",
        "tx",
        "--into",
        "x",
        "--dry-run",
        "--json",
    ]
    default = CliRunner().invoke(app, args)
    loose = CliRunner().invoke(app, [*args, "--no-quality-filter"])
    chosen = CliRunner().invoke(app, [*args, "--no-quality-filter", "--where", "avg_logprob < -1"])
    assert (default.exit_code, loose.exit_code, chosen.exit_code) == (0, 0, 0), chosen.output
    assert [json.loads(r.output)["items"] for r in (default, loose, chosen)] == [1, 2, 1]
    refused = CliRunner().invoke(app, [*args, "--where", "write_log('x') IS NULL"])
    assert refused.exit_code != 0 and "read-only" in refused.output


def test_where_picks_only_malay_pages(store, tmp_path, endpoint):
    pages = import_pages(store, tmp_path)
    malay = query("SELECT id FROM pages WHERE attributes->>'language' = 'ms'", pages).table.to_pylist()
    result = synthesize("visual-context", ["pages"], "ms_only", pages, templates=True, where="attributes->>'language' = 'ms'")
    assert result.made == len(malay) == 3
    sources = {r["s"] for r in query("SELECT source[1] AS s FROM ms_only", pages).table.to_pylist()}
    assert sources == {r["id"] for r in malay}
    lineage = query("SELECT arguments FROM _versions WHERE dataset = 'ms_only'", pages).table.to_pylist()[0]["arguments"]
    assert "attributes->>'language' = 'ms'" in str(lineage)
    named = synthesize(
        "visual-context", ["pages"], "x", pages, dry_run=True, where="id IN (SELECT id FROM pages WHERE title = 'Batik')"
    )
    assert named.items == 1  # a --where may name datasets, as `mmdata query` does
    model = synthesize(
        "visual-context", ["pages"], "ms_model", pages, endpoint=endpoint.url, where="attributes->>'language' = 'ms'"
    )
    assert model.made == 3 and all(
        "Page language: ms" in p["messages"][0]["content"] for p in endpoint.prompts if "Write a conversation" in str(p)
    )
