"""``labkit workshop``: one lab per participant on a shared machine, for instructors."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from labkit.cli import app
from labkit.cli._output import console, emit
from labkit.cli._params import count_option, port_option
from labkit.cli.lab import EngineOpt, JsonOpt, _progress
from labkit.errors import UsageError
from labkit.lab.workshop import MAX_SEATS, SEAT_NET, SEAT_PREFIX, SeatStatus, Workshop, seat_config

workshop_app = typer.Typer(
    help="Run one lab per participant and watch the room's progress.", no_args_is_help=True
)
app.add_typer(workshop_app, name="workshop")

HostOpt = Annotated[
    str | None,
    typer.Option(
        "--host",
        help="Host name participants use in the URLs (default: this machine's "
        "name when --bind 0.0.0.0, else 127.0.0.1).",
    ),
]


PrefixOpt = Annotated[
    str,
    typer.Option(
        "--seat-prefix",
        envvar="LABKIT_SEAT_PREFIX",
        help="Seats are the labs (Compose projects) named PREFIX1, PREFIX2, ...",
    ),
]
NetOpt = Annotated[
    str,
    typer.Option(
        "--seat-net",
        envvar="LABKIT_SEAT_NET",
        help="Seat N's network is NET.N.0/24 (two octets of a private range).",
    ),
]


def _workshop(prefix: str, net: str, host: str | None = None, bind: str = "127.0.0.1") -> Workshop:
    try:  # a bad prefix or network fails before any work
        seat_config(1, prefix=prefix, net=net)
    except UsageError as exc:
        raise UsageError(
            f"Seats cannot be named {prefix}N on networks {net}.N.0/24: {exc.message}",
            advice="--seat-prefix: lower-case letters, digits, '-' and '_' (e.g. labkit-seat); "
            "--seat-net: the first two octets of a private range (e.g. 10.126).",
        ) from exc
    return Workshop(host=_host(host, bind), prefix=prefix, net=net)


def _host(host: str | None, bind: str = "127.0.0.1") -> str:
    if host:
        return host
    return socket.gethostname() if bind == "0.0.0.0" else "127.0.0.1"


def _table(seats: list[SeatStatus]) -> Table:
    table = Table(title="workshop seats", title_justify="left")
    for col in ("seat", "health", "scenario", "points", "tries", "JupyterLab"):
        table.add_column(
            col,
            justify="right" if col in ("seat", "points", "tries") else "left",
            overflow="fold",
        )
    for s in seats:
        health = "[green]healthy[/]" if s.healthy else f"[red]{escape(s.error or 'not healthy')}[/]"
        scenario = (s.scenario or "-") + (" [yellow](edited)[/]" if s.edited else "")
        points = f"{s.earned:g}/{s.possible:g}" if s.possible else "-"
        tries = str(s.tries) if s.possible else "-"
        table.add_row(str(s.seat), health, scenario, points, tries, escape(s.url or "-"))
    return table


@workshop_app.command("up")
def workshop_up(
    seats: Annotated[
        int,
        typer.Option(
            "--seats",
            "-n",
            help="Number of participants.",
            parser=count_option(1, MAX_SEATS, "seats"),
        ),
    ],
    first_port: Annotated[
        int, typer.Option("--first-port", help="Port of seat 1.", parser=port_option("first port"))
    ] = 8901,
    bind: Annotated[
        str,
        typer.Option(
            "--bind", help="127.0.0.1, or 0.0.0.0 to let participants connect over the network."
        ),
    ] = "127.0.0.1",
    scenario: Annotated[str | None, typer.Option("--scenario", "-s")] = None,
    parallel: Annotated[
        int | None,
        typer.Option(
            "--parallel",
            help="Seats started at once (default: CPU cores).",
            parser=count_option(1, 64, "parallel"),
        ),
    ] = None,
    host: HostOpt = None,
    prefix: PrefixOpt = SEAT_PREFIX,
    net: NetOpt = SEAT_NET,
    engine: EngineOpt = "compose",
    as_json: JsonOpt = False,
) -> None:
    """Start SEATS labs (labkit-seat1, -seat2, ...) side by side and print their URLs."""
    workshop = _workshop(prefix, net, host, bind)
    with _progress(as_json) as (say, _):
        result = workshop.up(
            seats,
            first_port=first_port,
            bind=bind,
            scenario=scenario,
            parallel=parallel,
            engine=engine,
            say=say,
        )
    emit(result, as_json, lambda: console.print(_table(result)))
    if any(s.error for s in result):
        raise typer.Exit(1)


@workshop_app.command("status")
def workshop_status(
    host: HostOpt = None,
    prefix: PrefixOpt = SEAT_PREFIX,
    net: NetOpt = SEAT_NET,
    as_json: JsonOpt = False,
) -> None:
    """Every seat's health, scenario, points and URL."""
    result = _workshop(prefix, net, host).status()
    if not result and not as_json:
        console.print(
            "No workshop seats are running. Start them with `labkit workshop up --seats N`."
        )
        return
    emit(result, as_json, lambda: console.print(_table(result)))


