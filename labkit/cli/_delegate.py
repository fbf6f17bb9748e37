"""Run ``labkit probe``, ``doctor``, ``check`` and ``progress`` where the lab is: the workstation.

On macOS and Windows the host cannot reach container addresses at all, and even on
Linux a published port would hide the "connection refused" the course is about. So
when the lab's workstation is running, the host CLI re-runs these commands inside it
(``docker exec``) and passes its output and exit code through. The learner's progress
file lives on the workstation's volume, so ``labkit progress`` goes there too.
``LABKIT_LOCAL=1`` runs them on this machine instead. ``-p/--project`` chooses the lab
(its workstation runs the command; the option itself is not passed on).
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Sequence

from labkit.errors import LabkitError, LabNotRunningError, UsageError

DELEGATED = frozenset({"probe", "doctor", "progress", "check"})
#: ``-p/--project``, read here before typer runs (see :mod:`labkit.cli._project`).
PROJECT_FLAGS = ("-p", "--project")


def split_project(argv: Sequence[str]) -> tuple[str | None, list[str]]:
    """The project named by ``-p X``, ``--project X`` or ``--project=X`` (the last one
    wins), and the arguments without it."""
    project: str | None = None
    rest: list[str] = []
    args = list(argv)
    i = 0
    while i < len(args):
        arg = args[i]
        if arg in PROJECT_FLAGS:
            if i + 1 >= len(args):
                raise UsageError(f"{arg} needs a project name.", advice="e.g. -p labkit-seat3")
            project = args[i + 1]
            i += 2
            continue
        if arg.startswith("--project="):
            project = arg.split("=", 1)[1]
        else:
            rest.append(arg)
        i += 1
    if project is not None:
        from labkit.lab.config import LabConfig

        LabConfig(project=project).validate()
    return project, rest


def workstation_container(project: str | None = None) -> str | None:
    """Name of the project's running workstation container, if any."""
    from labkit.lab.engine import DockerEngine

    project = project or os.environ.get("LABKIT_PROJECT", "labkit")
    try:
        return DockerEngine.running_name(project, "workstation")
    except LabkitError:
        return None


def maybe_delegate(argv: list[str]) -> int | None:
    """Exit code of the delegated run, or None to run here.

    ``-p/--project`` picks whose workstation runs the command (a workshop seat, say);
    naming a lab whose workstation is not running is an error, never a silent run
    against another lab.
    """
    if not argv or argv[0] not in DELEGATED:
        return None
    from labkit.lab.config import in_workstation

    if in_workstation():
        return None
    if os.environ.get("LABKIT_LOCAL") == "1" or any(a in ("--help", "-h") for a in argv):
        return None
    if any(a == "--file" or a.startswith("--file=") for a in argv):
        return None  # a path on this machine: read it here
    try:
        project, argv = split_project(argv)
    except LabkitError:
        return None  # typer reports the bad option as it does for every command
    container = workstation_container(project)
    if container is None:
        if project is None:
            return None
        from labkit.cli._output import fail

        fail(
            LabNotRunningError(
                f"The workstation of lab {project} is not running.",
                advice=f"`labkit status -p {project}` shows the lab; `labkit workshop status` "
                "lists the seats; LABKIT_LOCAL=1 runs the command on this machine.",
            )
        )
        return 2
    from labkit.lab.engine import WORKSTATION_LABKIT, DockerEngine

    sys.stderr.write(
        f"(running in the lab's workstation, {container}; LABKIT_LOCAL=1 runs it here)\n"
    )
    sys.stderr.flush()
    # Tables are laid out for the host's terminal, not the exec's default 80 columns.
    columns = os.environ.get("COLUMNS") or str(shutil.get_terminal_size((100, 24)).columns)
    return DockerEngine().interactive(
        container, [WORKSTATION_LABKIT, *argv], user="learner", env={"COLUMNS": columns}
    )
