"""The ``mmdata`` command line: a thin Typer layer over the library (one function per command).

Only this file turns library errors into a red one-line message and an exit code.
Heavy modules are imported inside the commands so ``mmdata --help`` stays fast.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer
from typer.core import TyperGroup


class _Group(TyperGroup):
    """Catches every error for every command: one red line and an exit code, never a traceback.

    Our errors (the user can fix them) exit 1; anything else is a bug: its traceback goes to a
    report file (``mmdata.crash``) and the exit code is 70, so scripts can tell the two apart.
    """

    def invoke(self, ctx: typer.Context):
        from mmdata.errors import MmdataError
        from mmtrain.errors import MmtrainError

        try:
            return super().invoke(ctx)
        except (MmdataError, MmtrainError) as exc:
            _error_line(str(exc))
            raise typer.Exit(exc.exit_code) from None
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
                _bug(exc, ctx)
            _error_line(f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc))
            raise typer.Exit(1) from None
        except Exception as exc:
            _bug(exc, ctx)


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


def _error_line(message: str) -> None:
    from rich.markup import escape

    from mmdata.render import errors

    # A file name that is not UTF-8 reaches here as lone surrogates, which no terminal encoding takes.
    message = " ".join(message.split()).encode("utf-8", "backslashreplace").decode("utf-8")
    errors.print(f"[bold red]error:[/bold red] {escape(message)}", highlight=False, soft_wrap=True)


def _environment_error(exc: OSError) -> bool:
    """A full disk, a read-only file system, no permission: the machine's state, not a mistake in our code."""
    import errno

    return isinstance(exc, PermissionError) or exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EMFILE)


def _bug(exc: BaseException, ctx: typer.Context):
    from mmdata.crash import EXIT_BUG, bug_line, write_report

    program = "mmtrain" if "build-tiny" in ctx.find_root().command.commands else "mmdata"
    _error_line(bug_line(exc, write_report(exc, program), program))
    raise typer.Exit(EXIT_BUG) from None


app = typer.Typer(cls=_Group, no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  help="Versioned bilingual (English/Malay) multimodal instruction data.")
JsonOpt = typer.Option(False, "--json", help="Print machine-readable JSON.")
WaitOpt = typer.Option(None, "--wait", help="Seconds to wait for another writer before 'store is busy' (default 30).")


class _State:
    store: Optional[Path] = None


def _job_summary(result, reasons: dict, label: str = "failures") -> None:
    """The last lines of a long job: its message and failures by reason."""
    from mmdata.render import console

    console.print(result.message, markup=False)
    if reasons:
        console.print(f"{label}: " + ", ".join(f"{k} {v}" for k, v in sorted(reasons.items())), markup=False)


def _print_dataclass(result) -> None:
    from dataclasses import asdict

    from mmdata.render import print_json

    print_json(asdict(result))


def _store():
    from mmdata.store.lake import Store

    return Store(_State.store)


@app.callback()
def _root(
    store: Optional[Path] = typer.Option(None, "--store", envvar="MMDATA_HOME", help="Store folder (default ./mmdata-store)."),
    version: bool = typer.Option(False, "--version", help="Print the version and exit."),
):
    if version:
        from mmdata import __version__

        print(__version__)
        raise typer.Exit()
    from mmdata.paths import folder_to_write
    from mmdata.store.lake import resolve_root

    folder_to_write(resolve_root(store), "--store")  # a file there fails late, after the work, otherwise
    _State.store = store


@app.command("import")
def import_cmd(
    source: Path = typer.Argument(..., help="File or folder to import."),
    into: str = typer.Option(..., "--into", help="Dataset name."),
    format: Optional[str] = typer.Option(None, "--format", help="audio-instruction, relationship, llava, sharegpt, mmdata, hf or folder (default: detect)."),
    media_root: Optional[Path] = typer.Option(None, "--media-root", help="Where relative media paths start (default: beside the input)."),
    replace: bool = typer.Option(False, "--replace", help="Make the new version exactly the input (remove records it lacks)."),
    allow_empty: bool = typer.Option(False, "--allow-empty", help="With --replace: allow emptying the dataset when no record is valid."),
    wait: Optional[float] = WaitOpt,
    as_json: bool = JsonOpt,
):
    """Import a dataset into the store as a new version (name@N)."""
    from rich.markup import escape

    from mmdata import import_
    from mmdata.render import console, print_json, problems, progress_bar

    with progress_bar(not as_json) as progress:
        result = import_(source, into, _store(), format, media_root, replace, wait, progress, allow_empty=allow_empty)
    counts = {"imported": result.imported, "rejected": result.rejected, "skipped": result.skipped}
    if as_json:
        return print_json({"dataset": into, "version": result.version, "format": result.format, **counts,
                           "added": result.added, "changed": result.changed, "removed": result.removed,
                           "rejects_by_rule": result.rejects_by_rule, "reject_samples": result.reject_samples,
                           "message": result.message})
    console.print(f"[bold]{escape(result.message)}[/bold]  [dim](format {result.format}, {result.record_kind} records)[/dim]")
    problems(result.reject_samples, sum(result.rejects_by_rule.values()))


