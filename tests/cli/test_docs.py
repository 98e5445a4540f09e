"""docs/cli.md against the commands themselves, so the reference cannot go stale.

Every command has a section (``## name``; ``## mmtrain name`` for mmtrain's), every option it takes
appears in that section's usage block (its first ``bash`` block), and no section names a command
that does not exist.
"""

import re
from pathlib import Path

import pytest
import typer

from mmdata.cli import app
from mmtrain.cli import app as train_app

DOC = (Path(__file__).resolve().parents[2] / "docs" / "cli.md").read_text(encoding="utf-8")
NOT_COMMANDS = {"Errors and bug reports"}  # sections about every command


def _sections() -> dict[str, str]:
    parts = re.split(r"^## (.+)$", DOC, flags=re.M)
    return {title.strip(): body for title, body in zip(parts[1::2], parts[2::2])}


def _commands() -> dict[str, object]:
    """'import' -> its click command, 'mmtrain run' -> its click command, ..."""
    found = {}
    for prefix, root in (("", app), ("mmtrain ", train_app)):
        for name, command in typer.main.get_command(root).commands.items():
            found[prefix + name] = command
    return found


def _options(command) -> list[str]:
    return [
        next(o for o in p.opts if o.startswith("--"))
        for p in command.params
        if p.param_type_name == "option" and p.name != "help"
    ]


def test_every_section_is_a_command_and_every_command_has_one():
    sections = set(_sections()) - NOT_COMMANDS
    assert sections == set(_commands()), (
        f"commands without a section: {sorted(set(_commands()) - sections)}; "
        f"sections for no command: {sorted(sections - set(_commands()))}"
    )


@pytest.mark.parametrize("name", sorted(_commands()))
def test_usage_block_names_every_option(name):
    body = _sections().get(name, "")
    usage = re.search(r"```bash\n(.*?)```", body, flags=re.S)
    assert usage, f"docs/cli.md: the section '## {name}' has no usage block"
    missing = [o for o in _options(_commands()[name]) if not re.search(rf"{re.escape(o)}(?![\w-])", usage.group(1))]
    assert not missing, f"docs/cli.md '## {name}': the usage block does not show {missing}"


def test_global_options_are_in_the_introduction():
    introduction = DOC.split("\n## ", 1)[0]
    root = typer.main.get_command(app)
    assert all(option in introduction for option in _options(root))
