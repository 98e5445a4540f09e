"""A Hugging Face dataset (``save_to_disk``) with the media embedded as ``Image`` / ``Audio`` features.

``datasets.load_from_disk(out)`` then decodes the real media: images to PIL, audio through
torchcodec. Conversations keep their media in ``images`` / ``audios`` lists, in placeholder order.
"""

from __future__ import annotations

from pathlib import Path

from mmdata.errors import MmdataError
from mmdata.exporters.common import VersionReader
from mmdata.exporters.exporter import Exporter
from mmdata.extras import import_extra
from mmdata.records import MEDIA_FIELDS, SINGLE_MEDIA


def _features(record_kind: str):
    import datasets

    from mmdata.store.tables import arrow_schema

    schema = arrow_schema(record_kind)
    schema = schema.remove(schema.get_field_index("key"))
    features = datasets.Features.from_arrow_schema(schema)
    feature = {"image": datasets.Image(), "audio": datasets.Audio()}
    if record_kind in MEDIA_FIELDS:
        for field, kind in MEDIA_FIELDS[record_kind].items():
            features[field] = datasets.List(feature[kind])
    else:
        media = SINGLE_MEDIA[record_kind]
        del features["media_id"]
        features[media] = feature[media]
    return features


def _check_audio_encoder() -> None:
    """datasets' ``Audio`` feature imports torchcodec to store any audio; torchcodec loads FFmpeg's
    shared libraries on import and raises RuntimeError (not ImportError) when they are missing."""
    try:
        import torchcodec.encoders  # noqa: F401
    except ImportError as exc:
        raise MmdataError(f"the hf export of audio needs torchcodec: pip install torchcodec ({_first_line(exc)})") from None
    except (RuntimeError, OSError) as exc:
        raise MmdataError(
            "the hf export of audio needs FFmpeg's shared libraries for torchcodec: "
            f"apt-get install ffmpeg (or conda install ffmpeg); torchcodec said: {_first_line(exc)}"
        ) from None


def _first_line(exc: BaseException) -> str:
    """The error in one line: its first, plus the first library that failed to load when torchcodec lists them."""
    lines = [s.strip() for s in str(exc).splitlines() if s.strip()] or [type(exc).__name__]
    loading = next((i for i, s in enumerate(lines) if s.startswith("[start of")), None)
    line = lines[0] + (f" {lines[loading + 1]}" if loading is not None and loading + 1 < len(lines) else "")
    return line if len(line) <= 300 else line[:299] + "…"


def write(reader: VersionReader, out: Path, language: str, progress) -> dict:
    datasets = import_extra("datasets", "hf", "the hf export")
    kind = reader.version.record_kind

    def embedded(media_id: str) -> dict:
        path = reader.media_path(media_id)
        return {"bytes": path.read_bytes(), "path": path.name}

    audio_fields = (
        [f for f, media in MEDIA_FIELDS[kind].items() if media == "audio"]
        if kind in MEDIA_FIELDS
        else ["media_id"]
        if SINGLE_MEDIA[kind] == "audio"
        else []
    )

    def rows():
        checked = False  # rows without audio (images only) never need torchcodec
        for n, row in enumerate(reader.rows(), start=1):
            if not checked and any(row.get(f) for f in audio_fields):
                _check_audio_encoder()
                checked = True
            if kind in MEDIA_FIELDS:
                for field in MEDIA_FIELDS[kind]:
                    row[field] = [embedded(m) for m in row[field] or []]
            else:
                row[SINGLE_MEDIA[kind]] = embedded(row.pop("media_id"))
            progress("exporting", n, reader.count)
            yield row

    import tempfile

    from datasets.arrow_writer import ArrowWriter

    features = _features(kind)
    # Rows stream through an Arrow file (memory-mapped afterwards), so a large export never
    # holds every media file in memory.
    with tempfile.TemporaryDirectory(prefix="mmdata-hf-") as scratch:
        staged = str(Path(scratch) / "rows.arrow")
        with ArrowWriter(features=features, path=staged) as writer:
            for row in rows():
                writer.write(features.encode_example(row))
            writer.finalize()
        dataset = datasets.Dataset.from_file(staged)
        # We report progress ourselves; datasets' own bars would print from inside the library.
        bars_were_on = datasets.is_progress_bar_enabled()
        datasets.disable_progress_bars()
        try:
            dataset.save_to_disk(str(out))
        finally:
            if bars_were_on:
                datasets.enable_progress_bars()
    reader.manifest(out, format="hf")
    return {"records": len(dataset), "skipped": 0}


EXPORTER = Exporter(
    name="hf", writes="a `save_to_disk` folder with the media embedded as `Image` / `Audio` features", write=write
)
