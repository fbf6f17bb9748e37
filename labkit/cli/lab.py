"""``labkit up|down|status|build|scenario|reset|logs``: the lab's lifecycle."""

from __future__ import annotations

import difflib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer

from labkit.cli import app
from labkit.cli._output import console, emit, err_console, escape
from labkit.cli._params import count_option, port_option
from labkit.cli._project import ProjectOpt
from labkit.lab.config import LabConfig
from labkit.lab.lifecycle import Lab, LabStatus
from labkit.lab.state import ApplyResult, ScenarioState

if TYPE_CHECKING:
    from rich.table import Table

scenario_app = typer.Typer(
    help="List, apply and inspect scenarios (broken states of the server).", no_args_is_help=True
)
app.add_typer(scenario_app, name="scenario")

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
EngineOpt = Annotated[
    str,
    typer.Option(
        "--engine",
        envvar="LABKIT_ENGINE",
        help="Where the labs run: compose (this machine) or swarm (the Docker Swarm this "
        "machine manages; each lab on one node, placed by free memory; docs/swarm.md).",
        metavar="compose|swarm",
    ),
]


def _lab(project: str | None = None, port: int | None = None) -> Lab:
    return Lab(LabConfig.from_env(project=project, jupyter_port=port))


@contextmanager
def _progress(quiet: bool) -> Iterator[tuple]:
    """A spinner whose text follows the current step and the latest build output line."""
    if quiet:
        yield (lambda _m: None), (lambda _l: None)
        return
    started = time.monotonic()
    with err_console.status("starting", spinner="dots") as status:
        step = {"text": "starting"}

        def say(message: str) -> None:
            err_console.print(f"[dim]{time.monotonic() - started:6.1f}s[/] {escape(message)}")
            step["text"] = message
            status.update(escape(message))

        def on_line(line: str) -> None:
            line = line.strip()
            if line:
                status.update(f"{escape(step['text'])} [dim]| {escape(line[:90])}[/]")

        yield say, on_line


def _print_apply(result: ApplyResult) -> None:
    steps = ", ".join(f"{k} {v:.2f}s" for k, v in result.steps.items())
    console.print(
        f"[green]✓[/] scenario [bold]{result.scenario}[/] applied in "
        f"{result.elapsed:.2f}s ({steps}); SMTP ports listening: "
        f"{', '.join(map(str, result.ports)) or 'none'}"
    )
    for m in result.messages:
        console.print(f"  [yellow]{escape(m)}[/]")
    if result.network is not None:
        console.print(f"  the laptop is on {result.network}")


