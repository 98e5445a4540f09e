"""Column layout of each record kind, and the record <-> table-row mapping.

Records are JSON objects (validated by ``specs/schemas``); in the lake they are typed columns
so SQL can unnest turns and filter media directly. Free-form objects (generation settings,
extractor fields, attributes, fields we do not know) are kept as JSON text.
"""

from __future__ import annotations

import hashlib
import json

import pyarrow as pa

from mmdata.records import JSON_FIELDS

_TURN = pa.struct([("role", pa.string()), ("content", pa.string()), ("content_ms", pa.string())])

_COLUMNS: dict[str, list[tuple[str, pa.DataType]]] = {
    "conversation": [
        ("kind", pa.string()),
        ("context", pa.string()),
        ("chat", pa.list_(_TURN)),
        ("images", pa.list_(pa.string())),
        ("audios", pa.list_(pa.string())),
        ("generation", pa.string()),
        ("source", pa.list_(pa.string())),
    ],
    "audio": [
        ("media_id", pa.string()),
        ("source_url", pa.string()),
        ("video_id", pa.string()),
        ("title", pa.string()),
        ("channel", pa.string()),
        ("upload_date", pa.string()),
        ("duration", pa.float64()),
        ("license", pa.string()),
        ("downloader", pa.string()),
        ("caption", pa.string()),
        ("caption_ms", pa.string()),
        ("extractor", pa.string()),
    ],
    "transcript": [
        ("media_id", pa.string()),
        ("parent_audio_id", pa.string()),
        ("start", pa.float64()),
        ("end", pa.float64()),
        ("text_ms", pa.string()),
        ("text_en", pa.string()),
        ("language", pa.string()),
        ("language_prob", pa.float64()),
        ("avg_logprob", pa.float64()),
        ("no_speech_prob", pa.float64()),
        ("compression_ratio", pa.float64()),
        ("repeated_ngram", pa.bool_()),
        # Per forced language (the reference's score_ms / score_en / repeat_ms / repeat_en).
        ("avg_logprob_ms", pa.float64()),
        ("avg_logprob_en", pa.float64()),
        ("compression_ratio_ms", pa.float64()),
        ("compression_ratio_en", pa.float64()),
        ("repeated_ngram_ms", pa.bool_()),
        ("repeated_ngram_en", pa.bool_()),
        ("model", pa.string()),
        ("settings", pa.string()),
    ],
    "image": [
        ("media_id", pa.string()),
        ("caption", pa.string()),
        ("caption_ms", pa.string()),
        ("description", pa.string()),
        ("description_ms", pa.string()),
        ("title", pa.string()),
        ("attributes", pa.string()),
        ("source_url", pa.string()),
        ("license", pa.string()),
        ("width", pa.int64()),
        ("height", pa.int64()),
    ],
}


def arrow_schema(record_kind: str) -> pa.Schema:
    """The table schema of ``record_kind``: id and key first, unknown fields last in ``extra``."""
    return pa.schema([("id", pa.string()), ("key", pa.string()), *_COLUMNS[record_kind], ("extra", pa.string())])


def field_names(record_kind: str) -> list[str]:
    return [name for name, _ in _COLUMNS[record_kind]]


def _digest(value) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def record_key(record_kind: str, record: dict, content_id: str) -> str:
    """The identity a record keeps across edits, so ``diff`` can say "changed" rather than removed+added.

    Media records are keyed by their media (and time span). A conversation is keyed by the id its
    input gave it (``source_id``) when it has one, else by its content (``content_id``): two
    conversations are one record only when the input says so or their content is the same. The
    commit then lets a content-keyed record that replaces an old one take over the old key when
    the pairing is unambiguous (``commit._pair_edits``), which is how a corrected re-import of a
    file without ids still shows as "changed".
    """
    if record_kind != "conversation":
        return _digest([record_kind, record.get("media_id"), record.get("start"), record.get("end")])
    source_id = record.get("source_id")
    if isinstance(source_id, (str, int)) and not isinstance(source_id, bool) and str(source_id):
        return _digest(["source_id", str(source_id)])
    return content_id


def record_id(record: dict) -> str:
    """Content hash of everything but the id and key themselves."""
    return _digest({k: v for k, v in record.items() if k not in ("id", "key") and v is not None})


def to_row(record_kind: str, record: dict) -> dict:
    """A validated record as a table row (id and key filled in)."""
    names = field_names(record_kind)
    row = {name: record.get(name) for name in names}
    for name in JSON_FIELDS & set(names):
        if row[name] is not None and not isinstance(row[name], str):
            # allow_nan=False: never store NaN as JSON text no reader accepts (readers reject it first)
            row[name] = json.dumps(row[name], ensure_ascii=False, sort_keys=True, allow_nan=False)
    if record_kind == "conversation":
        row["chat"] = [
            {"role": t.get("role"), "content": t.get("content"), "content_ms": t.get("content_ms")}
            for t in record.get("chat") or []
        ]
        for name in ("images", "audios", "source"):
            row[name] = list(record.get(name) or [])
    extra = {k: v for k, v in record.items() if k not in names and k not in ("id", "key")}
    row["extra"] = json.dumps(extra, ensure_ascii=False, sort_keys=True, allow_nan=False) if extra else None
    canonical = from_row(record_kind, {**row, "id": None, "key": None})
    row["id"] = record_id(canonical)
    row["key"] = record_key(record_kind, canonical, row["id"])
    return row


def from_row(record_kind: str, row: dict) -> dict:
    """A table row back as a record: JSON text parsed, empty values dropped, extra fields merged."""
    record: dict = {}
    if row.get("id"):
        record["id"] = row["id"]
    for name in field_names(record_kind):
        value = row.get(name)
        if name in JSON_FIELDS and isinstance(value, str):
            value = json.loads(value)
        if name == "chat" and value is not None:
            value = [{k: v for k, v in turn.items() if v is not None} for turn in value]
        if value is None or (name in ("images", "audios", "source") and not value):
            continue
        record[name] = value
    if row.get("extra"):
        record.update(json.loads(row["extra"]))
    return record
