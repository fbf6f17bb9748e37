"""``labkit progress``: what the learner has done, per notebook."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from labkit.cli import app
from labkit.cli._output import console, emit, err_console
from labkit.cli._project import ProjectOpt, use_project
from labkit.exercises.progress import ENV_VAR, ProgressStore, ProgressWarning


def _fmt_points(value: float) -> str:
    return f"{value:g}"


@app.command("progress")
def progress(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
    file: Annotated[
        str | None,
        typer.Option(
            "--file", help=f"Progress file (default: ${ENV_VAR} or ~/.labkit/progress.json)."
        ),
    ] = None,
    project: ProjectOpt = None,
) -> None:
    """Show points earned per notebook, with hints and solutions used."""
    use_project(project)
    if file is not None and not file.strip():
        raise typer.BadParameter(
            "The file name is empty: give a file name, or leave --file out.",
            param_hint="'--file'",
        )
    store = ProgressStore(Path(file) if file is not None else None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ProgressWarning)
        summary = store.summary()
        records = store.records()
    for warning in {str(w.message) for w in caught if issubclass(w.category, ProgressWarning)}:
        err_console.print(f"[yellow]warning:[/] {escape(warning)}")
    data: dict[str, Any] = {
        "file": store.path,
        "notebooks": summary.to_dict(orient="records"),
        "exercises": list(records.values()),
    }

    def render() -> None:
        table = Table(title=f"Progress ({store.path})")
        for column in ("notebook", "title"):
            table.add_column(column)
        for column in ("passed", "attempted", "tries", "hints", "solutions", "points", "%"):
            table.add_column(column, justify="right")
        table.add_column("progress", no_wrap=True)
        for row in summary.itertuples(index=False):
            style = "green" if row.possible and row.earned >= row.possible else None
            table.add_row(
                row.notebook,
                row.title,
                f"{row.passed}/{row.exercises}",
                str(row.attempted),
                str(row.tries),
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
