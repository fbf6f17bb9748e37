"""The ``labkit`` console command.

Each command group lives in its own module and registers itself on :data:`app`.
Every command is a thin view: it calls the library, then renders the result as a
rich table for people or as JSON (``--json``) for scripts.

Exit codes: 0 all good, 1 findings failed (doctor/probes), 2 usage or setup error.
"""

from __future__ import annotations

import typer

from labkit.cli._output import run_cli

app = typer.Typer(
    name="labkit",
    help="Run, break, probe and fix a private mail-server lab.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Command groups register themselves on import.
from labkit.cli import doctor, lab, probe, progress, workshop  # noqa: E402, F401


def main() -> None:
    import sys

    from labkit.cli._delegate import maybe_delegate

    code = maybe_delegate(sys.argv[1:])
    if code is not None:
        raise SystemExit(code)
    run_cli(app)
