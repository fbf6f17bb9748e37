"""``labkit progress``: what the learner has done, per notebook."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from labkit.cli import app
from labkit.cli._output import console, emit
from labkit.exercises.progress import ENV_VAR, ProgressStore


def _fmt_points(value: float) -> str:
    return f"{value:g}"


@app.command("progress")
def progress(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
    file: Annotated[
        Path | None,
        typer.Option(
            "--file", help=f"Progress file (default: ${ENV_VAR} or ~/.labkit/progress.json)."
        ),
    ] = None,
) -> None:
    """Show points earned per notebook, with hints and solutions used."""
    store = ProgressStore(file)
    summary = store.summary()
    records = store.records()
    data: dict[str, Any] = {
        "file": store.path,
        "notebooks": summary.to_dict(orient="records"),
        "exercises": list(records.values()),
    }

    def render() -> None:
        table = Table(title=f"Progress ({store.path})")
        for column in ("notebook", "title"):
            table.add_column(column)
        for column in ("passed", "attempted", "hints", "solutions", "points", "%"):
            table.add_column(column, justify="right")
        table.add_column("progress", no_wrap=True)
        for row in summary.itertuples(index=False):
            style = "green" if row.possible and row.earned >= row.possible else None
            table.add_row(
                row.notebook,
                row.title,
                f"{row.passed}/{row.exercises}",
                str(row.attempted),
                str(row.hints_used),
                str(row.solutions_shown),
                f"{_fmt_points(row.earned)}/{_fmt_points(row.possible)}",
                f"{row.percent:.0f}",
                _bar(row.percent),
                style=style,
            )
        console.print(table)
        if not records:
            console.print("Nothing recorded yet: answer a question in a notebook to start.")

    emit(data, as_json, render)


def _bar(percent: float, width: int = 12) -> str:
    """A small text bar, the terminal's version of the notebook's progress plot."""
    filled = round(max(0.0, min(100.0, percent)) / 100 * width)
    return f"[green]{'█' * filled}[/][dim]{'░' * (width - filled)}[/]"
