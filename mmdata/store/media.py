"""The content-addressed media folder: ``media/ab/<sha256>.<ext>``.

Records refer to media by id (the sha256 of the bytes), so the same clip imported twice is
stored once, and an id is proof of exactly which bytes a record was built from.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from mmdata.errors import MediaError, MediaMissing
from mmdata.records import AUDIO_EXTS, IMAGE_EXTS, media_kind


def is_media_id(value: str) -> bool:
    return len(value) == 64 and all(c in "0123456789abcdef" for c in value)


@dataclass(frozen=True)
class MediaInfo:
    """What decoding a media file told us; stored in the ``_media`` table."""

    id: str
    ext: str
    kind: str
    bytes: int
    duration_s: float | None = None
    sample_rate: int | None = None
    channels: int | None = None
    width: int | None = None
    height: int | None = None

    def row(self) -> dict:
        return asdict(self)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# Containers whose length libsndfile measures from the data present (PCM bounded by the file
# size; Ogg from its last page), so a cut file reports what it holds. FLAC and MP3 report the
# length their header declares, and a half-downloaded file would be recorded at full length.
_MEASURED_FORMATS = {"WAV", "WAVEX", "AIFF", "AU", "W64", "RF64", "CAF", "OGG"}
# Opening these with libsndfile is wasted (they are decoded anyway), and its MP3 decoder prints
# warnings about cut files to stderr.
_DECODE_EXTS = {".mp3", ".flac", ".m4a", ".aac", ".webm", ".mka"}


def _probe_audio(path: Path) -> dict:
    if path.suffix.lower() not in _DECODE_EXTS:
        import soundfile

        try:
            info = soundfile.info(str(path))
        except Exception:  # soundfile reads WAV/FLAC/OGG; anything else goes to PyAV below
            info = None
        if info is not None and info.format in _MEASURED_FORMATS:
            if info.frames <= 0:
                raise MediaError(f"{path}: audio has no samples")
            return {"duration_s": info.frames / info.samplerate, "sample_rate": info.samplerate, "channels": info.channels}
    import av

    from mmdata.audio import decode_to_end

    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise MediaError(f"{path}: no audio stream")
            stream = container.streams.audio[0]
            samples = sum(frame.samples for frame in decode_to_end(container, stream))
            rate = stream.codec_context.sample_rate or stream.rate
            channels = stream.codec_context.channels
    except MediaError:
        raise
    except Exception as exc:
        raise MediaError(f"{path}: audio does not decode ({exc})") from exc
    if samples <= 0 or not rate:
        raise MediaError(f"{path}: audio has no samples")
    return {"duration_s": samples / rate, "sample_rate": rate, "channels": channels}


def _probe_image(path: Path) -> dict:
    from PIL import Image

    try:
        with Image.open(path) as image:
            image.load()
            width, height = image.size
    except Exception as exc:
        raise MediaError(f"{path}: image does not decode ({exc})") from exc
    if width <= 0 or height <= 0:
        raise MediaError(f"{path}: image is empty")
    return {"width": width, "height": height}


def probe(path: Path, media_id: str | None = None) -> MediaInfo:
    """Decode ``path`` fully enough to prove it is real media and measure it."""
    path = Path(path)
    if not path.is_file():
        raise MediaMissing(f"{path}: media file not found")
    kind = media_kind(path.name)
    if kind is None:
        raise MediaError(
            f"{path}: unknown media type {path.suffix!r} (audio: {sorted(AUDIO_EXTS)}, images: {sorted(IMAGE_EXTS)})"
        )
    size = path.stat().st_size
    if size == 0:
        raise MediaError(f"{path}: file is empty")
    facts = _probe_audio(path) if kind == "audio" else _probe_image(path)
    return MediaInfo(id=media_id or sha256_file(path), ext=path.suffix.lower(), kind=kind, bytes=size, **facts)


class MediaFolder:
    """Adds files to and resolves ids in ``<store>/media``."""

    def __init__(self, root: Path):
        self.root = Path(root)

    @property
    def location(self) -> str:
        """Where the media lives, for messages."""
        return str(self.root)

    def _target(self, media_id: str, ext: str) -> Path:
        return self.root / media_id[:2] / f"{media_id}{ext}"

    def add(self, source: Path) -> MediaInfo:
        """Probe ``source`` and copy it in (atomically: a crash never leaves half a file)."""
        info = probe(source)
        self.put(Path(source), info.id, info.ext)
        return info

    def add_bytes(self, data: bytes, ext: str) -> MediaInfo:
        """Store raw bytes (e.g. embedded in a Hugging Face dataset) under their content id."""
        media_id = hashlib.sha256(data).hexdigest()
        ext = ext.lower()
        target = self._target(media_id, ext)
        if target.exists():
            return probe(target, media_id)
        target.parent.mkdir(parents=True, exist_ok=True)
        # The temp file keeps the extension: decoders pick a demuxer by suffix.
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-", suffix=ext)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        try:
            info = probe(Path(tmp), media_id)
        except MediaError:
            os.unlink(tmp)
            raise
        os.replace(tmp, target)
        return info

    def find(self, media_id: str) -> Path | None:
        """The stored file of ``media_id``, or None."""
        folder = self.root / media_id[:2]
        matches = list(folder.glob(f"{media_id}.*")) if folder.is_dir() else []
        return matches[0] if matches else None

    def path(self, media_id: str) -> Path:
        """The stored file of ``media_id``; MediaMissing when it is not stored."""
        found = self.find(media_id)
        if found is None:
            raise MediaMissing(f"media {media_id} is not in {self.root}")
        return found

    # What copying between media stores (a folder and an ``ObjectMedia``) needs: the same on both.

    def has(self, media_id: str) -> bool:
        """Whether ``media_id`` is stored."""
        return self.find(media_id) is not None

    def entries(self) -> Iterator[tuple[str, str]]:
        """Every stored ``(media_id, ext)``."""
        if not self.root.is_dir():
            return
        for folder in sorted(self.root.iterdir()):
            if folder.is_dir() and len(folder.name) == 2:
                for file in sorted(folder.iterdir()):
                    if is_media_id(file.stem) and file.suffix:  # not the .incoming- temp files
                        yield file.stem, file.suffix

    def put(self, path: Path, media_id: str, ext: str) -> bool:
        """Copy in ``path``, already known to hold ``media_id``, unless stored; whether it copied.

        Atomic: a crash never leaves half a file under the final name."""
        target = self._target(media_id, ext.lower())
        if target.exists():
            return False
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        os.close(fd)
        try:
            shutil.copyfile(path, tmp)
        except BaseException:
            os.unlink(tmp)
            raise
        os.replace(tmp, target)
        return True
