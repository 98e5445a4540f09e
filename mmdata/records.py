"""The record model every other part of mmdata (and mmtrain) agrees on.

Record kinds, where a record keeps its media, the placeholders that stand for a medium in the
text, which files are media, what a violation of a rule looks like, and where the shipped specs
(JSON Schemas, mix specs, prompts, training configs) are. This is the bottom layer: it imports
nothing of ours, so any module may import it without pulling in the store or the readers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

RECORD_KINDS = ("conversation", "audio", "transcript", "image")

# A conversation lists its media per field, in placeholder order; the other kinds describe one medium each.
MEDIA_FIELDS = {"conversation": {"images": "image", "audios": "audio"}}
SINGLE_MEDIA = {"audio": "audio", "transcript": "audio", "image": "image"}

# The n-th placeholder of a medium in a conversation's text stands for the n-th file of that medium.
PLACEHOLDERS = {"image": "<image>", "audio": "<audio>"}

# Free-form objects (generation settings, extractor fields, attributes, fields we do not know):
# the store keeps them as JSON text, and our Parquet exports carry them that way.
JSON_FIELDS = {"generation", "extractor", "settings", "attributes", "extra"}

AUDIO_EXTS = {".wav", ".flac", ".mp3", ".ogg", ".opus", ".m4a", ".aac", ".webm", ".mka"}
IMAGE_EXTS = {".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp", ".tif", ".tiff"}


def media_kind(name: str) -> str | None:
    """'audio' or 'image' by file extension, None when neither.

    >>> media_kind("clip.MP3"), media_kind("cat.png"), media_kind("notes.txt")
    ('audio', 'image', None)
    """
    ext = Path(name).suffix.lower()
    return "audio" if ext in AUDIO_EXTS else "image" if ext in IMAGE_EXTS else None


@dataclass(frozen=True)
class Violation:
    """Why a record is invalid: which field (a JSON-pointer-like path), which rule, in words.

    Rule names are stable: reports and the ``_rejects`` table group by them.
    """

    path: str
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: [{self.rule}] {self.message}"


# The source tree's top-level specs/; an installed wheel carries the same folder as mmdata/specs.
_SOURCE_SPECS = Path(__file__).resolve().parents[1] / "specs"


def specs_dir() -> Path:
    """``specs/`` of the source tree, else the copy installed as ``mmdata.specs``."""
    if (_SOURCE_SPECS / "schemas").is_dir():
        return _SOURCE_SPECS
    return Path(__file__).resolve().parent / "specs"
