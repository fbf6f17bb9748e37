"""``labkit hub up|status|down``: the workshop's JupyterHub, for instructors."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from labkit.cli import app
from labkit.cli._output import console, emit
from labkit.cli._params import count_option, port_option
from labkit.cli.lab import EngineOpt, JsonOpt, _progress
from labkit.hub.service import HUB_PROJECT, HubService, HubStatus
from labkit.lab.config import LabConfig

hub_app = typer.Typer(
    help="Run the workshop's JupyterHub: one login per participant on the roster.",
    no_args_is_help=True,
)
app.add_typer(hub_app, name="hub")

HubOpt = Annotated[
    str,
    typer.Option("--hub-project", envvar="LABKIT_HUB_PROJECT", help="Compose project of the hub."),
]


def _service(project: str) -> HubService:
    return HubService(project, image_tag=LabConfig.from_env().image_tag)


def _render(st: HubStatus) -> None:
    if not st.running:
        console.print(f"The hub ({st.project}) is {st.state}: `labkit hub up --roster FILE`.")
        return
    console.print(
        f"[green]✓[/] hub {st.project} is running for {st.users} people "
        f"({st.admins} as instructors). Participants log in at:\n  [link={st.url}]{st.url}[/]"
    )
    running = sum(state == "running" for state in st.labs.values())
    console.print(
        "[dim]Each person picks their password at their first login and lands in their own "
        f"lab. Learners' labs running now: {running} of {st.users}.[/]"
    )


@hub_app.command("up")
def hub_up(
    roster: Annotated[
        Path, typer.Option("--roster", help="CSV with a username column (and role).")
    ],
    port: Annotated[
        int, typer.Option("--port", help="Port of the hub.", parser=port_option())
    ] = 8000,
    bind: Annotated[str, typer.Option("--bind", help="Address to listen on.")] = "127.0.0.1",
    insecure_bind: Annotated[
        bool,
        typer.Option("--insecure-bind", help="Allow an address other than loopback without TLS."),
    ] = False,
    cull_idle: Annotated[
        int,
        typer.Option(
            "--cull-idle",
            help="Stop servers idle this many seconds.",
            parser=count_option(60, 604800, "idle time"),
        ),
    ] = 3600,
    scenario: Annotated[
        str | None,
        typer.Option("--scenario", help="The scenario each learner's lab starts in (blog)."),
    ] = None,
    seats_warm: Annotated[
        int,
        typer.Option(
            "--seats-warm",
            help="Start this many learners' labs now (roster order): their login is ready "
            "in seconds.",
            parser=count_option(0, 500, "number of warm seats"),
        ),
    ] = 0,
    engine: EngineOpt = "compose",
    node_certs: Annotated[
        Path | None,
        typer.Option(
            "--node-certs",
            envvar="LABKIT_NODE_CERTS",
            help="With --engine swarm: a folder of Docker client TLS files (ca.pem, cert.pem, "
            "key.pem) for the other nodes' daemons (docs/swarm.md).",
        ),
    ] = None,
    hub_project: HubOpt = HUB_PROJECT,
    as_json: JsonOpt = False,
) -> None:
    """Start the hub for the people on ROSTER and print the one URL they all use; each
    learner's own lab starts when they log in."""
    service = _service(hub_project)
    with _progress(as_json) as (say, _):
        st = service.up(
            roster,
            port=port,
            bind=bind,
            insecure_bind=insecure_bind,
            cull_idle_s=cull_idle,
            scenario=scenario,
            seats_warm=seats_warm,
            engine=engine,
            node_certs=node_certs,
            say=say,
        )
    emit(st, as_json, lambda: _render(st))


@hub_app.command("status")
def hub_status(hub_project: HubOpt = HUB_PROJECT, as_json: JsonOpt = False) -> None:
    """Is the hub running, where, and for how many people."""
    st = _service(hub_project).status()
    emit({**st.__dict__, "running": st.running}, as_json, lambda: _render(st))
    if not st.running:
        raise typer.Exit(1)


@hub_app.command("down")
def hub_down(
    volumes: Annotated[
        bool,
        typer.Option(
            "--volumes", help="Also remove the learners' work, the users and their passwords."
        ),
    ] = False,
    hub_project: HubOpt = HUB_PROJECT,
) -> None:
    """Stop the hub and the learners' labs it started (their notebooks, progress and the
    hub's users stay unless --volumes)."""
    with _progress(False) as (say, _):
        _service(hub_project).down(volumes=volumes, say=say)
    console.print(
        f"[green]✓[/] hub {escape(hub_project)} stopped"
        + (" and its data removed" if volumes else "")
    )
