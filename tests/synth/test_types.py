"""The synthesis types' registry: what the CLI's --type help is built from, and how a type plugs in."""

import sys

import pytest

from mmdata.errors import InputError, MmdataError
from mmdata.synth import synthesize
from mmdata.synth.types import TYPES, help_lines, synth_type


def test_every_type_is_complete_and_its_recipe_ships():
    from mmdata.records import specs_dir

    assert list(TYPES) == ["audio-instructions", "visual-context", "multi-image", "multi-audio", "image-audio", "translate"]
    for name, kind in TYPES.items():
        assert kind.name == name and kind.help and (specs_dir() / "prompts" / kind.recipe).is_file()
        assert all(callable(f) for f in (kind.read, kind.group, kind.build, kind.first_prompt))


def test_help_lines_name_each_type_once_with_its_help():
    lines = help_lines().splitlines()
    assert [line.split()[0] for line in lines] == list(TYPES)
    assert all(TYPES[line.split()[0]].help in line for line in lines)


def test_an_unknown_type_lists_the_known_ones():
    with pytest.raises(InputError, match="--type must be one of audio-instructions, .*translate, not 'poems'"):
        synth_type("poems")


def test_a_new_type_is_one_object(images, monkeypatch):
    """What docs/synthesize.md's worked example adds, minus the file: a registered type runs end to end."""
    from mmdata.synth.sources import contexts
    from mmdata.synth.types import SynthType

    async def build(ctx):
        return []

    captions = SynthType(
        name="captions",
        help="one caption per picture",
        recipe="visual-context.yaml",
        read=contexts,
        group=lambda rows, k, seed: [[r] for r in rows if r["media"] == "image"],
        build=build,
        first_prompt=lambda recipe, translator, item, vision: f"caption {item.sources[0]['caption']}",
    )
    monkeypatch.setitem(TYPES, "captions", captions)
    result = synthesize("captions", ["pics"], "x", images, dry_run=True)
    assert result.items == 6 and result.prompts[0]["messages"][0]["content"].startswith("caption A ")
    assert "captions" in help_lines()


def test_without_jinja2_the_error_says_what_to_install(images, monkeypatch):
    monkeypatch.setitem(sys.modules, "jinja2", None)  # what an import finds when the package is missing
    with pytest.raises(MmdataError, match=r"pip install 'mmdata\[synth\]'"):
        synthesize("multi-image", ["pics"], "x", images, dry_run=True)