@app.command()
def up(
    scenario: Annotated[
        str | None,
        typer.Option(
            "--scenario", "-s", help="Scenario to apply (default: keep the current one, or 'blog')."
        ),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(
            "--port",
            envvar="LABKIT_JUPYTER_PORT",
            help="Port for JupyterLab on 127.0.0.1 (default 8888).",
            parser=port_option("JupyterLab port"),
        ),
    ] = None,
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Build what is missing, start the lab, wait until healthy, apply a scenario."""
    lab = _lab(project, port)
    with _progress(as_json) as (say, on_line):
        result = lab.up(scenario, say=say, on_line=on_line)
    url = lab.url()  # None for a seat behind the hub: nothing is published

    def render() -> None:
        _print_apply(result)
        if url is None:
            console.print(
                f"\n[bold]The lab is up[/] ({lab.config.project}); nothing is published: "
                "learners reach it through the hub."
            )
        else:
            console.print(
                f"\n[bold]The lab is up.[/] Open the course in your browser:\n"
                f"  [link={url}]{url}[/]"
            )
        console.print("[dim]Stop it with `labkit down`; see it with `labkit status`.[/]")

    emit({"scenario": result, "url": url}, as_json, render)


@app.command()
def down(
    volumes: Annotated[
        bool,
        typer.Option(
            "--volumes",
            help="Also delete the lab's volumes: "
            "its CA, keys and the learner's notebooks and progress.",
        ),
    ] = False,
    project: ProjectOpt = None,
) -> None:
    """Stop the lab (learner progress is kept unless --volumes)."""
    lab = _lab(project)
    with _progress(False) as (say, _):
        lab.down(volumes=volumes, say=say)
    console.print(
        "[green]✓[/] lab stopped"
        + (
            " and its volumes removed"
            if volumes
            else "; notebooks and progress are kept for the next `labkit up`"
        )
    )


@app.command()
def build(
    service: Annotated[
        list[str] | None, typer.Argument(help="dns, mx, workstation (default all)")
    ] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache")] = False,
    project: ProjectOpt = None,
) -> None:
    """Build (or rebuild) the lab's images; works offline by making a Debian base locally."""
    lab = _lab(project)
    with _progress(False) as (say, on_line):
        seconds = lab.build(services=service or None, say=say, on_line=on_line, no_cache=no_cache)
    console.print(f"[green]✓[/] images built in {seconds:.1f}s")


def _status_table(st: LabStatus) -> Table:
    from rich.table import Table

    table = Table(title=f"lab {st.project}", title_justify="left")
    for col in ("service", "state", "health", "container", "image"):
        table.add_column(col)
    colours = {"healthy": "green", "unhealthy": "red", "starting": "yellow"}
    for s in st.services:
        colour = colours.get(s.health, "dim")
        table.add_row(
            s.service, s.state, f"[{colour}]{s.health}[/]", s.container or "-", s.image or "-"
        )
    return table


def _scenario_line(state: ScenarioState | None) -> str:
    if state is not None and state.problem and state.name is None:
        return (
            f"scenario: [yellow]unknown: edited by hand ({escape(state.problem)}); "
            "`labkit scenario apply NAME` puts the lab back in a known state[/]"
        )
    if state is None or state.name is None:
        return "scenario: [dim]none applied[/]"
    if state.problem:
        return (
            f"scenario: [bold]{state.name}[/] [yellow](edited by hand: "
            f"{escape(state.problem)}; `labkit reset` undoes)[/]"
        )
    edits = (
        f" [yellow](edited since: {', '.join(state.modified)}; `labkit reset` undoes)[/]"
        if state.modified
        else " [green](pristine)[/]"
    )
    return f"scenario: [bold]{state.name}[/]{edits}"


@app.command()
def status(project: ProjectOpt = None, as_json: JsonOpt = False) -> None:
    """Services, health, current scenario and the JupyterLab URL."""
    st = _lab(project).status()

    def render() -> None:
        console.print(_status_table(st))
        console.print(_scenario_line(st.scenario))
        if st.network is not None:
            from labkit.netpath.network import NetworkState

            console.print(f"network: {escape(NetworkState(st.network, '').describe())}")
        if st.node is not None:
            console.print(
                f"runs on swarm node [bold]{escape(st.node)}[/] (nothing published: learners "
                "come in through the hub)"
            )
        if st.url:
            console.print(f"JupyterLab: [link={st.url}]{st.url}[/]")
        elif not st.running:
            console.print("[dim]The lab is not running: `labkit up` starts it.[/]")

    emit({**_asdict(st), "running": st.running, "healthy": st.healthy}, as_json, render)
    if not st.running:
        raise typer.Exit(1)


def _asdict(obj: object) -> dict:
    from labkit.cli._output import to_jsonable

    data = to_jsonable(obj)
    assert isinstance(data, dict)
    return data


@scenario_app.command("list")
def scenario_list(project: ProjectOpt = None, as_json: JsonOpt = False) -> None:
    """The scenarios, what each breaks, and the ports it leaves open."""
    lab = _lab(project)
    items = lab.scenarios()

    def render() -> None:
        from rich.table import Table

        table = Table(show_lines=True)
        table.add_column("scenario", style="bold")
        table.add_column("what the learner meets")
        table.add_column("SMTP ports open")
        for s in items:
            table.add_row(
                s.name,
                f"[bold]{escape(s.title)}[/]\n{escape(s.summary)}",
                ", ".join(map(str, s.expect_ports)),
            )
        console.print(table)

    emit(
        [
            {
                "name": s.name,
                "title": s.title,
                "summary": s.summary,
                "tls": s.tls,
                "services": s.services,
                "zone": s.zone,
                "expect_ports": s.expect_ports,
            }
            for s in items
        ],
        as_json,
        render,
    )


@scenario_app.command("apply")
def scenario_apply(name: str, project: ProjectOpt = None, as_json: JsonOpt = False) -> None:
    """Put the lab into scenario NAME (full Postfix and DNS state, no rebuild)."""
    result = _lab(project).apply(name)
    emit(result, as_json, lambda: _print_apply(result))


@scenario_app.command("current")
def scenario_current(project: ProjectOpt = None, as_json: JsonOpt = False) -> None:
    """Which scenario is applied, and whether files were edited since."""
    state = _lab(project).current()
    emit(state, as_json, lambda: console.print(_scenario_line(state)))


@scenario_app.command("show")
def scenario_show(name: str, project: ProjectOpt = None) -> None:
    """What scenario NAME changes, as a diff against the working server (`fixed`)."""
    lab = _lab(project)
    base, target = lab.render("fixed"), lab.render(name)
    console.print(f"[bold]{escape(target.scenario.title)}[/]\n{escape(target.scenario.summary)}\n")
    pairs = [(p, base.postfix_files[p], target.postfix_files[p]) for p in target.postfix_files]
    pairs += [
        (f"zones/{z}", _strip_serial(base.zone_files[z]), _strip_serial(target.zone_files[z]))
        for z in target.zone_files
    ]
    for path, a, b in pairs:
        diff = list(
            difflib.unified_diff(
                a.splitlines(), b.splitlines(), f"fixed:{path}", f"{name}:{path}", lineterm="", n=1
            )
        )
        for line in diff:
            colour = "green" if line.startswith("+") else "red" if line.startswith("-") else "dim"
            console.print(f"[{colour}]{escape(line)}[/]")
    path_diff = difflib.unified_diff(
        base.scenario.netpath.describe(),
        target.scenario.netpath.describe(),
        "fixed:[path]",
        f"{name}:[path]",
        lineterm="",
        n=0,
    )
    for line in path_diff:
        colour = "green" if line.startswith("+") else "red" if line.startswith("-") else "dim"
        console.print(f"[{colour}]{escape(line)}[/]")
    if name == "fixed":
        console.print("[dim]fixed is the reference; it has no differences.[/]")


def _strip_serial(text: str) -> str:
    from labkit.lab.scenarios import _without_serial

    return _without_serial(text)


@app.command()
def reset(project: ProjectOpt = None, as_json: JsonOpt = False) -> None:
    """Undo edits: back to the current scenario's pristine state."""
    result = _lab(project).reset()
    emit(result, as_json, lambda: _print_apply(result))


@app.command()
def logs(
    service: Annotated[str | None, typer.Argument(help="dns, mx or workstation")] = None,
    tail: Annotated[
        int,
        typer.Option(
            "--tail", "-n", help="Lines per service.", parser=count_option(0, 100_000, "tail")
        ),
    ] = 100,
    follow: Annotated[bool, typer.Option("--follow", "-f")] = False,
    project: ProjectOpt = None,
) -> None:
    """Container logs (for Postfix's own mail.log: `labkit shell mx`, then
    `tail /var/log/mail.log`)."""
    raise typer.Exit(_lab(project).logs(service, tail=tail, follow=follow))


@app.command()
def shell(
    service: Annotated[
        str,
        typer.Argument(
            help="workstation (the laptop, default) or mx (the server, as root), or dns"
        ),
    ] = "workstation",
    project: ProjectOpt = None,
) -> None:
    """Open a terminal in the lab: the learner's laptop, or the mail server itself."""
    raise typer.Exit(_lab(project).shell(service))


@app.command("open")
def open_(project: ProjectOpt = None) -> None:
    """Open the course (JupyterLab) in your web browser."""
    import webbrowser

    lab = _lab(project)
    st = lab.status()
    if not st.running or not st.url:
        console.print("The lab is not running: start it with `labkit up`.")
        raise typer.Exit(1)
    console.print(f"Opening {st.url}")
    if not webbrowser.open(st.url):
        console.print("[dim]No browser found here: copy the URL into yours.[/]")
