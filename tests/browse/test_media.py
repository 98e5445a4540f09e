"""Media by content id only (range requests for seeking), and thumbnails made once and cached."""

from __future__ import annotations

import os

import pytest

from mmdata.querying import query


def _media(store) -> dict[str, dict]:
    """The fixture's media by extension (the 64x48 image for .png)."""
    rows = query("SELECT id, kind, ext FROM _media WHERE width IS NULL OR width = 64", store).table.to_pylist()
    return {row["ext"]: row for row in rows}


def test_media_are_served_by_content_id_with_their_type(client, browsed):
    media = _media(browsed)
    png, wav = media[".png"]["id"], media[".wav"]["id"]
    image = client.get(f"/media/{png}")
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    assert image.content == browsed.media.path(png).read_bytes()
    assert image.headers["accept-ranges"] == "bytes" and "immutable" in image.headers["cache-control"]
    assert image.headers["x-content-type-options"] == "nosniff"
    clip = client.get(f"/media/{wav}")
    assert clip.status_code == 200 and clip.headers["content-type"].startswith("audio/wav")


def test_a_range_request_gets_those_bytes(client, browsed):
    wav = _media(browsed)[".wav"]["id"]
    data = browsed.media.path(wav).read_bytes()
    part = client.get(f"/media/{wav}", headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == data[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(data)}"
    tail = client.get(f"/media/{wav}", headers={"Range": "bytes=-10"})
    assert tail.status_code == 206 and tail.content == data[-10:]
    assert client.get(f"/media/{wav}", headers={"Range": f"bytes={len(data) + 5}-"}).status_code == 416


@pytest.mark.parametrize(
    "path",
    [
        "/media/../catalog.sqlite",
        "/media/%2e%2e%2fcatalog.sqlite",
        "/media/..%2F..%2Fetc%2Fpasswd",
        "/media/%2Fetc%2Fpasswd",
        "/media//etc/passwd",
        "/media/etc/passwd",
        "/media/" + "A" * 64,
        "/media/" + "g" * 64,
        "/media/" + "a" * 63,
        "/media/" + "a" * 64,  # well formed, not stored
        "/thumb/..%2F..%2Fetc%2Fpasswd",
        "/thumb/" + "a" * 64,
    ],
)
def test_anything_but_a_stored_content_id_is_a_404(client, path):
    page = client.get(path)
    assert page.status_code == 404
    assert "root:" not in page.text and "SQLite" not in page.text


def test_a_path_never_reaches_the_file_system(client, browsed, monkeypatch):
    """Even a media folder lookup never sees what the request said, unless it is a content id."""
    asked = []
    real = browsed.media.find
    monkeypatch.setattr(browsed.media, "find", lambda media_id: asked.append(media_id) or real(media_id))
    for path in ("/media/..%2Fx", "/media/" + "Z" * 64, "/thumb/..%2Fx", "/thumb/%2Fetc%2Fpasswd"):
        assert client.get(path).status_code == 404
    assert asked == []


def test_a_thumbnail_is_made_once_then_served_from_the_cache(client, browsed, monkeypatch):
    from PIL import Image

    from mmdata.browse import thumbs

    png = _media(browsed)[".png"]["id"]
    cached = browsed.root / "cache" / "thumbs" / png[:2] / f"{png}.jpg"
    assert not cached.exists()
    first = client.get(f"/thumb/{png}")
    assert first.status_code == 200 and first.headers["content-type"] == "image/jpeg"
    assert cached.read_bytes() == first.content
    with Image.open(cached) as image:
        assert image.format == "JPEG" and image.size == (64, 48)  # small images are not enlarged
    os.utime(cached, (1_000_000, 1_000_000))
    monkeypatch.setattr(thumbs, "render", lambda *a, **k: pytest.fail("rendered again"))
    second = client.get(f"/thumb/{png}")
    assert second.status_code == 200 and second.content == first.content
    assert cached.stat().st_mtime == 1_000_000
    assert not list(cached.parent.glob(".incoming-*"))


def test_audio_has_no_thumbnail(client, browsed):
    assert client.get(f"/thumb/{_media(browsed)['.wav']['id']}").status_code == 404


def test_a_thumbnail_fits_256_px_and_flattens_transparency(tmp_path):
    from PIL import Image

    from mmdata.browse.thumbs import render

    Image.new("RGBA", (1000, 400), (255, 0, 0, 0)).save(tmp_path / "wide.png")
    render(tmp_path / "wide.png", tmp_path / "out" / "t.jpg")
    with Image.open(tmp_path / "out" / "t.jpg") as thumb:
        assert thumb.size == (256, 102) and thumb.mode == "RGB"
        assert thumb.getpixel((10, 10)) == pytest.approx((255, 255, 255), abs=3)  # transparent -> white, not black


def test_an_image_that_does_not_decode_has_no_thumbnail(tmp_path):
    from mmdata.browse.thumbs import render
    from mmdata.errors import MediaError

    (tmp_path / "bad.png").write_bytes(b"not a png")
    with pytest.raises(MediaError, match="thumbnail"):
        render(tmp_path / "bad.png", tmp_path / "t.jpg")
    assert not (tmp_path / "t.jpg").exists()
