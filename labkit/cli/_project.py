"""``-p/--project``: which lab a command is about, the same option on every command.

A workshop machine runs many labs (``labkit-seat1``, ``labkit-seat2``, ...), and an
instructor helping one participant needs every per-lab command to point at that seat:
``status``, ``scenario``, ``reset``, ``logs``, ``shell``, ``open``, ``doctor``,
``probe`` and ``progress``. ``-p`` always means the project (``--port`` is spelt out).

``doctor``, ``probe`` and ``progress`` normally run inside the chosen lab's
workstation (see :mod:`labkit.cli._delegate`, which reads the option before typer
does); when they run here instead, :func:`use_project` points the lab settings at that
project, taking its network and port from the running lab.
"""

from __future__ import annotations

import os
from typing import Annotated

import typer

from labkit.cli._delegate import PROJECT_FLAGS, split_project
from labkit.errors import UsageError
from labkit.lab.config import LabConfig, in_workstation

__all__ = ["PROJECT_FLAGS", "ProjectOpt", "split_project", "use_project"]

ProjectOpt = Annotated[
    str | None,
    typer.Option(
        *PROJECT_FLAGS,
        envvar="LABKIT_PROJECT",
        help="Compose project name of the lab (a workshop seat: labkit-seat3).",
    ),
]


def use_project(project: str | None) -> None:
    """Point this process's lab settings at ``project`` (None: keep the environment's)."""
    if project is None or project == os.environ.get("LABKIT_PROJECT"):
        return  # what the environment already says (typer also fills -p from it)
    LabConfig(project=project).validate()
    if in_workstation():
        own = os.environ.get("LABKIT_PROJECT", LabConfig.project)
        if project != own:
            raise UsageError(
                f"This workstation belongs to lab {own}, not {project}.",
                advice=f"Run the command on the host: `labkit ... -p {project}`.",
            )
        return
    from labkit.lab.lifecycle import Lab

    live = Lab(LabConfig.from_env(project=project)).live_config()
    os.environ.update(
        LABKIT_PROJECT=project,
        LABKIT_NET_PREFIX=live.net_prefix,
        LABKIT_JUPYTER_PORT=str(live.jupyter_port),
    )
