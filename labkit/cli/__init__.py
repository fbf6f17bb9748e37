"""The ``labkit`` console command.

Each command group lives in its own module and registers itself on :data:`app`.
Every command is a thin view: it calls the library, then renders the result as a
rich table for people or as JSON (``--json``) for scripts.

Exit codes: 0 all good, 1 findings failed (doctor/probes), 2 usage or setup error.
"""

from __future__ import annotations

import importlib
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

from labkit.cli._output import run_cli

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
    "scenario": ("lab", "List, apply and inspect scenarios (broken states of the server)."),
    "probe": ("probe", "Probe one thing: a port, an SMTP dialog, a TLS handshake, a DNS name."),
    "workshop": ("workshop", "Run one lab per participant and watch the room's progress."),
    "net": (
        "net",
        "The laptop's network path: cafe (Wi-Fi, maybe inspected) or hotspot (the phone).",
    ),
}


class LazyGroup(TyperGroup):
    """The root command: imports a command's module only when that command runs."""

    _listing = False

    def list_commands(self, ctx: Any) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in COMMANDS:
            return None
        module, short = COMMANDS[cmd_name]
        if self._listing:  # the help screen needs names and one-liners only
            return TyperCommand(cmd_name, help=short, short_help=short)
        return load_command(cmd_name)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


def load_all() -> None:
    """Import every command's module (for tools that walk the whole command tree)."""
    for module in dict.fromkeys(m for m, _ in COMMANDS.values()):
        importlib.import_module(f"labkit.cli.{module}")


def load_command(name: str) -> Any:
    """The real (click) command ``name``, after importing the module that registers it."""
    importlib.import_module(f"labkit.cli.{COMMANDS[name][0]}")
    return typer.main.get_group(app).commands.get(name)


app = typer.Typer(
    name="labkit",
    help="Run, break, probe and fix a private mail-server lab.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=LazyGroup,
)


@app.callback()
def _root() -> None:
    """Run, break, probe and fix a private mail-server lab."""


def main() -> None:
    import sys

    from labkit.cli._delegate import maybe_delegate

    code = maybe_delegate(sys.argv[1:])
    if code is not None:
        raise SystemExit(code)
    run_cli(app)
