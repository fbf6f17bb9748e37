"""Stand-in executables, so code that runs commands through a Transport can be tested
with a real :class:`~labkit.transport.LocalTransport` and real processes.

Used for the server's own tools (``postconf``, ``ss``) that a test machine lacks: the
stand-in prints captured output chosen by its arguments. Everything else the code
runs (``sh``, ``bash``, ``tail``, ``grep``) stays real.
"""

from __future__ import annotations

import shlex
import stat
from collections.abc import Mapping
from pathlib import Path

__all__ = ["install_command"]


def install_command(
    bin_dir: Path,
    name: str,
    outputs: Mapping[str, str] | str,
    *,
    exit_code: int = 0,
    stderr: str = "",
) -> Path:
    """Write ``bin_dir/name``: a script printing ``outputs[" ".join(args)]`` (or
    ``outputs`` itself when it is a string) and exiting with ``exit_code``; unknown
    arguments exit 1. Put ``bin_dir`` first on PATH to use it."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    data_dir = bin_dir / f".{name}.out"
    data_dir.mkdir(exist_ok=True)
    table = {"*": outputs} if isinstance(outputs, str) else dict(outputs)
    cases = []
    for i, (args, text) in enumerate(table.items()):
        out = data_dir / str(i)
        out.write_text(text)
        pattern = "*" if args == "*" else shlex.quote(args)
        cases.append(f"  {pattern}) cat {shlex.quote(str(out))} ;;")
    script = "\n".join(
        [
            "#!/bin/sh",
            f"printf '%s' {shlex.quote(stderr)} >&2" if stderr else ":",
            'case "$*" in',
            *cases,
            "  *) exit 1 ;;",
            "esac",
            f"exit {int(exit_code)}",
            "",
        ]
    )
    path = bin_dir / name
    path.write_text(script)
    path.chmod(path.stat().st_mode | stat.S_IEXEC | stat.S_IXGRP | stat.S_IXOTH)
    return path
