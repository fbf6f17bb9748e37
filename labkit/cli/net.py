"""``labkit net``: which network the laptop uses, switching it, and the router's log."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from labkit.cli import app
from labkit.cli._output import console, emit
from labkit.cli._params import count_option
from labkit.cli.lab import JsonOpt, ProjectOpt, _lab
from labkit.netpath.network import NetworkState

net_app = typer.Typer(
    help="The laptop's network path: cafe (Wi-Fi, maybe inspected) or hotspot (the phone).",
    invoke_without_command=True,
)
app.add_typer(net_app, name="net")


def _print_state(state: NetworkState, switched: bool = False) -> None:
    colour = "green" if state.usable else "red"
    took = f" [dim](switched in {state.elapsed:.2f}s)[/]" if switched else ""
    console.print(f"network: [{colour}]{escape(state.describe())}[/]{took}")


@net_app.callback()
def net(ctx: typer.Context, project: ProjectOpt = None, as_json: JsonOpt = False) -> None:
    """Which network the laptop uses now."""
    if ctx.invoked_subcommand is not None:
        return
    state = _lab(project).network()
    emit(state, as_json, lambda: _print_state(state))
    if not state.usable:
        raise typer.Exit(1)


@net_app.command("use")
def net_use(
    name: Annotated[str, typer.Argument(help="cafe or hotspot")],
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Switch the laptop to another network (its default route), as a learner would
    tether to a phone."""
    state = _lab(project).use_network(name)
    emit(state, as_json, lambda: _print_state(state, switched=True))


_LINES = count_option(1, 10_000, "number of lines")


@net_app.command("log")
def net_log(
    lines: Annotated[
        int,
        typer.Option(
            "--lines", "-n", help="How many lines.", parser=count_option(1, 10_000, "lines")
        ),
    ] = 30,
    project: ProjectOpt = None,
) -> None:
    """The router's view: what its SMTP inspector masked and dropped."""
    console.print(escape(_lab(project).path_log(lines).rstrip()) or "[dim](nothing yet)[/]")
