"""``export --format hf`` where torchcodec cannot load FFmpeg: one error line saying what to install."""

import builtins
import sys

import pytest
from typer.testing import CliRunner

from mmdata.cli import app
from mmdata.errors import MmdataError
from mmdata.exporters import export
from mmdata.importing import import_
from tests.conftest import SAMPLES

# What torchcodec raises on import when FFmpeg's shared libraries are missing (abridged).
TORCHCODEC_FAILURE = (
    "Could not load libtorchcodec. Likely causes:\n"
    "  1. FFmpeg is not properly installed in your environment. We support versions 4, 5, 6 and 7.\n"
    "[start of libtorchcodec loading traceback]\nOSError: libavutil.so.59: cannot open shared object file"
)


@pytest.fixture
def broken_torchcodec(monkeypatch):
    """Every ``import torchcodec...`` fails; ``error`` is what it raises."""
    real_import = builtins.__import__
    state = {"error": RuntimeError(TORCHCODEC_FAILURE)}

    def fake_import(name, *args, **kwargs):
        if name == "torchcodec" or name.startswith("torchcodec."):
            raise state["error"]
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    for name in [n for n in sys.modules if n == "torchcodec" or n.startswith("torchcodec.")]:
        monkeypatch.delitem(sys.modules, name)  # as in a process where the import never succeeded
    return state


@pytest.fixture
def talk_and_pics(store):
    import_(SAMPLES / "audio_instructions.jsonl", "talk", store)
    import_(SAMPLES / "images", "pics", store)
    return store


def test_missing_ffmpeg_says_what_to_install(talk_and_pics, tmp_path, broken_torchcodec):
    with pytest.raises(MmdataError) as caught:
        export("talk", "hf", tmp_path / "hf", talk_and_pics)
    message = str(caught.value)
    assert "apt-get install ffmpeg" in message and "\n" not in message
    assert "Could not load libtorchcodec" in message and "libavutil.so.59: cannot open shared object file" in message


def test_missing_torchcodec_says_what_to_install(talk_and_pics, tmp_path, broken_torchcodec):
    broken_torchcodec["error"] = ModuleNotFoundError("No module named 'torchcodec'")
    with pytest.raises(MmdataError, match=r"pip install torchcodec \(No module named 'torchcodec'\)"):
        export("talk", "hf", tmp_path / "hf", talk_and_pics)


def test_images_export_without_ffmpeg(talk_and_pics, tmp_path, broken_torchcodec):
    assert export("pics", "hf", tmp_path / "hf", talk_and_pics)["records"] >= 1


def test_the_cli_prints_one_line(talk_and_pics, tmp_path, broken_torchcodec):
    result = CliRunner().invoke(
        app, ["--store", str(talk_and_pics.root), "export", "talk", "--format", "hf", "--out", str(tmp_path / "hf")]
    )
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.output.startswith("error:") and "apt-get install ffmpeg" in result.output


def test_a_failed_export_leaves_no_folder(talk_and_pics, tmp_path, broken_torchcodec):
    with pytest.raises(MmdataError):
        export("talk", "hf", tmp_path / "hf", talk_and_pics)
    assert not (tmp_path / "hf").exists()
    assert not [p for p in tmp_path.iterdir() if ".partial-" in p.name]
