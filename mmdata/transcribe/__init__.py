"""``transcribe``: cut stored audio into chunks and pseudo-label each with faster-whisper, resumably."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from mmdata.errors import InputError, MmdataError
from mmdata.options import at_least
from mmdata.progress import ProgressCallback, silent
from mmdata.shard import in_shard, parse_shard
from mmdata.store.journal import JobJournal
from mmdata.store.lake import Store
from mmdata.store.versions import Lineage, check_name, resolve
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

    >>> transcribe("talks", into="talks_tx", model="large-v3", device="cuda", batch_size=16)
    """
    from faster_whisper import BatchedInferencePipeline

    from mmdata.audio import SAMPLE_RATE, encode_opus, load_16k_mono
    from mmdata.transcribe.segment import fixed_chunks, vad_chunks
    from mmdata.transcribe.whisper import detect_languages, load_model, transcribe_chunks

    store = Store.of(store)
    check_name(into)
    if chunking not in ("vad", "fixed"):
        raise InputError(f"--chunking must be vad or fixed, not {chunking!r}")
    if not 1 <= max_chunk_seconds <= 30:
        raise InputError("--max-chunk-seconds must be between 1 and 30 (Whisper hears 30 s at a time)")
    at_least(1, batch_size=batch_size, beam_size=beam_size)
    at_least(0, checkpoint=checkpoint, wait=wait)
    forced = _languages(languages)
    shard_spec = parse_shard(shard)
    with store.reader() as con:
        ref = resolve(con, source)
        if ref.record_kind != "audio":
            raise InputError(f"{ref} holds {ref.record_kind} records; transcribe reads audio records")
        items = con.execute(f"SELECT media_id, duration FROM {ref.relation} ORDER BY media_id").fetchall()
    items = [(media_id, duration) for media_id, duration in items if in_shard(media_id, shard_spec)]
    journal = JobJournal.for_job(store.runs, "transcribe", into, shard_spec)
    done = set(journal.lines("done.txt"))
    todo = [(m, d) for m, d in items if m not in done]
    result = TranscribeResult(into, audio_items=len(items), already=len(items) - len(todo))
    settings = {"chunking": chunking, "max_chunk_seconds": max_chunk_seconds, "languages": forced or "auto",
                "beam_size": beam_size, "batch_size": batch_size, "device": device, "compute_type": compute_type,
                "temperature": 0.0}
    lineage = Lineage("transcribe", {"source": source, "model": model, "shard": shard, **settings}, parents=[str(ref)])
    def fail(media_id: str, reason: str, message: str) -> None:
        journal.fail(str(ref), reason, message, {"media_id": media_id}, field_path="media_id")
        result.failed += 1

    def commit() -> None:
        committed = journal.commit(store, into, "transcript", lineage, {"audio_items": result.transcribed,
                                                                          "chunks": result.chunks, "failed": result.failed}, wait)
        result.version = committed.version or result.version

    whisper = load_model(model, device, compute_type) if todo else None
    pipeline = BatchedInferencePipeline(whisper) if whisper else None
    total_seconds = sum(d or 0 for _, d in todo)
    seconds_done, started = 0.0, time.perf_counter()
    for n, (media_id, duration) in enumerate(todo, start=1):
        try:
            path = store.media.path(media_id)
            samples = load_16k_mono(path)
            chunks = fixed_chunks(samples, max_chunk_seconds) if chunking == "fixed" else vad_chunks(samples, max_chunk_seconds)
            if not chunks:
                fail(media_id, "no-speech", f"{'no speech found' if chunking == 'vad' else 'shorter than one window'} "
                                            f"in {samples.size / SAMPLE_RATE:.1f} s of audio")
            else:
                detected = detect_languages(whisper, samples, chunks, batch_size)
                runs = forced or sorted({lang for lang, _ in detected})
                passes = {lang: transcribe_chunks(pipeline, samples, chunks, lang, batch_size, beam_size) for lang in runs}
                if forced is None:  # auto: each chunk keeps the pass in its own detected language only
                    passes = {lang: [p if detected[i][0] == lang else None for i, p in enumerate(ps)] for lang, ps in passes.items()}
                for i, (start, end) in enumerate(chunks):
                    clip = store.media.add_bytes(encode_opus(samples[int(start * SAMPLE_RATE):int(end * SAMPLE_RATE)]), ".ogg")
                    journal.append("media.jsonl", clip.row())
                    journal.append("records.jsonl", _record(clip.id, media_id, start, end, detected[i],
                                                            {lang: ps[i] for lang, ps in passes.items() if ps[i]},
                                                            model, settings))
                result.chunks += len(chunks)
                result.transcribed += 1
            seconds_done += samples.size / SAMPLE_RATE
        except MmdataError as exc:  # missing or undecodable media: recorded, the run goes on
            fail(media_id, "bad-audio", str(exc))
        except Exception as exc:  # a decoder or model failure on one item must not end a long run
            fail(media_id, "transcribe-error", f"{type(exc).__name__}: {exc}")
        journal.append("done.txt", media_id)
        progress("transcribing", int(seconds_done), int(max(total_seconds, seconds_done)))
        if checkpoint and n % checkpoint == 0:
            commit()
    commit()
    wall = time.perf_counter() - started
    result.audio_hours = seconds_done / 3600
    result.real_time_factor = round(wall / seconds_done, 4) if seconds_done else None
    result.failures_by_reason = journal.failures
    result.message = (f"{into}: {result.transcribed} audio items ({result.audio_hours:.2f} h) -> {result.chunks} chunks, "
                      f"{result.already} already done, {result.failed} failed"
                      + (f", real-time factor {result.real_time_factor}" if result.real_time_factor else "")
                      + (f" -> {into}@{result.version}" if result.version else ""))
    return result


def _record(clip_id: str, parent: str, start: float, end: float, detected: tuple[str, float], passes: dict,
            model: str, settings: dict) -> dict:
    """A ``transcript`` record; top-level scores come from the pass in the detected language when it ran."""
    language, probability = detected
    main = passes.get(language) or next(iter(passes.values()), None)
    record = {"media_id": clip_id, "parent_audio_id": parent, "start": round(start, 3), "end": round(end, 3),
              "language": language, "language_prob": round(probability, 4), "model": model, "settings": settings}
    if main:
        record.update(avg_logprob=main.avg_logprob, no_speech_prob=main.no_speech_prob,
                      compression_ratio=main.compression_ratio, repeated_ngram=main.repeated_ngram)
    for lang, p in passes.items():
        record[f"text_{lang}"] = p.text
        record[f"avg_logprob_{lang}"] = p.avg_logprob
        record[f"compression_ratio_{lang}"] = p.compression_ratio
        record[f"repeated_ngram_{lang}"] = p.repeated_ngram
    return record
