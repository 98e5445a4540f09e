"""The transcription of one audio item: chunks, Whisper passes, stored clips and ``transcript`` records."""

from __future__ import annotations

from mmdata.audio import SAMPLE_RATE, encode_opus, load_16k_mono
from mmdata.errors import MmdataError, StoreUnavailable
from mmdata.jobs import Failed, Made, Outcome
from mmdata.store.media import MediaFolder
from mmdata.transcribe.segment import fixed_chunks, vad_chunks
from mmdata.transcribe.whisper import detect_languages, transcribe_chunks


class Labeller:
    """Turns a stored audio item into transcript records; holds the loaded model, so a process builds one."""

    def __init__(self, whisper, media: MediaFolder, source: str, model: str, settings: dict, forced: list[str] | None):
        from faster_whisper import BatchedInferencePipeline

        self.whisper, self.pipeline = whisper, BatchedInferencePipeline(whisper)
        self.media, self.source, self.model, self.settings, self.forced = media, source, model, settings, forced

    def __call__(self, media_id: str) -> Outcome:
        try:
            samples = load_16k_mono(self.media.path(media_id))
            made = self._label(media_id, samples)
        except StoreUnavailable:
            raise  # the bucket is down: every later item would fail too; the journal keeps what is done
        except MmdataError as exc:  # missing or undecodable media: recorded, the run goes on
            return self._fail(media_id, "bad-audio", str(exc))
        except Exception as exc:  # a decoder or model failure on one item must not end a long run
            return self._fail(media_id, "transcribe-error", f"{type(exc).__name__}: {exc}")
        if made is None:
            seconds = samples.size / SAMPLE_RATE
            found = "no speech found" if self.settings["chunking"] == "vad" else "shorter than one window"
            return self._fail(media_id, "no-speech", f"{found} in {seconds:.1f} s of audio", seconds)
        return made

    def _label(self, media_id: str, samples) -> Made | None:
        settings, batch_size = self.settings, self.settings["batch_size"]
        longest = settings["max_chunk_seconds"]
        chunks = fixed_chunks(samples, longest) if settings["chunking"] == "fixed" else vad_chunks(samples, longest)
        if not chunks:
            return None
        detected = detect_languages(self.whisper, samples, chunks, batch_size)
        runs = self.forced or sorted({lang for lang, _ in detected})
        passes = {
            lang: transcribe_chunks(self.pipeline, samples, chunks, lang, batch_size, settings["beam_size"]) for lang in runs
        }
        if self.forced is None:  # auto: each chunk keeps the pass in its own detected language only
            passes = {lang: [p if detected[i][0] == lang else None for i, p in enumerate(ps)] for lang, ps in passes.items()}
        made = Made(stats={"seconds": samples.size / SAMPLE_RATE})
        for i, (start, end) in enumerate(chunks):
            clip = self.media.add_bytes(encode_opus(samples[int(start * SAMPLE_RATE) : int(end * SAMPLE_RATE)]), ".ogg")
            made.media.append(clip.row())
            made.records.append(
                _record(
                    clip.id,
                    media_id,
                    start,
                    end,
                    detected[i],
                    {lang: ps[i] for lang, ps in passes.items() if ps[i]},
                    self.model,
                    settings,
                )
            )
        return made

    def _fail(self, media_id: str, reason: str, message: str, seconds: float | None = None) -> Failed:
        return Failed(
            reason,
            message,
            {"media_id": media_id},
            file=self.source,
            field_path="media_id",
            stats={"seconds": seconds} if seconds is not None else {},
        )


def _record(
    clip_id: str, parent: str, start: float, end: float, detected: tuple[str, float], passes: dict, model: str, settings: dict
) -> dict:
    """A ``transcript`` record; top-level scores come from the pass in the detected language when it ran."""
    language, probability = detected
    main = passes.get(language) or next(iter(passes.values()), None)
    record = {
        "media_id": clip_id,
        "parent_audio_id": parent,
        "start": round(start, 3),
        "end": round(end, 3),
        "language": language,
        "language_prob": round(probability, 4),
        "model": model,
        "settings": settings,
    }
    if main:
        record.update(
            avg_logprob=main.avg_logprob,
            no_speech_prob=main.no_speech_prob,
            compression_ratio=main.compression_ratio,
            repeated_ngram=main.repeated_ngram,
        )
    for lang, p in passes.items():
        record[f"text_{lang}"] = p.text
        record[f"avg_logprob_{lang}"] = p.avg_logprob
        record[f"compression_ratio_{lang}"] = p.compression_ratio
        record[f"repeated_ngram_{lang}"] = p.repeated_ngram
    return record
