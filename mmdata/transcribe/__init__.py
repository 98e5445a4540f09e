"""``transcribe``: cut stored audio into chunks and pseudo-label each with faster-whisper, resumably."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from mmdata.errors import InputError
from mmdata.extras import import_extra
from mmdata.jobs import Job, Made, Outcome
from mmdata.options import at_least
from mmdata.progress import ProgressCallback, silent
from mmdata.store.lake import Store
from mmdata.store.versions import Lineage, resolve
from mmdata.transcribe.quality import DEFAULT_FILTER, QualityFilter

__all__ = ["transcribe", "TranscribeResult", "DEFAULT_FILTER", "QualityFilter"]


@dataclass
class TranscribeResult:
    dataset: str
    version: int | None = None
    audio_items: int = 0
    already: int = 0
    transcribed: int = 0
    chunks: int = 0
    failed: int = 0
    failures_by_reason: dict = field(default_factory=dict)
    audio_hours: float = 0.0
    real_time_factor: float | None = None  # wall seconds per audio second (lower is faster)
    message: str = ""


def _languages(text: str) -> list[str] | None:
    """``"ms,en"`` -> ["ms", "en"]; ``"auto"`` -> None (detect, one pass in the detected language)."""
    if text.strip() == "auto":
        return None
    languages = [part.strip() for part in text.split(",") if part.strip()]
    if not languages:
        raise InputError("--languages: give codes like ms,en, or auto")
    return languages


def transcribe(
    source: str,
    into: str,
    store: Store | str | None = None,
    *,
    model: str = "large-v3",
    device: str = "auto",
    compute_type: str = "default",
    batch_size: int = 8,
    beam_size: int = 5,
    chunking: str = "vad",
    max_chunk_seconds: float = 30.0,
    languages: str = "ms,en",
    shard: str | None = None,
    checkpoint: int = 50,
    wait: float | None = None,
    progress: ProgressCallback = silent,
) -> TranscribeResult:
    """Transcribe the ``audio`` records of ``source`` (``name[@V]``) into ``transcript`` records in ``into``.

    Each chunk (VAD: up to ``max_chunk_seconds``, cut at silences; ``fixed``: the reference's
    back-to-back 30 s windows) becomes a record with its own stored clip, its place in the parent,
    the detected language and probability, and one text per forced language (``ms,en``, the
    reference's pseudo-labels) with its quality signals. The journal
    ``runs/transcribe-<into>[-shard-i-of-n]/`` makes the job resumable per audio item.
    """
    import_extra("faster_whisper", "transcribe", "transcribe")

    from mmdata.transcribe.labeller import Labeller
    from mmdata.transcribe.whisper import load_model

    store = Store.of(store)
    job = Job(store, "transcribe", into, "transcript", shard=shard, checkpoint=checkpoint, wait=wait)
    if chunking not in ("vad", "fixed"):
        raise InputError(f"--chunking must be vad or fixed, not {chunking!r}")
    if not 1 <= max_chunk_seconds <= 30:
        raise InputError("--max-chunk-seconds must be between 1 and 30 (Whisper hears 30 s at a time)")
    at_least(1, batch_size=batch_size, beam_size=beam_size)
    at_least(0, checkpoint=checkpoint, wait=wait)
    forced = _languages(languages)
    with store.reader() as con:
        ref = resolve(con, source)
        if ref.record_kind != "audio":
            raise InputError(f"{ref} holds {ref.record_kind} records; transcribe reads audio records")
        items = con.execute(f"SELECT media_id, duration FROM {ref.relation} ORDER BY media_id").fetchall()
    items = [(media_id, duration) for media_id, duration in items if job.mine(media_id)]
    settings = {
        "chunking": chunking,
        "max_chunk_seconds": max_chunk_seconds,
        "languages": forced or "auto",
        "beam_size": beam_size,
        "batch_size": batch_size,
        "device": device,
        "compute_type": compute_type,
        "temperature": 0.0,
    }
    result = TranscribeResult(into, audio_items=len(items))
    job.start(
        Lineage("transcribe", {"source": source, "model": model, "shard": shard, **settings}, parents=[str(ref)]),
        counts=lambda: {"audio_items": result.transcribed, "chunks": result.chunks, "failed": job.failures.items},
    )
    todo = job.pending(items, _key)
    result.already = len(items) - len(todo)
    total_seconds = sum(d or 0 for _, d in todo)
    seconds_done, started = 0.0, time.perf_counter()

    def report(_item, outcome: Outcome) -> None:
        nonlocal seconds_done
        if isinstance(outcome, Made):
            result.chunks += len(outcome.records)
            result.transcribed += 1
        seconds_done += outcome.stats.get("seconds", 0.0)
        progress("transcribing", int(seconds_done), int(max(total_seconds, seconds_done)))

    if todo:
        label = Labeller(load_model(model, device, compute_type), store.media, str(ref), model, settings, forced)
        job.run(todo, _key, lambda item: label(item[0]), report)
    result.version = job.commit()
    wall = time.perf_counter() - started
    result.audio_hours = seconds_done / 3600
    result.real_time_factor = round(wall / seconds_done, 4) if seconds_done else None
    result.failed = job.failures.items
    result.failures_by_reason = job.failures.rules()
    result.message = job.summary(
        f"{into}: {result.transcribed} audio items ({result.audio_hours:.2f} h) -> {result.chunks} "
        f"chunks, {result.already} already done, {result.failed} failed"
        + (f", real-time factor {result.real_time_factor}" if result.real_time_factor else "")
    )
    return result


def _key(item: tuple[str, float | None]) -> str:
    return item[0]  # the audio's media id
