"""A tiny random Whisper (built once per session, no download) and a store of real synthetic speech."""

from __future__ import annotations

import pytest

from mmdata.importing import import_
from tests.conftest import make_speech


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    from mmdata.transcribe.tiny import build_tiny_whisper

    return str(build_tiny_whisper(tmp_path_factory.mktemp("whisper") / "tiny"))


@pytest.fixture
def speech_store(store, tmp_path):
    folder = tmp_path / "speech"
    make_speech(folder / "pagi.wav", "Selamat pagi semua. Hari ini kita belajar sejarah Malaysia.", pause_s=1.0)
    make_speech(folder / "cuaca.wav", "The weather in Kuala Lumpur is hot and humid today.")
    make_speech(folder / "pasar.wav", "Harga durian di pasar malam naik lagi minggu ini.")
    result = import_(folder, "speech", store)
    assert result.imported == 3
    return store
