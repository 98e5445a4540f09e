"""``copy``: a version with its media and lineage between stores (local <-> team), resumable and idempotent."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from mmdata import copy, import_, log, tag
from mmdata.cli import app
from mmdata.errors import InputError, MmdataError, NotFoundError
from mmdata.records import MEDIA_FIELDS, SINGLE_MEDIA
from mmdata.store.lake import Store, fetch_dicts
from mmdata.store.media import sha256_file
from mmdata.store.object_media import ObjectMedia
from mmdata.store.versions import list_versions, resolve
from tests.conftest import SAMPLES
from tests.servers import PG_PASSWORD, S3_SECRET


@pytest.fixture
def laptop(tmp_path) -> Store:
    """A local store with a conversation dataset (images and audio) tagged stable, and an image dataset."""
    store = Store(tmp_path / "laptop")
    import_(SAMPLES / "relationships.jsonl", "rel", store)
    import_(SAMPLES / "images", "pics", store)
    tag("rel@1", "stable", store=store)
    return store


@pytest.fixture
def no_secrets(monkeypatch):
    """A password libpq would send (the test cluster trusts everyone and ignores it): it must show up nowhere."""
    monkeypatch.setenv("PGPASSWORD", PG_PASSWORD)


def rows(store: Store, ref: str) -> list[dict]:
    with store.reader() as con:
        return fetch_dicts(con, f"SELECT * FROM {resolve(con, ref).relation} ORDER BY key")


def media_ids(store: Store, ref: str) -> set[str]:
    with store.reader() as con:
        kind = resolve(con, ref).record_kind
    found = set()
    for row in rows(store, ref):
        found.update(m for f in MEDIA_FIELDS.get(kind, {}) for m in row[f] or [])
        if kind in SINGLE_MEDIA:
            found.add(row["media_id"])
    return found


def versions(store: Store, name: str) -> list[int]:
    with store.reader() as con:
        return [v["version"] for v in list_versions(con, name)]


def journals(store: Store) -> list[str]:
    """Run journals left under the store's runs/ (a failed copy leaves none: nothing in one is worth resuming)."""
    return [p.name for p in store.runs.iterdir() if not p.name.startswith(".")] if store.runs.exists() else []


@pytest.fixture
def puts(monkeypatch) -> list[str]:
    """The media ids every ObjectMedia.put really uploaded."""
    sent: list[str] = []
    original = ObjectMedia.put

    def counting(self, path, media_id, ext):
        uploaded = original(self, path, media_id, ext)
        if uploaded:
            sent.append(media_id)
        return uploaded

    monkeypatch.setattr(ObjectMedia, "put", counting)
    return sent


def test_local_team_local_round_trip_keeps_rows_and_media(laptop, team_store, tmp_path, no_secrets):
    back = Store(tmp_path / "back")
    for name in ("rel", "pics"):
        there = copy(f"{name}@1", team_store, laptop)
        assert (there.version, there.added, there.records) == (1, len(rows(laptop, name)), len(rows(laptop, name)))
        home = copy(name, back, team_store)
        assert home.version == 1 and home.media_sent + home.media_skipped == home.media  # pics shares images with rel
        original = rows(laptop, f"{name}@1")
        assert rows(team_store, name) == original == rows(back, name)  # keys, ids and every column
        ids = media_ids(laptop, name)
        assert ids and all(team_store.media.has(m) for m in ids)
        for media_id in ids:
            assert sha256_file(back.media.path(media_id)) == sha256_file(laptop.media.path(media_id)) == media_id
    with back.reader() as con:  # the _media rows came along
        described = {r["id"] for r in fetch_dicts(con, "SELECT id FROM lake._media")}
    assert media_ids(laptop, "rel") | media_ids(laptop, "pics") <= described


def test_copying_again_makes_no_version_and_sends_nothing(laptop, team_store, puts):
    first = copy("rel", team_store, laptop)
    assert first.media_sent == first.media == len(puts) == len(media_ids(laptop, "rel"))
    figures = []
    again = copy("rel", team_store, laptop, progress=lambda task, done, total=None, note=None: figures.append((task, note)))
    assert (again.version, again.media_sent, again.media_skipped, again.unchanged) == (None, 0, first.media, first.records)
    assert len(puts) == first.media  # not one more upload
    assert ("media", f"0 sent, {first.media} skipped") in figures
    assert versions(team_store, "rel") == [1]
    assert "already holds" in again.message