@app.command()
def crawl(
    urls: Optional[list[str]] = typer.Argument(None, help="Videos, playlists, channels, ytsearchN:query."),
    into: str = typer.Option(..., "--into", help="Dataset of audio records."),
    from_file: Optional[Path] = typer.Option(None, "--from", help="A file of URLs (one a line), or a yt-dlp info JSON."),
    include: list[str] = typer.Option([], "--include", help="Keep titles with any of these words (repeatable)."),
    exclude: list[str] = typer.Option([], "--exclude", help="Drop titles with any of these words (repeatable)."),
    min_duration: Optional[float] = typer.Option(None, "--min-duration", help="Seconds."),
    max_duration: Optional[float] = typer.Option(None, "--max-duration", help="Seconds."),
    limit: Optional[int] = typer.Option(None, "--limit", help="At most this many items (after filters)."),
    sleep: float = typer.Option(0.0, "--sleep", help="Seconds between requests and downloads."),
    rate_limit: Optional[str] = typer.Option(None, "--rate-limit", help="Download speed cap, e.g. 2M."),
    retries: int = typer.Option(3, "--retries"),
    shard: Optional[str] = typer.Option(None, "--shard", help="i/n: only this machine's share of the items."),
    checkpoint: int = typer.Option(25, "--checkpoint", help="Commit a version every N downloads (0: only at the end)."),
    wait: Optional[float] = WaitOpt,
    as_json: bool = JsonOpt,
):
    """Download audio with yt-dlp into the store (16 kHz mono Opus + provenance); resumable."""
    from mmdata.crawl import crawl as run
    from mmdata.render import console, progress_bar

    with progress_bar(not as_json) as progress:
        result = run(urls or [], into, _store(), from_file, include, exclude, min_duration, max_duration, limit, sleep,
                     rate_limit, retries, shard, checkpoint, wait, progress)
    if as_json:
        return _print_dataclass(result)
    _job_summary(result, result.failures_by_reason)
    if result.failures_by_reason:
        console.print(f"details: mmdata query \"SELECT file, rule, message FROM _rejects WHERE dataset = '{into}'\"", markup=False)


@app.command()
def transcribe(
    source: str = typer.Argument(..., help="Audio dataset, name[@V]."),
    into: str = typer.Option(..., "--into", help="Dataset of transcript records."),
    model: str = typer.Option("large-v3", "--model", help="faster-whisper model name, or a local CTranslate2 folder."),
    device: str = typer.Option("auto", "--device", help="auto|cpu|cuda"),
    compute_type: str = typer.Option("default", "--compute-type", help="e.g. float16, int8_float16, int8."),
    batch_size: int = typer.Option(8, "--batch-size", help="Chunks per batch in faster-whisper's batched pipeline."),
    beam_size: int = typer.Option(5, "--beam-size"),
    chunking: str = typer.Option("vad", "--chunking", help="vad (cut at silences) or fixed (the reference's 30 s windows)."),
    max_chunk_seconds: float = typer.Option(30.0, "--max-chunk-seconds"),
    languages: str = typer.Option("ms,en", "--languages", help="One pass per language (ms,en), or auto."),
    shard: Optional[str] = typer.Option(None, "--shard", help="i/n: only this machine's share of the audio."),
    checkpoint: int = typer.Option(50, "--checkpoint", help="Commit a version every N audio items (0: only at the end)."),
    wait: Optional[float] = WaitOpt,
    as_json: bool = JsonOpt,
):
    """Pseudo-label stored audio with faster-whisper: chunks, texts per language, quality signals."""
    from mmdata.render import progress_bar
    from mmdata.transcribe import transcribe as run

    with progress_bar(not as_json) as progress:
        result = run(source, into, _store(), model, device, compute_type, batch_size, beam_size, chunking,
                     max_chunk_seconds, languages, shard, checkpoint, wait, progress)
    if as_json:
        return _print_dataclass(result)
    _job_summary(result, result.failures_by_reason)


