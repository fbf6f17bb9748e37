"""The root ``labkit`` command: a typer app whose commands are imported on first use."""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

from labkit.cli import COMMANDS, load_command

__all__ = ["LazyGroup", "app"]


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
