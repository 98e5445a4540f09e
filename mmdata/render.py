"""Rich rendering for the CLI: tables, panels and progress bars. The library never imports this."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

console = Console()
errors = Console(stderr=True)


def print_json(data) -> None:
    # Plain print, not rich: machine output must be exactly JSON, unwrapped.
    print(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def table(title: str | None, rows: list[dict], columns: list[str] | None = None) -> None:
    columns = columns or (list(rows[0]) if rows else [])
    grid = Table(title=title, show_lines=False, header_style="bold cyan")
    for column in columns:
        grid.add_column(column, overflow="fold", min_width=min(len(column), 12))
    for row in rows:
        grid.add_row(*[Text(_cell(row.get(c))) for c in columns])
    console.print(grid)


def _cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, list) and all(isinstance(v, (str, int, float)) for v in value):
        return ", ".join(map(str, value))
    if isinstance(value, (list, dict)):
        text = json.dumps(value, ensure_ascii=False, default=str)
        return text if len(text) <= 120 else text[:117] + "..."
    return str(value)


def problems(rows: list[dict], total: int) -> None:
    """Rejected records as ``file:line: field: [rule] message`` lines, the way compilers report."""
    for row in rows:
        console.print(
            Text(f"{row['file']}:{row['line']}: {row['field_path']}: ", style="bold")
            + Text(f"[{row['rule']}] ", style="red")
            + Text(row["message"]),
            soft_wrap=True,
        )
    if total > len(rows):
        console.print(f"... and {total - len(rows)} more (mmdata show NAME, or query the _rejects table)", style="dim")


def key_values(title: str, data: dict) -> None:
    grid = Table(title=title, show_header=False, header_style="bold cyan")
    grid.add_column(style="bold")
    grid.add_column(overflow="fold")
    for key, value in data.items():
        grid.add_row(key, Text(_cell(value)))
    console.print(grid)


class _AudioRate(ProgressColumn):
    """For work counted in audio seconds: hours done and the real-time factor so far."""

    def render(self, task) -> Text:
        if task.description != "transcribing" or not task.completed or not task.elapsed:
            return Text("")
        return Text(f"{task.completed / 3600:.2f} h audio, RTF {task.elapsed / task.completed:.3f}", style="cyan")


@contextmanager
def progress_bar(enabled: bool = True) -> Iterator:
    """A callback for the library's ``progress=``: one bar per task name, with ETA when the total is known."""
    if not enabled or not errors.is_terminal:  # no bars in logs and pipes
        yield lambda task, done, total=None, note=None: None
        return
    bars = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        _AudioRate(),
        TextColumn("{task.fields[note]}"),
        console=errors,
        transient=True,
    )
    tasks: dict[str, int] = {}

    def update(task: str, done: int, total: int | None = None, note: str | None = None) -> None:
        if task not in tasks:
            tasks[task] = bars.add_task(task, total=total, note="")
        bars.update(tasks[task], completed=done, total=total, note=note or "")

    with bars:
        yield update
