"""What every command shares: the error handling, the common options, the store and job summaries.

``mmtrain``'s command line is built on these too, so both tools report errors and bugs the same way.
Nothing here imports more than typer at module level: ``mmdata --help`` must stay fast.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
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

# How a job runs (crawl, transcribe, synthesize, import of many files): the same options on each, shown together.
_RUN = "Running as shards"
ExecutorOpt = typer.Option(
    "inline",
    "--executor",
    help="inline: this process, as one job. local: --shards shards in --workers processes. ray: one Ray task per shard. "
    "A rerun of the same command skips the shards that finished.",
    rich_help_panel=_RUN,
)
ShardsOpt = typer.Option(
    None,
    "--shards",
    help="With --executor local/ray: split the job into N shards (local: default --workers). Keep N to resume.",
    rich_help_panel=_RUN,
)
WorkersOpt = typer.Option(
    None, "--workers", help="--executor local: shards at once (default: one per CPU, at most --shards).", rich_help_panel=_RUN
)
AddressOpt = typer.Option(
    None,
    "--address",
    help="--executor ray: the cluster (auto, ray://head:10001); default $RAY_ADDRESS, else a local one.",
    rich_help_panel=_RUN,
)
GpusPerShardOpt = typer.Option(
    0.0,
    "--gpus-per-shard",
    help="GPUs each shard needs (ray: its request; local: its own CUDA_VISIBLE_DEVICES).",
    rich_help_panel=_RUN,
)
CpusPerShardOpt = typer.Option(1.0, "--cpus-per-shard", help="--executor ray: CPUs each shard asks for.", rich_help_panel=_RUN)
ShardRetriesOpt = typer.Option(
    1,
    "--shard-retries",
    help="Starts again of a shard whose worker died (lost node, out of memory) before it fails.",
    rich_help_panel=_RUN,
)


def store_option(
    help: str = "Store folder: a local store, or a team store's folder with store.yaml (default ./mmdata-store).",
) -> Path | None:
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


@dataclass
class Sharding:
    """How a job command was asked to run: its ``--executor`` options, as given."""

    executor: str = "inline"
    shards: int | None = None
    workers: int | None = None
    address: str | None = None
    gpus_per_shard: float = 0.0
    cpus_per_shard: float = 1.0
    shard_retries: int = 1

    @property
    def inline(self) -> bool:
        return self.executor == "inline"


def run_job(
    fn: Callable, kwargs: dict, *, shard: str | None, progress: Callable, sharding: Sharding, default_shards: int | None = None
):
    """The one dispatch of a job command: ``fn(**kwargs, shard=..., progress=...)`` as today with
    ``--executor inline``, else ``run_shards`` over ``--shards`` shards (``default_shards`` when the
    command has a natural count, e.g. one per file). Returns the job's result or a ``ShardedResult``."""
    from mmdata.errors import InputError

    how = sharding
    if how.inline:
        inline_only(shards=how.shards, workers=how.workers, address=how.address)
        return fn(**kwargs, store=store(), shard=shard, progress=progress)
    if shard:
        raise InputError(
            "--shard i/n runs one shard (a Slurm array task, a Kubernetes index); --executor runs them all: give one or the other"
        )
    shards = how.shards
    if shards is None:
        shards = default_shards or (how.workers or os.cpu_count() or 1 if how.executor == "local" else None)
    if how.executor == "ray" and shards is None:
        raise InputError("--executor ray needs --shards N (how many pieces; keep the same N when you rerun to resume)")
    elif how.executor == "ray" and how.workers:
        raise InputError(
            "--workers is for --executor local; on Ray, --cpus-per-shard and --gpus-per-shard set how many run at once"
        )
    from mmdata.executors import run_shards

    return run_shards(
        fn,
        store(),
        kwargs,
        shards=shards,
        executor=how.executor,
        workers=how.workers,
        address=how.address,
        gpus_per_shard=how.gpus_per_shard,
        cpus_per_shard=how.cpus_per_shard,
        retries=how.shard_retries,
        progress=progress,
    )


def inline_only(**options) -> None:
    """Options of the other executors given without one: an error, rather than silently ignored."""
    from mmdata.errors import InputError

    given = [f"--{name}" for name, value in options.items() if value]
    if given:
        raise InputError(f"{', '.join(given)} need --executor local or ray (the default, inline, runs the job here as one)")


def sharded_summary(result, as_json: bool) -> None:
    """The last lines of a sharded run: its message, and failures by reason summed over the shards."""
    from mmdata.render import console

    if as_json:
        return print_dataclass(result)
    console.print(result.message, markup=False)
    for key, label in (("failures_by_reason", "failures"), ("rejects_by_reason", "rejected"), ("rejects_by_rule", "rejected")):
        if result.totals.get(key):
            console.print(f"{label}: " + ", ".join(f"{k} {v}" for k, v in sorted(result.totals[key].items())), markup=False)


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