@app.command()
def synthesize(
    type: str = typer.Option(..., "--type", help="What to make: audio-instructions, visual-context, multi-image, "
                                                 "multi-audio, image-audio or translate (see above)."),
    sources: list[str] = typer.Option(..., "--from", help="Source dataset NAME[@V] (repeatable)."),
    into: str = typer.Option(..., "--into", help="Dataset of conversations to write."),
    endpoint: Optional[str] = typer.Option(None, "--endpoint", envvar="OPENAI_BASE_URL", help="OpenAI-compatible base URL."),
    model: str = typer.Option("default", "--model", help="Model name the endpoint serves."),
    api_key_env: str = typer.Option("OPENAI_API_KEY", "--api-key-env", help="Environment variable holding the key."),
    concurrency: int = typer.Option(32, "--concurrency", help="Requests in flight at most."),
    rpm: Optional[int] = typer.Option(None, "--rpm", help="Requests per minute at most."),
    tpm: Optional[int] = typer.Option(None, "--tpm", help="Tokens per minute at most."),
    limit: Optional[int] = typer.Option(None, "--limit", help="At most this many items."),
    seed: int = typer.Option(0, "--seed"),
    recipe: Optional[str] = typer.Option(None, "--recipe", help="A recipe YAML instead of the shipped one."),
    shard: Optional[str] = typer.Option(None, "--shard", help="i/n: only this machine's share of the items."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Render the first prompts; send nothing."),
    items: int = typer.Option(2, "--items", help="Items related per record (multi-image, multi-audio, image-audio)."),
    vision: bool = typer.Option(False, "--vision", help="visual-context: send the image itself (vision endpoint)."),
    checkpoint: int = typer.Option(200, "--checkpoint", help="Commit a version every N items (0: only at the end)."),
    timeout: float = typer.Option(120.0, "--timeout", help="Seconds per request."),
    give_up_after: float = typer.Option(300.0, "--give-up-after", help="Stop when nothing succeeds for this long."),
    as_json: bool = JsonOpt,
):
    """Generate bilingual conversations against any OpenAI-compatible endpoint; resumable, cached.

    --type is one of:
      audio-instructions  questions on a transcribed clip, each answered
      visual-context      a dialogue on an image and its caption
      multi-image         what links --items pictures
      multi-audio         what links --items audio clips
      image-audio         what links pictures and audio clips (--items in all)
      translate           the other language for every turn of conversations
    """
    from mmdata.render import console, progress_bar
    from mmdata.synth import synthesize as run

    with progress_bar(not as_json and not dry_run) as progress:
        result = run(type, sources, into, _store(), endpoint, model, api_key_env, concurrency, rpm, tpm, limit, seed,
                     recipe, shard, dry_run, items, vision, checkpoint, timeout, give_up_after, progress)
    if as_json:
        return _print_dataclass(result)
    for prompt in result.prompts:
        console.rule(f"item {prompt['item']}  sampling {prompt['sampling']}")
        console.print(prompt["messages"][0]["content"], markup=False, highlight=False)
    _job_summary(result, result.rejects_by_reason, "rejected")


@app.command()
def mix(
    spec: Path = typer.Option(..., "--spec", help="The mixture spec (YAML)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the plan (rows per source and language); write nothing."),
    export_dir: Optional[Path] = typer.Option(None, "--export", help="Also export the mixture to this new folder."),
    export_format: str = typer.Option("mmtrain", "--format", help="Export format with --export: mmtrain|jsonl|hf|llava|sharegpt."),
    plot: Optional[Path] = typer.Option(None, "--plot", help="Write PNG charts of the report into this folder."),
    workers: Optional[int] = typer.Option(None, "--workers", min=0,
                                          help="Processes for near-dedupe's signatures (default: by size and cores; 0: none)."),
    wait: Optional[float] = WaitOpt,
    as_json: bool = JsonOpt,
):
    """Build a training mixture from a YAML spec: a versioned dataset and a report of what it holds."""
    from mmdata.mix import mix as run
    from mmdata.render import console, print_json, progress_bar

    with progress_bar(not as_json) as progress:
        result = run(spec, _store(), dry_run, wait, plot, progress, workers)
        exported = None
        if export_dir is not None and not dry_run:
            from mmdata import export

            # the version just written (or unchanged)
            exported = export(result.dataset, export_format, export_dir, _store(), progress=progress)
    if as_json:
        from dataclasses import asdict

        return print_json({**asdict(result), "export": exported})
    if result.report:
        _mixture_tables(result.report)
    else:
        _plan_table(result.plan, with_tokens=dry_run)
    console.print(result.message, markup=False)
    for path in result.plots:
        console.print(f"chart: {path}", markup=False)
    if exported:
        console.print(f"exported {exported['records']} records -> {exported['out']} ({export_format})", markup=False)


def _plan_table(plan: list[dict], with_tokens: bool = False) -> None:
    """The plan, narrow enough for 80 columns (``--json`` has every field)."""
    from mmdata.render import table

    def language(policy) -> str:
        return policy if isinstance(policy, str) else " / ".join(f"{k} {v:g}" for k, v in policy["mix"].items())

    rows = []
    for p in plan:
        removed = {"where": p["loaded"] - p["matched"], **p["removed"]} if p["loaded"] > p["matched"] else p["removed"]
        rows.append({"source": p["source"], "amount": f"{p['mode']} {p['amount']:g}", "language": language(p["language"]),
                     "available": p["available"], "planned": p["planned"],
                     "removed": ", ".join(f"{k} {v}" for k, v in removed.items()) or "-",
                     "en": p.get("rows_en"), "ms": p.get("rows_ms"), "tokens": p.get("tokens")})
    table("plan (records per source; rows per language)", rows,
          ["source", "amount", "language", "available", "planned", "removed", "en", "ms"] + (["tokens"] if with_tokens else []))


def _mixture_tables(report: dict) -> None:
    """A mixture's report as tables: its plan, then what the written rows hold against it."""
    from mmdata.render import table

    if report.get("plan"):
        _plan_table(report["plan"])
    table("achieved share by source (from the written rows)", report["by_source"])
    for name in ("by_kind", "by_language", "by_split"):
        table(name.replace("_", " "), report[name])
    table("per record", [report["shape"]])


@app.command()
def validate(
    target: str = typer.Argument(..., help="name, name@N, name@tag, or a file/folder to check before importing."),
    format: Optional[str] = typer.Option(None, "--format", help="Input format when TARGET is a file."),
    media_root: Optional[Path] = typer.Option(None, "--media-root"),
    as_json: bool = JsonOpt,
):
    """Check every record against the schemas, rules and media. Exit 0 only when clean."""
    from mmdata import validate as run
    from mmdata.render import console, print_json, problems, progress_bar, table

    with progress_bar(not as_json) as progress:
        report = run(target, _store(), format, media_root, progress)
    if as_json:
        print_json({"target": report.target, "checked": report.checked, "invalid": report.invalid,
                    "by_rule": report.by_rule, "samples": report.samples})
    else:
        verdict = "[green]clean[/green]" if report.ok else f"[red]{report.invalid} invalid[/red]"
        console.print(f"{report.target}: {report.checked} {report.record_kind} records checked, {verdict}")
        if report.by_rule:
            table("violations by rule", [{"rule": k, "count": v} for k, v in sorted(report.by_rule.items())])
            problems(report.samples, sum(report.by_rule.values()))
    raise typer.Exit(0 if report.ok else 1)


@app.command()
def query(
    sql: str = typer.Argument(..., help='One SELECT; datasets by name, versions as "name@N".'),
    format: str = typer.Option("table", "--format", help="table|json|csv"),
    out: Optional[Path] = typer.Option(None, "--out", help="Stream the result to a .parquet, .csv or .jsonl file."),
    limit: int = typer.Option(50, "--limit", help="Rows shown by --format table."),
):
    """Run read-only SQL (DuckDB) over the store."""
    from mmdata import query as run
    from mmdata.options import at_least
    from mmdata.render import console, table

    at_least(0, limit=limit)  # only this command shows rows, so only it checks (before the query runs)
    if format not in ("table", "json", "csv"):
        raise typer.BadParameter("--format must be table, json or csv")
    result = run(sql, _store(), out)
    if out is not None:
        return console.print(f"{result.rows} rows -> {result.path}", markup=False)
    if format == "json":
        from mmdata.render import print_json

        return print_json(result.table.to_pylist())
    if format == "csv":
        import pyarrow.csv as pacsv

        return pacsv.write_csv(result.table, sys.stdout.buffer)
    table(None, result.table.slice(0, limit).to_pylist(), result.columns)
    if result.rows > limit:
        console.print(f"[dim]{result.rows} rows, {limit} shown (--limit, or --out FILE for all)[/dim]")


@app.command()
def ls(as_json: bool = JsonOpt):
    """List datasets with their newest version."""
    from mmdata import ls as run
    from mmdata.render import console, print_json, table

    rows = run(_store())
    if as_json:
        return print_json(rows)
    if not rows:
        return console.print("no datasets yet: mmdata import FILE --into NAME")
    table("datasets", rows)


@app.command()
def log(name: str = typer.Argument(..., help="Dataset name."), as_json: bool = JsonOpt):
    """Every version of a dataset, with its lineage."""
    from mmdata import log as run
    from mmdata.render import print_json, table

    rows = run(name, _store())
    if as_json:
        return print_json(rows)
    table(f"{name}: versions", [{**r, "version": f"@{r['version']}"} for r in rows],
          ["version", "created_at", "command", "counts", "parents", "tags", "arguments"])


@app.command()
def show(ref: str = typer.Argument(..., help="name, name@N or name@tag."), limit: int = typer.Option(3, "--limit"),
         as_json: bool = JsonOpt):
    """One version: lineage, columns, sample records, rejects."""
    from mmdata import show as run
    from mmdata.render import console, key_values, print_json, table

    info = run(ref, _store(), limit)
    if as_json:
        return print_json(info)
    key_values(info["version"], {k: v for k, v in info.items() if k not in ("sample", "reject_samples", "columns")})
    for record in info["sample"]:
        console.print_json(data=record)
    if info["reject_samples"]:
        table("rejected records", info["reject_samples"])


@app.command()
def diff(a: str = typer.Argument(..., help="Older version, name@N."), b: str = typer.Argument(..., help="Newer version."),
         limit: int = typer.Option(3, "--limit"), as_json: bool = JsonOpt):
    """Records added, removed and changed between two versions."""
    from mmdata import diff as run
    from mmdata.render import console, print_json, table

    result = run(a, b, _store(), limit)
    if as_json:
        return print_json(result)
    table(f"{result['a']} -> {result['b']}", [result["counts"]])
    for what, records in result["samples"].items():
        for record in records:
            console.print(f"[bold]{what}[/bold]")
            console.print_json(data=record)


@app.command()
def tag(ref: str = typer.Argument(..., help="name@N"), name: str = typer.Argument(..., help="Tag, e.g. stable."),
        wait: Optional[float] = WaitOpt):
    """Point a tag at a version: name@TAG then means name@N."""
    from mmdata import tag as run
    from mmdata.render import console

    result = run(ref, name, _store(), wait)
    console.print(f"{result['dataset']}@{result['tag']} -> {result['dataset']}@{result['version']}")


@app.command()
def stats(ref: str = typer.Argument(..., help="name, name@N or name@tag."), as_json: bool = JsonOpt):
    """Turns, lengths, media per record, Malay fill and kinds of a version."""
    from mmdata import stats as run
    from mmdata.render import key_values, print_json

    result = run(ref, _store())
    if as_json:
        return print_json(result)
    mixture = result.pop("mixture", None)
    key_values(result.pop("version"), result)
    if mixture:
        _mixture_tables(mixture)


@app.command()
def export(
    ref: str = typer.Argument(..., help="name, name@N or name@tag."),
    format: str = typer.Option(..., "--format", help="hf|jsonl|llava|sharegpt|mmtrain"),
    out: Path = typer.Option(..., "--out", help="New folder to write."),
    language: str = typer.Option("en", "--language", help="en or ms (llava/sharegpt: which side of the chat)."),
    as_json: bool = JsonOpt,
):
    """Export a version for training."""
    from mmdata import export as run
    from mmdata.render import console, print_json, progress_bar

    with progress_bar(not as_json) as progress:
        result = run(ref, format, out, _store(), language, progress)
    if as_json:
        return print_json(result)
    reasons = result.get("skipped_reasons") or ({"left out": result["skipped"]} if result["skipped"] else {})
    skipped = "; left out: " + ", ".join(f"{why} {n}" for why, n in sorted(reasons.items())) if reasons else ""
    console.print(f"{result['version']}: {result['records']} records -> {result['out']} ({format}){skipped}", markup=False)


@app.command()
def demo():
    """Build a demo store from the bundled samples and walk through the main commands."""
    from mmdata import demo as run
    from mmdata.render import console, key_values, table

    try:
        from cli_train import quiet_transformers

        quiet_transformers()  # the demo's training steps, when the train extra is installed
    except ImportError:
        pass

    for step in run(_store()):
        console.rule(f"[bold]{step.title}")
        console.print(f"$ {step.command}", style="dim", markup=False, highlight=False, soft_wrap=True)
        if step.text:
            console.print(step.text, markup=False)
        if step.rows:
            table(None, step.rows)
        if step.fields:
            key_values(step.title, step.fields)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
