"""Session-wide tiny parts for the trainer tests: a saved tiny model folder and a tiny export folder."""

from __future__ import annotations

import pytest

from tests.mmtrain.data.conftest import LONG, MULTI, TEXT, write_export


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory):
    from mmtrain.tiny import build_tiny_model

    folder = tmp_path_factory.mktemp("tiny") / "base"
    build_tiny_model(folder)
    return folder


@pytest.fixture(scope="session")
def mixture_dir(tmp_path_factory):
    """Twelve training records (images, multi-window audio, text only) and two test records."""
    return write_export(tmp_path_factory.mktemp("mixture"), [MULTI, TEXT, LONG] * 4, [TEXT, MULTI])


def overrides(tiny_dir, mixture_dir, out, *more) -> list[str]:
    return [f"model.from={tiny_dir}", f"data.mixture={mixture_dir}", f"output_dir={out}", *more]
