"""What every command shares: the error handling, the common options, the store and job summaries.

``mmtrain``'s command line is built on these too, so both tools report errors and bugs the same way.
Nothing here imports more than typer at module level: ``mmdata --help`` must stay fast.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import typer
from typer.core import TyperCommand, TyperGroup


class Group(TyperGroup):
    """Catches every error for every command: one red line and an exit code, never a traceback.

    Our errors (the user can fix them) exit 1; anything else is a bug: its traceback goes to a
    report file (``mmdata.crash``) and the exit code is 70, so scripts can tell the two apart.
    """

    program = "mmdata"  # the name a crash report and the bug line give

    def user_errors(self) -> tuple[type[Exception], ...]:
        from mmdata.errors import MmdataError

        return (MmdataError,)

    def invoke(self, ctx: typer.Context):
        try:
            return super().invoke(ctx)
        except self.user_errors() as exc:
            fail(exc)
        except KeyboardInterrupt:
            raise typer.Exit(130) from None
        except _click_exceptions():
            raise  # usage errors and deliberate exits: click reports them itself
        except BrokenPipeError:
            # The reader of our output went away (`mmdata query ... | head`): not worth a word.
            import os

            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise typer.Exit(1) from None
        except OSError as exc:
            if not _environment_error(exc):
                self._bug(exc)
            error_line(f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc))
            raise typer.Exit(1) from None
        except Exception as exc:
            self._bug(exc)

    def _bug(self, exc: BaseException):
        from mmdata.crash import EXIT_BUG, bug_line, write_report

        error_line(bug_line(exc, write_report(exc, self.program), self.program))
        raise typer.Exit(EXIT_BUG) from None


def new_app(help: str, group: type[Group] = Group) -> typer.Typer:
    """A root command with our error handling, no shell-completion commands and no rich tracebacks."""
    return typer.Typer(cls=group, no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False, help=help)


def fail(exc: Exception):
    """A user's error (one with an ``exit_code``): its one red line, then that exit code."""
    error_line(str(exc))
    raise typer.Exit(exc.exit_code) from None


def _click_exceptions() -> tuple:
    """Usage errors and exits, from typer (which bundles its own click) and from click itself."""
    import importlib

    kinds = [typer.Exit, typer.Abort]
    for name in ("typer._click.exceptions", "click.exceptions"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        kinds += [getattr(module, kind) for kind in ("ClickException", "Exit", "Abort") if hasattr(module, kind)]
    return tuple(kinds)


def error_line(message: str) -> None:
    from rich.markup import escape

    from mmdata.render import errors

    # A file name that is not UTF-8 reaches here as lone surrogates, which no terminal encoding takes.
    message = " ".join(message.split()).encode("utf-8", "backslashreplace").decode("utf-8")
    errors.print(f"[bold red]error:[/bold red] {escape(message)}", highlight=False, soft_wrap=True)


def _environment_error(exc: OSError) -> bool:
    """A full disk, a read-only file system, no permission: the machine's state, not a mistake in our code."""
    import errno

    return isinstance(exc, PermissionError) or exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EMFILE)


JsonOpt = typer.Option(False, "--json", help="Print machine-readable JSON.")
WaitOpt = typer.Option(None, "--wait", help="Seconds to wait for another writer before 'store is busy' (default 30).")


def store_option(help: str = "Store folder (default ./mmdata-store).") -> Path | None:
    """``--store DIR``, else ``$MMDATA_HOME``: ``mmdata``'s global option, and ``mmtrain eval``'s own."""
    return typer.Option(None, "--store", envvar="MMDATA_HOME", help=help)


class _State:
    store: Path | None = None


def set_store(folder: Path | None) -> None:
    """Called once by the root command, before the command that then uses ``store()``."""
    _State.store = folder


def store():
    """The store the root's ``--store`` named (or the default): a new ``Store`` per call, as the commands expect."""
    from mmdata.store.lake import Store

    return Store(_State.store)


def job_summary(result, reasons: dict, label: str = "failures") -> None:
    """The last lines of a long job: its message and failures by reason."""
    from mmdata.render import console

    console.print(result.message, markup=False)
    if reasons:
        console.print(f"{label}: " + ", ".join(f"{k} {v}" for k, v in sorted(reasons.items())), markup=False)


def print_dataclass(result) -> None:
    from dataclasses import asdict

    from mmdata.render import print_json

    print_json(asdict(result))


# Help that lists what a registry holds (formats, exporters, synth types) is filled in when the help
# is shown, not at import: importing every registered module costs ~40 ms, which `mmdata --help`
# and every command would otherwise pay.
_LATER: dict[str, Callable[[], str]] = {}


def help_later(name: str, make: Callable[[], str]) -> str:
    """A placeholder for help text that ``make()`` gives once the help of a ``HelpLater`` command is shown."""
    token = f"<<{name}>>"
    _LATER[token] = make
    return token


def _filled(text: str | None) -> str | None:
    for token, make in _LATER.items():
        if text and token in text:
            text = text.replace(token, make())
    return text


class HelpLater(TyperCommand):
    """A command whose help may hold ``help_later`` placeholders."""

    def format_help(self, ctx, formatter):
        self.help = _filled(self.help)
        for param in self.params:
            param.help = _filled(getattr(param, "help", None))
        return super().format_help(ctx, formatter)
