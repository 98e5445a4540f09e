import numpy as np

from mmdata.audio import SAMPLE_RATE, load_16k_mono
from mmdata.transcribe.segment import fixed_chunks, vad_chunks
from tests.conftest import make_speech


def test_fixed_chunks_are_the_reference_windows():
    samples = np.zeros(int(70 * SAMPLE_RATE), np.float32)
    assert fixed_chunks(samples) == [(0, 30), (30, 60)]  # the 10 s tail is dropped, as the reference did
    assert fixed_chunks(samples[: 20 * SAMPLE_RATE]) == []


def test_vad_cuts_only_in_silence_and_respects_the_limit(tmp_path):
    parts = [
        load_16k_mono(make_speech(tmp_path / f"{i}.wav", text))
        for i, text in enumerate(
            [
                "Selamat pagi semua, hari ini kita belajar.",
                "Kuala Lumpur ialah ibu negara Malaysia.",
                "Nasi lemak dan teh tarik untuk sarapan.",
            ]
        )
    ]
    gap = np.zeros(int(1.5 * SAMPLE_RATE), np.float32)
    samples = np.concatenate([parts[0], gap, parts[1], gap, parts[2]])
    limit = max(p.size for p in parts) / SAMPLE_RATE + 0.5  # room for one sentence, not two
    chunks = vad_chunks(samples, max_seconds=limit)
    assert len(chunks) == 3
    for start, end in chunks:
        assert 0 <= start < end <= samples.size / SAMPLE_RATE and end - start <= limit
    # Between two chunks there is only silence: no word was cut.
    for (_, end), (start, _) in zip(chunks, chunks[1:]):
        between = samples[int(end * SAMPLE_RATE) : int(start * SAMPLE_RATE)]
        assert between.size > 0 and float(np.abs(between).max()) < 1e-3
    # With room for everything, one chunk holds all three sentences.
    assert len(vad_chunks(samples, max_seconds=30)) == 1


def test_silence_has_no_chunks():
    assert vad_chunks(np.zeros(5 * SAMPLE_RATE, np.float32)) == []
