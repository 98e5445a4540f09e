"""A fetched picture into the store: decode, size check, content-addressed media, perceptual hash."""

from __future__ import annotations

import io
from dataclasses import dataclass, field

from mmdata.errors import MediaError
from mmdata.store.media import MediaFolder, MediaInfo

NEAR_DUPLICATE_DISTANCE = 6  # phash bits; resized/re-encoded copies land at 0-4, distinct photos well above 10
_EXTS = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp", "GIF": ".gif", "BMP": ".bmp", "TIFF": ".tif", "MPO": ".jpg"}


class ImageRejected(Exception):
    """Why a fetched picture is not kept: ``rule`` is the reject's rule."""

    def __init__(self, rule: str, message: str):
        super().__init__(message)
        self.rule = rule


@dataclass
class Kept:
    media: MediaInfo
    phash: str
    near_duplicate_of: str | None


@dataclass
class PictureIndex:
    """The perceptual hashes of the pictures this dataset's crawl has kept, to flag near-duplicates."""

    hashes: dict[str, object] = field(default_factory=dict)  # media id -> imagehash.ImageHash
    # media id -> whether its record has structured fields. The store keys an image record by its
    # media id, so a second page showing the same picture would replace the first page's record:
    # it may only when it brings structured context the first lacked.
    recorded: dict[str, bool] = field(default_factory=dict)
    flags: dict[str, str] = field(default_factory=dict)  # media id -> the earlier picture it nearly duplicates

    def add(self, media_id: str, phash: str, structured: bool, near_duplicate_of: str | None = None) -> None:
        """Remember a picture an earlier run recorded."""
        import imagehash

        self.hashes.setdefault(media_id, imagehash.hex_to_hash(phash))
        self.recorded[media_id] = structured
        if near_duplicate_of:
            self.flags[media_id] = near_duplicate_of

    def replaces(self, media_id: str, structured: bool) -> bool:
        """Whether a record of ``media_id`` with (or without) structured fields should be made."""
        return media_id not in self.recorded or (structured and not self.recorded[media_id])

    def nearest(self, media_id: str, phash) -> str | None:
        """An earlier, different picture within ``NEAR_DUPLICATE_DISTANCE`` of ``phash``, or None."""
        best, best_distance = None, NEAR_DUPLICATE_DISTANCE + 1
        for other, known in self.hashes.items():
            if other != media_id and (distance := phash - known) < best_distance:
                best, best_distance = other, distance
        return best


def keep_image(data: bytes, media: MediaFolder, index: PictureIndex, min_size: int) -> Kept:
    """Store picture ``data`` if it decodes and its shorter side is at least ``min_size`` pixels.

    The same bytes are stored once (the media id is their sha256); a picture within a few phash
    bits of an earlier one of this crawl is kept and marked ``near_duplicate_of`` it."""
    import imagehash
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            ext = _EXTS.get(image.format or "")
            width, height = image.size
            if ext is None:
                raise ImageRejected("image-undecodable", f"unsupported picture format {image.format}")
            if min(width, height) < min_size:
                raise ImageRejected("image-too-small", f"{width}x{height} is under {min_size} px on its shorter side")
            phash = imagehash.phash(image.convert("RGB"))
    except ImageRejected:
        raise
    except Exception as exc:  # Pillow's many ways of saying "not a picture"
        raise ImageRejected("image-undecodable", f"does not decode as a picture ({exc})") from exc
    try:
        stored = media.add_bytes(data, ext)
    except MediaError as exc:
        raise ImageRejected("image-undecodable", str(exc)) from exc
    if stored.id in index.hashes:  # met before: it keeps the flag it got then, whatever came in between
        return Kept(stored, str(phash), index.flags.get(stored.id))
    near = index.nearest(stored.id, phash)
    index.hashes[stored.id] = phash
    if near:
        index.flags[stored.id] = near
    return Kept(stored, str(phash), near)
