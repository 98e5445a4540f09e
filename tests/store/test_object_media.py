"""Media on an object store (moto's S3 server, reached through the standard AWS environment)."""

from __future__ import annotations

import threading

import pytest

from mmdata.errors import InputError, MediaError, MediaMissing, MmdataError
from mmdata.store import bucket, object_media
from mmdata.store.media import MediaFolder, sha256_file
from mmdata.store.object_media import ObjectMedia, open_media
from tests.conftest import make_png, make_wav
from tests.servers import S3_KEY_ID, S3_SECRET


@pytest.fixture
def remote(s3, tmp_path) -> ObjectMedia:
    return ObjectMedia(f"s3://{s3.bucket()}/team/media/", tmp_path / "cache")


@pytest.fixture
def uploads():
    """The uploads this thread's client sends (single PUTs and multipart starts)."""
    sent: list[str] = []

    def count(params, **_):
        sent.append(params["Key"])

    events = bucket.client().meta.events
    for name in ("PutObject", "CreateMultipartUpload"):
        events.register(f"before-parameter-build.s3.{name}", count)
    yield sent
    for name in ("PutObject", "CreateMultipartUpload"):
        events.unregister(f"before-parameter-build.s3.{name}", count)


def in_thread(fn):
    """``fn()``'s result or exception, run on a new thread: a fresh boto3 session reads the environment as it is now."""
    out = {}

    def run():
        try:
            out["value"] = fn()
        except Exception as exc:
            out["error"] = exc

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(60)
    if "error" in out:
        raise out["error"]
    return out["value"]


def test_add_uploads_once_under_the_content_address(s3, remote, tmp_path, uploads):
    info = remote.add(make_wav(tmp_path / "x.wav"))
    assert info.kind == "audio" and info.id == sha256_file(tmp_path / "x.wav")
    key = f"team/media/{info.id[:2]}/{info.id}.wav"
    assert s3.keys(remote.bucket) == [key]
    again = remote.add(make_wav(tmp_path / "copy-of-x.wav"))  # same bytes, another name
    assert again == info
    assert uploads == [key]  # the second add found the object and sent nothing
    assert remote.has(info.id) and not remote.has("0" * 64)


def test_add_bytes_uploads_and_keeps_the_probed_file_in_the_cache(s3, remote, tmp_path, uploads):
    data = make_png(tmp_path / "a.png", size=(20, 10)).read_bytes()
    info = remote.add_bytes(data, ".PNG")
    assert (info.kind, info.width, info.height, info.ext) == ("image", 20, 10, ".png")
    assert s3.keys(remote.bucket) == [f"team/media/{info.id[:2]}/{info.id}.png"]
    assert (remote.cache / info.id[:2] / f"{info.id}.png").read_bytes() == data
    assert remote.add_bytes(data, ".png") == info
    assert len(uploads) == 1
    with pytest.raises(MediaError):
        remote.add_bytes(b"garbage", ".png")
    assert len(s3.keys(remote.bucket)) == 1
    assert not list(remote.cache.rglob(".incoming-*"))  # a failed add leaves nothing behind


def test_path_downloads_once_then_serves_from_the_cache(s3, remote, tmp_path):
    wav = make_wav(tmp_path / "x.wav")
    info = remote.add(wav)
    reader = ObjectMedia(f"s3://{remote.bucket}/team/media", tmp_path / "other-cache")  # another machine
    local = reader.path(info.id)
    assert local == tmp_path / "other-cache" / info.id[:2] / f"{info.id}.wav"
    assert local.read_bytes() == wav.read_bytes()
    assert not list(reader.cache.rglob(".incoming-*"))
    bucket.client().delete_object(Bucket=remote.bucket, Key=f"team/media/{info.id[:2]}/{info.id}.wav")
    assert reader.path(info.id) == local and reader.find(info.id) == local  # no request: the cache serves it
    assert not reader.has(info.id)  # has() asks the bucket, which the cache may outlive


def test_unknown_ids(remote):
    assert remote.find("0" * 64) is None
    assert remote.find("not-an-id") is None
    with pytest.raises(MediaMissing, match="0" * 64):
        remote.path("0" * 64)