def test_a_killed_copy_sends_only_the_rest_when_run_again(laptop, team_store, monkeypatch):
    total = len(media_ids(laptop, "rel"))
    original = ObjectMedia.put
    sent: list[str] = []

    def dies_after_two(self, path, media_id, ext):
        if len(sent) == 2:
            raise MmdataError("connection lost")
        uploaded = original(self, path, media_id, ext)
        sent.append(media_id)
        return uploaded

    monkeypatch.setattr(ObjectMedia, "put", dies_after_two)
    with pytest.raises(MmdataError, match="connection lost"):
        copy("rel", team_store, laptop, workers=1)
    assert len(sent) == 2 and not versions(team_store, "rel")  # media first: no version without its media
    assert journals(team_store) == []

    monkeypatch.setattr(ObjectMedia, "put", original)
    resumed = copy("rel", team_store, laptop)
    assert (resumed.media_sent, resumed.media_skipped, resumed.version) == (total - 2, 2, 1)
    assert all(team_store.media.has(m) for m in media_ids(laptop, "rel"))


def test_lineage_names_the_source_and_carries_its_chain(laptop, team_store, tmp_path, no_secrets):
    import_(SAMPLES / "audio_instructions.jsonl", "rel", laptop)  # rel@2 on the laptop
    copy("rel@2", team_store, laptop)
    (copied,) = log("rel", store=team_store)
    assert copied["command"] == "copy" and copied["parents"] == [f"{laptop.root}:rel@2"]
    assert [(v["version"], v["command"]) for v in copied["inputs"]] == [(1, "import"), (2, "import")]
    assert copied["inputs"][1]["inputs"][0]["path"] == "audio_instructions.jsonl"

    back = Store(tmp_path / "back")
    copy("rel", back, team_store)
    (home,) = log("rel", store=back)
    assert home["parents"] == [f"{team_store.where()}:rel@1"] and home["parents"][0].startswith("postgres:dbname=")
    assert [v["command"] for v in home["inputs"]] == ["copy"]
    assert [v["command"] for v in home["inputs"][0]["inputs"]] == ["import", "import"]  # the whole way back
    text = json.dumps([log("rel", store=s) for s in (team_store, back)], default=str)
    assert PG_PASSWORD not in text and S3_SECRET not in text


def test_rename_tags_and_replace(laptop, tmp_path):
    other = Store(tmp_path / "other")
    result = copy("rel@stable", other, laptop, into="relations", tags=True)
    assert (result.dataset, result.version, result.tags) == ("relations", 1, ["stable"])
    assert rows(other, "relations@stable") == rows(laptop, "rel@1")
    assert copy("rel@stable", other, laptop, into="relations", tags=True).tags == []  # already there
    # A newer source version replaces the copy's rows: the destination holds exactly it.
    import_(SAMPLES / "audio_instructions.jsonl", "rel", laptop, replace=True)
    newer = copy("rel", other, laptop, into="relations")
    assert newer.version == 2 and newer.removed == 2 and "removed" in newer.message
    assert rows(other, "relations") == rows(laptop, "rel@2")
    assert log("relations", store=other)[1]["parents"] == ["relations@1", f"{laptop.root}:rel@2"]


def test_unknown_version_and_kind_mismatch(laptop, tmp_path):
    other = Store(tmp_path / "other")
    with pytest.raises(NotFoundError, match="unknown version 'rel@7'"):
        copy("rel@7", other, laptop)
    with pytest.raises(NotFoundError, match="unknown dataset 'nope'"):
        copy("nope", other, laptop)
    copy("pics", other, laptop)
    with pytest.raises(InputError, match="holds image records"):
        copy("rel", other, laptop, into="pics")
    assert journals(other) == []


def test_copy_command(laptop, tmp_path):
    runner = CliRunner()
    other = tmp_path / "other"
    made = runner.invoke(app, ["--store", str(laptop.root), "copy", "rel@1", "--to", str(other), "--tags", "--json"])
    assert made.exit_code == 0, made.output
    answer = json.loads(made.output)
    assert (answer["dataset"], answer["version"], answer["tags"], answer["media_sent"]) == ("rel", 1, ["stable"], 4)
    again = runner.invoke(app, ["--store", str(laptop.root), "copy", "rel", "--to", str(other), "--as", "rel"])
    assert again.exit_code == 0 and "rel already holds" in again.output and "0 sent" in again.output
    missing = runner.invoke(app, ["--store", str(laptop.root), "copy", "rel@9", "--to", str(other)])
    assert missing.exit_code == 1 and missing.output.startswith("error: unknown version 'rel@9'")