@workshop_app.command("apply")
def workshop_apply(scenario: str, prefix: PrefixOpt = SEAT_PREFIX, net: NetOpt = SEAT_NET) -> None:
    """Put every seat into SCENARIO (e.g. before an exercise the whole room does)."""
    done = _workshop(prefix, net).apply(scenario)
    console.print(f"[green]✓[/] {scenario} applied on {len(done)} seat(s)")


@workshop_app.command("down")
def workshop_down(
    volumes: Annotated[bool, typer.Option("--volumes")] = False,
    prefix: PrefixOpt = SEAT_PREFIX,
    net: NetOpt = SEAT_NET,
) -> None:
    """Stop every seat (with --volumes, also delete participants' notebooks and progress)."""
    with _progress(False) as (say, _):
        done = _workshop(prefix, net).down(volumes=volumes, say=say)
    console.print(f"[green]✓[/] stopped {len(done)} seat(s)")


@workshop_app.command("grade")
def workshop_grade(
    task: Annotated[
        list[str] | None,
        typer.Option("--task", help="Only this live task (repeat for several)."),
    ] = None,
    csv_file: Annotated[
        Path | None, typer.Option("--csv", help="Also write the gradebook to this CSV file.")
    ] = None,
    prefix: PrefixOpt = SEAT_PREFIX,
    net: NetOpt = SEAT_NET,
    as_json: JsonOpt = False,
) -> None:
    """Check every seat's live tasks from its own workstation: a gradebook of what each
    server really does (never read from the participants' own progress files)."""
    from labkit.exercises.gradebook import grade_seats, gradebook_csv

    seats = grade_seats(_workshop(prefix, net).seats(), task or ())
    if csv_file is not None:
        try:
            csv_file.write_text(gradebook_csv(seats))
        except OSError as exc:
            raise UsageError(f"Cannot write {csv_file}: {exc.strerror}.") from exc

    def render() -> None:
        if not seats:
            console.print("No workshop seats are running: nothing to grade.")
            return
        tasks = list(dict.fromkeys(r.task for s in seats for r in s.results))
        table = Table(
            title="live tasks per seat (checked now, from each seat)", title_justify="left"
        )
        table.add_column("seat")
        for t in tasks:
            table.add_column(t.split(".", 1)[1] if "." in t else t, justify="center")
        table.add_column("points", justify="right")
        for seat in seats:
            cells = []
            for t in tasks:
                r = seat.result(t)
                cells.append(
                    "[dim]?[/]"
                    if r is None or r.error
                    else "[green]✓[/]"
                    if r.passed
                    else "[red]✗[/]"
                )
            total = f"{seat.earned:g}/{seat.possible:g}" if not seat.error else escape(seat.error)
            table.add_row(escape(seat.seat), *cells, total)
        console.print(table)
        console.print(
            "[dim]✓ the task's check passes now; ✗ not yet; ? could not be checked. Question "
            "points are self-reported: `labkit workshop status`.[/]"
        )
        if csv_file is not None:
            console.print(f"[green]✓[/] gradebook written to {escape(str(csv_file))}")

    emit(seats, as_json, render)
