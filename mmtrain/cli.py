"""The ``mmtrain`` command line: train, chat, evaluate, build a tiny model.

Thin wrappers, like ``mmdata.cli``, on whose shared pieces (``mmdata.cli.base``) they are built:
the same one red line for an error, the same crash report for a bug.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from mmdata.cli.base import Group, JsonOpt, fail, new_app, store_option


class _Group(Group):
    program = "mmtrain"

    def user_errors(self) -> tuple[type[Exception], ...]:
        from mmtrain.errors import MmtrainError

        return (*super().user_errors(), MmtrainError)  # mmtrain reads stores and exports through mmdata


app = new_app("Train and use the SigLIP + Whisper-encoder + LLM model on an mmdata mixture.", _Group)


def quiet_transformers() -> None:
    """transformers' own bars and notices would interleave with ours. Every command starts here, so a
    machine without the ``train`` extra hears what to install instead of a ModuleNotFoundError."""
    import os

    from mmdata.extras import import_extra

    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    torch = import_extra("torch", "train", "mmtrain")
    import_extra("transformers", "train", "mmtrain")

    if not torch.cuda.is_available():
        os.environ.setdefault("DS_ACCELERATOR", "cpu")  # else DeepSpeed warns on import that it found no GPU
    from transformers.utils import logging

    logging.set_verbosity_error()
    logging.disable_progress_bar()


@app.command("run", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def train_run(
    ctx: typer.Context,
    config: str = typer.Option(..., "--config", "-c", help="A stage config (YAML), or a shipped name like qwen2-0.5b/finetune."),
    as_json: bool = JsonOpt,
):
    """Train one stage. Extra arguments are overrides: training.max_steps=20 data.mixture=stage2@3."""
    import os

    from mmdata.render import console, print_json, progress_bar
    from mmtrain.run import run

    quiet_transformers()
    main_rank = os.environ.get("RANK", "0") == "0"  # under a launcher, one rank speaks
    with progress_bar(not as_json and main_rank) as progress:
        result = run(config, overrides=list(ctx.args), progress=progress)
    if not main_rank:
        return
    if as_json:
        from dataclasses import asdict

        return print_json(asdict(result))
    console.print(result.message, markup=False)
    if result.skipped:
        console.print(f"{len(result.skipped)} samples longer than max_length left out (first: {result.skipped[0]})", markup=False)


@app.command("chat")
def train_chat(
    model: Path = typer.Option(..., "--model", "-m", help="A model folder (a run's output_dir or checkpoint)."),
    system: str | None = typer.Option(None, "--system", help="A system message for the whole chat."),
    temperature: float = typer.Option(0.1, "--temperature", help="0 for greedy decoding."),
    max_new_tokens: int = typer.Option(300, "--max-new-tokens"),
    device: str | None = typer.Option(None, "--device", help="cpu, cuda, cuda:1 (default: cuda when there is one)."),
):
    """Chat with a model; attach media in a line with @image:PATH or @audio:PATH. Ctrl-D or /exit ends."""
    from mmdata.render import console
    from mmtrain.chat import chat

    quiet_transformers()

    def lines():
        while True:
            try:
                line = console.input("[bold green]you>[/bold green] ") if sys.stdin.isatty() else sys.stdin.readline()
            except EOFError:
                return
            if not line or line.strip() == "/exit":
                return
            yield line.strip()

    for answer in chat(
        model, lines=lines(), device=device, system=system, temperature=temperature, max_new_tokens=max_new_tokens
    ):
        console.print(f"[bold cyan]model>[/bold cyan] {answer}", highlight=False)


@app.command("eval")
def train_eval(
    model: Path = typer.Option(..., "--model", "-m", help="A model folder."),
    data: str = typer.Option(..., "--data", "-d", help="A store's NAME[@V] or an export folder."),
    store: Path | None = store_option("The mmdata store holding --data."),
    split: str = typer.Option("test", "--split"),
    samples: int = typer.Option(3, "--samples", help="Sample generations in the report."),
    out: Path | None = typer.Option(None, "--out", help="Report folder (default MODEL/eval)."),
    max_length: int = typer.Option(8192, "--max-length"),
    device: str | None = typer.Option(None, "--device"),
    as_json: bool = JsonOpt,
):
    """Loss and perplexity on a mixture's test split, per kind and language, with sample generations."""
    from dataclasses import asdict

    from mmdata.render import console, print_json, progress_bar, table
    from mmtrain.evaluate import evaluate

    quiet_transformers()
    with progress_bar(not as_json) as progress:
        result = evaluate(
            model,
            data=data,
            store=str(store) if store else None,
            split=split,
            samples=samples,
            out=out,
            max_length=max_length,
            device=device,
            progress=progress,
        )
    if as_json:
        return print_json(asdict(result))
    table("by kind", result.by_kind)
    table("by language", result.by_language)
    console.print(result.message, markup=False)


@app.command("build-tiny")
def train_build_tiny(
    out: Path = typer.Option(..., "--out", help="Folder for the model."),
    family: str = typer.Option("qwen2", "--family", help="qwen2, llama or mistral."),
):
    """Build a tiny random model (for trying the pipeline on a CPU; it learns, it knows nothing)."""
    from mmdata.render import console
    from mmtrain.tiny import build_tiny_model

    quiet_transformers()
    build_tiny_model(out, family=family)
    console.print(f"tiny {family} model -> {out}", markup=False)


def demo_steps(store):
    """``mmdata demo``'s training steps (the ``mmdata.demo`` entry point): mmdata's command runs them.

    They run under mmdata's error handling, which knows only mmdata's errors, so mmtrain's are
    reported here, the same way.
    """
    from mmtrain.demo import steps
    from mmtrain.errors import MmtrainError

    try:
        quiet_transformers()
    except ImportError:
        pass  # no train extra: the steps say they are skipped
    try:
        yield from steps(store)
    except MmtrainError as exc:
        fail(exc)


def main() -> None:
    # The deepspeed launcher puts --local_rank=N before the command; the Trainer reads the rank from
    # the environment (LOCAL_RANK), so the argument is dropped rather than declared on every command.
    args = sys.argv[1:]
    kept = [a for i, a in enumerate(args) if not a.startswith("--local_rank") and not (i and args[i - 1] == "--local_rank")]
    app(args=kept, prog_name="mmtrain")
