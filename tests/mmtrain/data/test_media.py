import numpy as np
import pytest

from mmtrain.data.media import audio_features, load_audio, load_image
from mmtrain.errors import DataError

from .conftest import write_wav


def test_image_as_processor_tensor(export, image_processor):
    red = load_image(str(export / "media/red.png"), image_processor)
    assert tuple(red.shape) == (3, 32, 32)
    assert red[0].min() > 0.9 and red[2].max() < -0.9  # normalised to [-1, 1] by mean = std = 0.5


def test_audio_any_format_to_16k_mono(export, tmp_path):
    assert len(load_audio(export / "media/three.wav")) == 48000
    opus = load_audio(export / "media/long.ogg")  # Ogg/Opus at 48 kHz, as mmdata stores audio
    assert opus.dtype == np.float32 and opus.ndim == 1 and abs(len(opus) - 112000) < 400
    write_wav(tmp_path / "cd.wav", 0.5, rate=44100)
    assert abs(len(load_audio(tmp_path / "cd.wav")) - 8000) < 50


def test_bad_media_errors_name_the_file(tmp_path, image_processor):
    junk = tmp_path / "junk.ogg"
    junk.write_bytes(b"not audio at all")
    with pytest.raises(DataError, match="junk.ogg"):
        load_audio(junk)
    with pytest.raises(DataError, match="junk.ogg"):
        load_image(str(junk), image_processor)


def test_long_clip_is_split_into_windows(feature_extractor, layout):
    samples = np.random.default_rng(0).standard_normal(112000).astype(np.float32) * 0.1
    feats, windows = audio_features(samples, feature_extractor, layout)
    assert windows == [48000, 48000, 16000] and tuple(feats.shape) == (3, 80, 300)
    # the windows are the clip's consecutive slices, each padded on its own
    last, _ = audio_features(samples[96000:], feature_extractor, layout)
    assert np.allclose(feats[2].numpy(), last[0].numpy(), atol=1e-5)
    feats, windows = audio_features(samples[:4800], feature_extractor, layout)
    assert windows == [4800] and tuple(feats.shape) == (1, 80, 300)
