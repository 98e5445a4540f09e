import json
import signal
import subprocess
import sys

from typer.testing import CliRunner

from mmdata.cli import app
from mmdata.crawl import crawl
from mmdata.querying import query
from mmdata.shard import in_shard, parse_shard
from mmdata.store.media import probe
from mmdata.validation import validate


def rows(store, sql):
    return query(sql, store).table.to_pylist()


def test_page_direct_link_and_file_url_become_audio_records(store, server, tmp_path):
    result = crawl(
        [f"{server.url}/page.html", f"{server.url}/podcast-ekonomi.wav", f"file://{server.root / 'ceramah-maghrib.mp3'}"],
        "talks",
        store,
    )
    assert (result.listed, result.downloaded, result.failed, result.version) == (4, 4, 0, 1)
    records = rows(store, "SELECT * FROM talks ORDER BY duration")
    # ceramah-maghrib.mp3 came twice (page + file://): same audio, one record.
    assert [r["duration"] for r in records] == [1.0, 2.0, 3.0]
    podcast = records[2]
    assert podcast["source_url"] == f"{server.url}/podcast-ekonomi.wav" and podcast["video_id"] == "podcast-ekonomi"
    assert podcast["downloader"].startswith("yt-dlp ")
    extractor = json.loads(podcast["extractor"])
    assert extractor["original_format"]["ext"] == "wav" and extractor["archive_key"].startswith("generic podcast-ekonomi-")
    stored = probe(store.media.path(podcast["media_id"]))
    assert (stored.ext, stored.sample_rate, stored.channels) == (".ogg", 16000, 1)
    assert validate("talks", store).ok


def test_rerun_downloads_nothing_already_stored(store, server):
    urls = [f"{server.url}/page.html", f"{server.url}/podcast-ekonomi.wav"]
    crawl(urls, "talks", store)
    assert [server.gets(n) for n in ("ceramah-subuh.mp3", "ceramah-maghrib.mp3", "podcast-ekonomi.wav")] == [1, 1, 2]
    again = crawl(urls, "talks", store)
    assert (again.downloaded, again.already, again.version) == (0, 3, None)
    # Only the listing again: the page, and one look at the direct link; no media download.
    assert [server.gets(n) for n in ("ceramah-subuh.mp3", "ceramah-maghrib.mp3", "podcast-ekonomi.wav")] == [1, 1, 3]


def test_failures_are_recorded_and_never_stop_the_run(store, server, tmp_path):
    result = crawl(
        [
            f"{server.url}/missing.mp3",
            f"{server.url}/corrupt.mp3",
            f"{server.url}/empty.mp3",
            f"file://{tmp_path / 'nowhere.mp3'}",
            f"{server.url}/podcast-ekonomi.wav",
        ],
        "talks",
        store,
    )
    assert result.downloaded == 1 and result.failed == 4
    assert result.failures_by_reason == {"not-found": 2, "bad-audio": 2}
    rejects = rows(store, "SELECT file, rule, message FROM _rejects ORDER BY file")
    assert {r["file"].rsplit("/", 1)[-1]: r["rule"] for r in rejects} == {
        "missing.mp3": "not-found",
        "corrupt.mp3": "bad-audio",
        "empty.mp3": "bad-audio",
        "nowhere.mp3": "not-found",
    }
    # A second run retries the failures but records each reason once.
    crawl([f"{server.url}/missing.mp3"], "talks", store)
    assert rows(store, "SELECT count(*) AS n FROM _rejects") == [{"n": 4}]


def test_filters_and_limit(store, server):
    page = f"{server.url}/page.html"
    direct = [f"{server.url}/ceramah-subuh.mp3", f"{server.url}/ceramah-maghrib.mp3", f"{server.url}/podcast-ekonomi.wav"]
    assert crawl(direct, "a", store, include=["Subuh", "ekonomi"]).downloaded == 2  # case-insensitive, any word
    assert crawl(direct, "b", store, exclude=["ceramah"]).downloaded == 1
    # Durations of direct links are only known after download: measured, then filtered.
    only_long = crawl([page, f"{server.url}/podcast-ekonomi.wav"], "c", store, min_duration=1.5, max_duration=2.5)
    assert (only_long.downloaded, only_long.filtered) == (1, 2)
    assert rows(store, "SELECT duration FROM c") == [{"duration": 2.0}]
    assert crawl([page, f"{server.url}/podcast-ekonomi.wav"], "d", store, limit=2).downloaded == 2


