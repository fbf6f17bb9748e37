"""The ``labkit`` console command.

Each command group lives in its own module and registers itself on :data:`app`.
Every command is a thin view: it calls the library, then renders the result as a
rich table for people or as JSON (``--json``) for scripts.

Exit codes: 0 all good, 1 findings failed (doctor/probes), 2 usage or setup error.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from labkit.cli._app import LazyGroup as LazyGroup
    from labkit.cli._app import app as app

#: Every top-level command: the module that defines it and its one-line help, so that
#: ``labkit --help`` lists them all without importing any, and ``labkit doctor`` imports
#: only the doctor's module. tests/unit/test_cli_lazy.py keeps this table equal to the
#: commands' own help.
COMMANDS: dict[str, tuple[str, str]] = {
    "up": ("lab", "Build what is missing, start the lab, wait until healthy, apply a scenario."),
    "down": ("lab", "Stop the lab (learner progress is kept unless --volumes)."),
    "build": (
        "lab",
        "Build (or rebuild) the lab's images; works offline by making a Debian base locally.",
    ),
    "status": ("lab", "Services, health, current scenario and the JupyterLab URL."),
    "reset": ("lab", "Undo edits: back to the current scenario's pristine state."),
    "logs": (
        "lab",
        "Container logs (for Postfix's own mail.log: `labkit shell mx`, then "
        "`tail /var/log/mail.log`).",
    ),
    "shell": (
        "lab",
        "Open a terminal in the lab: the learner's laptop, or the mail server itself.",
    ),
    "open": ("lab", "Open the course (JupyterLab) in your web browser."),
    "doctor": (
        "doctor",
        "Diagnose the mail server: ports, STARTTLS, certificates, AUTH, relay, DNS, logs.",
    ),
    "progress": ("progress", "Show points earned per notebook, with hints and solutions used."),
    "check": ("check", "Check the live tasks against the lab now (what the server really does)."),
    "scenario": ("lab", "List, apply and inspect scenarios (broken states of the server)."),
    "probe": ("probe", "Probe one thing: a port, an SMTP dialog, a TLS handshake, a DNS name."),
    "workshop": ("workshop", "Run one lab per participant and watch the room's progress."),
    "net": (
        "net",
        "The laptop's network path: cafe (Wi-Fi, maybe inspected) or hotspot (the phone).",
    ),
    "hub": ("hub", "Run the workshop's JupyterHub: one login per participant on the roster."),
    "images": (
        "images",
        "Move the lab's images: one file (export/import) or a registry (push/pull).",
    ),
    "bundle": (
        "images",
        "The offline kit: sources, Python wheels and images for a machine with no network.",
    ),
}


def load_all() -> None:
    """Import every command's module (for tools that walk the whole command tree)."""
    for module in dict.fromkeys(m for m, _ in COMMANDS.values()):
        importlib.import_module(f"labkit.cli.{module}")


def load_command(name: str) -> Any:
    """The real (click) command ``name``, after importing the module that registers it."""
    import typer

    from labkit.cli._app import app

    importlib.import_module(f"labkit.cli.{COMMANDS[name][0]}")
    return typer.main.get_group(app).commands.get(name)


def __getattr__(name: str) -> Any:
    # The typer app is built on first use: a command handed to the workstation
    # (probe, doctor, progress) never needs typer or rich on this machine.
    if name in ("app", "LazyGroup"):
        from labkit.cli import _app

        return getattr(_app, name)
    raise AttributeError(f"module 'labkit.cli' has no attribute {name!r}")


def main() -> None:
    import sys

    from labkit.cli._delegate import maybe_delegate

    code = maybe_delegate(sys.argv[1:])
    if code is not None:
        raise SystemExit(code)
    from labkit.cli._app import app
    from labkit.cli._output import run_cli

    run_cli(app)
