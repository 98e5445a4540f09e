"""Thumbnails of stored images: made once, kept under ``<store>/cache/thumbs/ab/<id>.jpg``.

A media id names its bytes, so a thumbnail made from them never goes stale and needs no check
against the original after the first time.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from mmdata.errors import MediaError, NotFoundError
from mmdata.records import media_kind
from mmdata.store.lake import Store
from mmdata.store.media import is_media_id

THUMB_SIZE = 256


def thumb_path(store: Store, media_id: str) -> Path:
    """Where the thumbnail of ``media_id`` is kept (whether or not it is made yet)."""
    return store.root / "cache" / "thumbs" / media_id[:2] / f"{media_id}.jpg"


def render(source: Path, target: Path, size: int = THUMB_SIZE) -> None:
    """Write a JPEG of ``source`` shrunk to fit ``size`` px into ``target`` (atomically: a reader
    never sees half a file, and two requests racing both write whole ones)."""
    from PIL import Image, ImageOps

    try:
        with Image.open(source) as image:
            image.draft("RGB", (size, size))  # JPEG decodes at a reduced scale: much faster for big photos
            image = ImageOps.exif_transpose(image)
            image.thumbnail((size, size))
            if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
                image = image.convert("RGBA")
                flat = Image.new("RGB", image.size, "white")
                flat.paste(image, mask=image.getchannel("A"))
                image = flat
            elif image.mode != "RGB":
                image = image.convert("RGB")
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-", suffix=".jpg")
            try:
                with os.fdopen(fd, "wb") as fh:
                    image.save(fh, "JPEG", quality=85)
                os.replace(tmp, target)
            except BaseException:
                os.unlink(tmp)
                raise
    except OSError as exc:  # PIL's "cannot identify image file" / truncated data are OSErrors
        raise MediaError(f"media {source.stem}: cannot make a thumbnail ({exc})") from None


def thumbnail(store: Store, media_id: str) -> Path:
    """The cached thumbnail of image ``media_id``, made on first use. NotFoundError for anything
    but a stored image's content id (audio included)."""
    if not is_media_id(media_id):
        raise NotFoundError("no such image")
    target = thumb_path(store, media_id)
    if target.is_file():
        return target
    source = store.media.find(media_id)
    if source is None or media_kind(source.name) != "image":
        raise NotFoundError(f"no image {media_id}")
    render(source, target)
    return target
