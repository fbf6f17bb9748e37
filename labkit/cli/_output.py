"""Shared output helpers for the CLI: one error boundary, JSON and rich rendering."""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import sys
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from labkit.errors import LabkitError

if TYPE_CHECKING:
    from rich.console import Console


class _LazyConsole:
    """A rich Console made on first use: ``--json`` and quick commands never import
    rich (0.03 s), the tables and colours of the others look the same."""

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._console: Console | None = None

    @property
    def real(self) -> Console:
        if self._console is None:
            from rich.console import Console

            self._console = Console(**self._options)
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    # Special methods are looked up on the type, not through __getattr__: rich's Live
    # and Progress use the console as a context manager.
    def __enter__(self) -> Console:
        return self.real.__enter__()

    def __exit__(self, *exc: Any) -> None:
        self.real.__exit__(*exc)


console: Console = _LazyConsole()  # type: ignore[assignment]
err_console: Console = _LazyConsole(stderr=True)  # type: ignore[assignment]


def escape(text: str) -> str:
    """rich's markup escape, imported when first needed."""
    from rich.markup import escape as rich_escape

    return rich_escape(text)


def to_jsonable(obj: Any) -> Any:
    """Turn frozen dataclasses, enums and paths into plain JSON values."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, (datetime, date)):
        return obj.isoformat()
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, bytes):
        return obj.decode("utf-8", errors="replace")
    if isinstance(obj, float) and not math.isfinite(obj):
        return None  # NaN and infinity are not JSON; a script must be able to parse us
    return obj


def emit(data: Any, as_json: bool, render: Callable[[], None]) -> None:
    """Print ``data`` as JSON for scripts, or call ``render`` for people."""
    if as_json:
        text = json.dumps(to_jsonable(data), indent=2, sort_keys=False, allow_nan=False)
        sys.stdout.write(text + "\n")
    else:
        render()


def fail(err: LabkitError) -> None:
    # Messages quote foreign text (build logs, server replies): never read it as markup.
    err_console.print(f"[bold red]error:[/] {escape(err.message)}")
    if err.advice:
        err_console.print(f"[yellow]what to do:[/] {escape(err.advice)}")


def run_cli(app: typer.Typer) -> None:
    """Run the typer app; a LabkitError becomes a clear message and exit code, not a traceback.

    Usage errors (unknown command or option) are click's, printed by typer with exit 2.
    """
    try:
        app(prog_name="labkit")
    except LabkitError as err:
        fail(err)
        raise SystemExit(err.exit_code) from None
    except KeyboardInterrupt:
        err_console.print("interrupted")
        raise SystemExit(130) from None
