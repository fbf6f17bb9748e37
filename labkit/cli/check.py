"""``labkit check``: the live tasks, checked against the lab now.

What the notebooks' "Check my fix" buttons run, for every task at once, from the
learner's vantage (on the host it runs in the workstation, like ``probe``). It reads
the server, never the progress file, so it is what an instructor's gradebook sees
(``labkit workshop grade`` runs it in every seat). Exit code 1 when a task fails.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from labkit.cli import app
from labkit.cli._output import console, emit
from labkit.cli._project import ProjectOpt, use_project
from labkit.exercises.gradebook import TaskResult, check_tasks


def _table(results: tuple[TaskResult, ...]) -> Table:
    table = Table(title="live tasks, checked now", title_justify="left")
    for col in ("task", "result", "points", "what the check saw"):
        table.add_column(col, overflow="fold")
    for r in results:
        mark = (
            "[red]could not check[/]"
            if r.error
            else "[green]✓ pass[/]"
            if r.passed
            else "[red]✗ not yet[/]"
        )
        table.add_row(
            f"{escape(r.task)}\n[dim]{escape(r.title)}[/]",
            mark,
            f"{r.score:g}/{r.points:g}",
            escape(r.error or r.feedback),
        )
    return table


@app.command("check")
def check(
    task: Annotated[
        list[str] | None, typer.Argument(help="Task ids (default: every live task).")
    ] = None,
    project: ProjectOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Check the live tasks against the lab now (what the server really does)."""
    use_project(project)
    results = check_tasks(task or None)
    emit({"tasks": list(results)}, as_json, lambda: console.print(_table(results)))
    if not all(r.passed for r in results):
        raise typer.Exit(1)
