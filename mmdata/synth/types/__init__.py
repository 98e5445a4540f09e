"""The synthesis types, listed in one place. A type is one ``SynthType`` in its own module
(docs/synthesize.md, "Adding a synth type"); ``--type`` and its help come from here."""

from __future__ import annotations

from mmdata.errors import InputError
from mmdata.synth.types.audio_instructions import AUDIO_INSTRUCTIONS
from mmdata.synth.types.base import SynthType
from mmdata.synth.types.relationship import IMAGE_AUDIO, MULTI_AUDIO, MULTI_IMAGE
from mmdata.synth.types.translate import TRANSLATE
from mmdata.synth.types.visual_context import VISUAL_CONTEXT

TYPES: dict[str, SynthType] = {
    t.name: t for t in (AUDIO_INSTRUCTIONS, VISUAL_CONTEXT, MULTI_IMAGE, MULTI_AUDIO, IMAGE_AUDIO, TRANSLATE)
}

__all__ = ["TYPES", "SynthType", "synth_type", "help_lines"]


def synth_type(name: str) -> SynthType:
    """The type called ``name`` (a ``--type`` value)."""
    try:
        return TYPES[name]
    except KeyError:
        raise InputError(f"--type must be one of {', '.join(TYPES)}, not {name!r}") from None


def help_lines() -> str:
    """One line per type, name and what it makes: the ``--type`` part of ``synthesize --help``."""
    width = max(map(len, TYPES))
    return "\n".join(f"  {t.name:<{width}}  {t.help}" for t in TYPES.values())