def test_from_a_url_list_and_from_an_info_json(store, server, tmp_path):
    listing = tmp_path / "urls.txt"
    listing.write_text(f"# my list\n{server.url}/podcast-ekonomi.wav\n\n{server.url}/ceramah-subuh.mp3\n")
    assert crawl([], "listed", store, from_file=listing).downloaded == 2
    playlist = {
        "_type": "playlist",
        "id": "PL1",
        "title": "Kuliah Maghrib",
        "entries": [
            {"_type": "url", "url": f"{server.url}/ceramah-maghrib.mp3", "title": "Kuliah 1", "duration": 1.0},
            {"_type": "url", "url": f"{server.url}/ceramah-subuh.mp3", "title": "Kuliah 2 (long)", "duration": 2.0},
        ],
    }
    info = tmp_path / "playlist.info.json"
    info.write_text(json.dumps(playlist))
    result = crawl([], "playlist", store, from_file=info, max_duration=1.5)
    assert (result.listed, result.filtered, result.downloaded) == (2, 1, 1)


def test_shards_partition_the_items_exactly(store, server):
    keys = [f"generic item-{i}" for i in range(1000)]
    for n in (1, 2, 3, 7):
        owners = [[i for i in range(n) if in_shard(k, (i, n))] for k in keys]
        assert all(len(o) == 1 for o in owners)
    urls = [f"{server.url}/page.html", f"{server.url}/podcast-ekonomi.wav", f"{server.url}/ceramah-subuh.mp3"]
    for i in range(2):
        crawl(urls, "shared", store, shard=f"{i}/2")
    crawl(urls, "whole", store)

    def archive(name):  # a shard may get nothing: the URLs hold the server's random port
        path = store.runs / name / "archive.txt"
        return set(path.read_text().split("\n")) - {""} if path.exists() else set()

    first, second = archive("crawl-shared-shard-0-of-2"), archive("crawl-shared-shard-1-of-2")
    assert not first & second and first | second == archive("crawl-whole") and len(first | second) == 4
    assert parse_shard("1/4") == (1, 4)


KILL_AFTER_FIRST = """
import os, signal, sys
from mmdata.crawl import crawl
def progress(task, done, total=None):
    if task == "downloading" and done == 1:
        os.kill(os.getpid(), signal.SIGKILL)
crawl(sys.argv[2:], "talks", sys.argv[1], progress=progress)
"""


def test_killed_crawl_resumes_where_it_stopped(store, server):
    urls = [f"{server.url}/podcast-ekonomi.wav", f"{server.url}/ceramah-subuh.mp3", f"{server.url}/ceramah-maghrib.mp3"]
    proc = subprocess.run([sys.executable, "-c", KILL_AFTER_FIRST, str(store.root), *urls])
    assert proc.returncode == -signal.SIGKILL
    names = ["podcast-ekonomi.wav", "ceramah-subuh.mp3", "ceramah-maghrib.mp3"]
    assert [server.gets(n) for n in names] == [2, 1, 1]  # all listed, the first downloaded
    resumed = crawl(urls, "talks", store)
    assert (resumed.already, resumed.downloaded) == (1, 2)
    assert [server.gets(n) for n in names] == [3, 3, 3]  # listed again; only the other two downloaded
    assert rows(store, "SELECT count(*) AS n FROM talks") == [{"n": 3}]  # the killed run's item too


def test_crawl_command(store, server):
    result = CliRunner().invoke(
        app,
        [
            "--store",
            str(store.root),
            "crawl",
            f"{server.url}/podcast-ekonomi.wav",
            f"{server.url}/missing.mp3",
            "--into",
            "talks",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "talks: 1 downloaded" in result.output and "not-found 1" in result.output
    bad = CliRunner().invoke(app, ["--store", str(store.root), "crawl", "--into", "talks", "--shard", "3/2"])
    assert bad.exit_code == 1 and "--shard" in bad.output


def test_without_yt_dlp_the_error_says_what_to_install(store, monkeypatch):
    import pytest

    from mmdata.errors import MmdataError

    monkeypatch.setitem(sys.modules, "yt_dlp", None)  # what an import finds when the package is missing
    with pytest.raises(MmdataError, match=r"pip install 'mmdata\[crawl\]'"):
        crawl(["https://example.com/a.mp3"], "talks", store)
    with pytest.raises(ImportError):  # still an ImportError, for callers that skip a missing extra (the demo)
        crawl(["https://example.com/a.mp3"], "talks", store)
