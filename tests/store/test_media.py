import pytest

from mmdata.errors import MediaError, MediaMissing
from mmdata.store.media import MediaFolder, probe, sha256_file
from tests.conftest import make_mp3, make_png, make_wav


def test_probe_measures_audio_and_images(tmp_path):
    wav = probe(make_wav(tmp_path / "a.wav", seconds=0.5))
    assert wav.kind == "audio" and wav.sample_rate == 16000 and wav.channels == 1
    assert wav.duration_s == pytest.approx(0.5)
    mp3 = probe(make_mp3(tmp_path / "b.mp3"))  # decoded through PyAV
    assert mp3.kind == "audio" and mp3.duration_s == pytest.approx(0.4, abs=0.1)
    png = probe(make_png(tmp_path / "c.png", size=(20, 10)))
    assert (png.kind, png.width, png.height) == ("image", 20, 10)
    assert png.id == sha256_file(tmp_path / "c.png")


@pytest.mark.parametrize(
    "name,content,error",
    [
        ("missing.wav", None, MediaMissing),
        ("empty.wav", b"", MediaError),
        ("corrupt.wav", b"RIFF not really a wave file at all", MediaError),
        ("corrupt.mp3", b"\x00" * 300, MediaError),
        ("corrupt.png", b"\x89PNG\r\n\x1a\n broken", MediaError),
        ("notes.txt", b"hello", MediaError),
    ],
)
def test_bad_media_is_a_clear_error(tmp_path, name, content, error):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(error, match=name):
        probe(path)


def test_media_folder_is_content_addressed(tmp_path):
    folder = MediaFolder(tmp_path / "media")
    first = folder.add(make_wav(tmp_path / "x.wav"))
    again = folder.add(make_wav(tmp_path / "copy-of-x.wav"))
    assert first.id == again.id
    stored = folder.path(first.id)
    assert stored == tmp_path / "media" / first.id[:2] / f"{first.id}.wav"
    assert list((tmp_path / "media").rglob("*.wav")) == [stored]
    from_bytes = folder.add_bytes(stored.read_bytes(), ".wav")
    assert from_bytes.id == first.id
    with pytest.raises(MediaError):
        folder.add_bytes(b"garbage", ".png")
    assert not list((tmp_path / "media").rglob(".incoming-*"))  # failed adds leave nothing behind
    with pytest.raises(MediaMissing):
        folder.path("0" * 64)


def test_a_cut_mp3_counts_for_what_decodes_not_what_its_header_claims(tmp_path):
    whole = make_mp3(tmp_path / "whole.mp3", seconds=3.0)
    data = whole.read_bytes()
    (tmp_path / "half.mp3").write_bytes(data[: len(data) // 2])  # an interrupted download
    assert probe(whole).duration_s == pytest.approx(3.0, abs=0.05)
    half = probe(tmp_path / "half.mp3").duration_s
    assert 1.2 < half < 1.8  # the Xing header still says 3 s
    from mmdata.audio import load_16k_mono

    assert len(load_16k_mono(tmp_path / "half.mp3")) / 16000 == pytest.approx(half, abs=0.05)
    (tmp_path / "stub.mp3").write_bytes(data[:300])  # nothing decodes
    with pytest.raises(MediaError, match="stub.mp3"):
        probe(tmp_path / "stub.mp3")


def test_a_cut_flac_counts_for_what_decodes(tmp_path):
    import soundfile

    wav = make_wav(tmp_path / "a.wav", seconds=2.0)
    samples, rate = soundfile.read(str(wav))
    soundfile.write(str(tmp_path / "a.flac"), samples, rate)
    data = (tmp_path / "a.flac").read_bytes()
    (tmp_path / "cut.flac").write_bytes(data[: len(data) // 2])
    assert probe(tmp_path / "a.flac").duration_s == pytest.approx(2.0)
    assert probe(tmp_path / "cut.flac").duration_s < 1.5  # STREAMINFO still says 2 s


def test_media_folder_has_entries_and_put(tmp_path):
    folder = MediaFolder(tmp_path / "media")
    assert list(folder.entries()) == [] and folder.location == str(tmp_path / "media")
    wav = make_wav(tmp_path / "x.wav")
    media_id = sha256_file(wav)
    assert not folder.has(media_id)
    assert folder.put(wav, media_id, ".WAV")  # no probe: the caller vouches for the id
    assert not folder.put(wav, media_id, ".wav")
    assert folder.has(media_id) and folder.path(media_id).read_bytes() == wav.read_bytes()
    (tmp_path / "media" / media_id[:2] / ".incoming-abc").write_bytes(b"half")  # an interrupted copy
    assert list(folder.entries()) == [(media_id, ".wav")]
    with pytest.raises(FileNotFoundError):
        folder.put(tmp_path / "gone.png", "1" * 64, ".png")
    assert not list((tmp_path / "media").rglob(f"{'1' * 64}*"))