def test_two_writers_racing_store_one_object(s3, remote, tmp_path):
    wav = make_wav(tmp_path / "x.wav")
    both_looked = threading.Barrier(2, timeout=30)
    look = ObjectMedia._exists

    def looked(self, key):
        found = look(self, key)
        both_looked.wait()  # both see no object, so both upload: the conditional PUT decides
        return found

    ObjectMedia._exists = looked
    try:
        results = []
        threads = [threading.Thread(target=lambda: results.append(remote.put(wav, sha256_file(wav), ".wav"))) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    finally:
        ObjectMedia._exists = look
    assert sorted(results) == [False, True]  # one stored it, the other's If-None-Match was refused
    assert len(s3.keys(remote.bucket)) == 1
    assert (
        ObjectMedia(f"s3://{remote.bucket}/team/media/", tmp_path / "c2").path(sha256_file(wav)).read_bytes() == wav.read_bytes()
    )


def test_large_files_take_the_managed_transfer(s3, remote, tmp_path, monkeypatch, uploads):
    monkeypatch.setattr(object_media, "SINGLE_PUT_MAX", 0)
    info = remote.add(make_wav(tmp_path / "x.wav"))
    assert remote.add(make_wav(tmp_path / "x.wav")) == info
    assert len(uploads) == 1
    assert s3.keys(remote.bucket) == [f"team/media/{info.id[:2]}/{info.id}.wav"]


def test_a_missing_bucket_is_one_clear_line(s3, tmp_path):
    missing = ObjectMedia("s3://mmdata-no-such-bucket/media/", tmp_path / "cache")
    wav = make_wav(tmp_path / "x.wav")
    for attempt in (lambda: missing.add(wav), lambda: missing.find("0" * 64), lambda: list(missing.entries())):
        with pytest.raises(MmdataError) as caught:
            attempt()
        message = str(caught.value)
        assert not isinstance(caught.value, MediaError)  # not a bad file: the store itself is unusable
        assert "s3://mmdata-no-such-bucket/media/" in message and "bucket does not exist" in message
        assert "\n" not in message and S3_SECRET not in message and S3_KEY_ID not in message


def test_no_credentials_and_no_server_are_clear_lines(s3, tmp_path, monkeypatch):
    wav = make_wav(tmp_path / "x.wav")
    name = s3.bucket()
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(MmdataError, match=f"s3://{name}/media/.*no credentials found"):
        in_thread(lambda: ObjectMedia(f"s3://{name}/media/", tmp_path / "cache").add(wav))

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", S3_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", S3_SECRET)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    with pytest.raises(MmdataError) as caught:
        in_thread(lambda: ObjectMedia(f"s3://{name}/media/", tmp_path / "cache").find("0" * 64))
    message = str(caught.value)
    assert message.startswith(f"s3://{name}/media/") and "cannot be reached" in message
    assert S3_SECRET not in message and S3_KEY_ID not in message


def test_open_media_picks_the_store_by_location(tmp_path):
    assert isinstance(open_media(tmp_path / "media", tmp_path / "cache"), MediaFolder)
    assert isinstance(open_media(str(tmp_path / "media"), tmp_path / "cache"), MediaFolder)
    remote = open_media("s3://bucket/a/media", tmp_path / "cache")
    assert isinstance(remote, ObjectMedia)
    assert (remote.bucket, remote.prefix, remote.cache, remote.location) == (
        "bucket",
        "a/media/",
        tmp_path / "cache",
        "s3://bucket/a/media/",
    )
    with pytest.raises(InputError):
        open_media(f"s3://{S3_KEY_ID}:{S3_SECRET}@bucket/media", tmp_path / "cache")


def test_copying_both_ways_needs_only_has_entries_put_and_path(s3, remote, tmp_path):
    folder = MediaFolder(tmp_path / "media")
    ids = {folder.add(make_wav(tmp_path / "x.wav")).id, folder.add(make_png(tmp_path / "a.png")).id}
    for media_id, ext in folder.entries():
        assert remote.put(folder.path(media_id), media_id, ext)
    assert {media_id for media_id, _ in remote.entries()} == ids
    back = MediaFolder(tmp_path / "back")
    for media_id, ext in remote.entries():
        if not back.has(media_id):
            assert back.put(remote.path(media_id), media_id, ext)
    assert sorted(back.entries()) == sorted(folder.entries())
    assert all(sha256_file(back.path(media_id)) == media_id for media_id in ids)
    assert not any(remote.put(folder.path(i), i, e) for i, e in folder.entries())  # all there: nothing sent
