"""``labkit`` imports only what the command it runs needs (issue 13: fast commands)."""

from __future__ import annotations

import subprocess
import sys

import typer

from labkit import cli
from labkit.cli import COMMANDS, load_all, load_command


def test_the_table_lists_every_command_with_its_own_help() -> None:
    load_all()
    registered = typer.main.get_group(cli.app).commands
    assert set(registered) == set(COMMANDS)
    for name, (_, short) in COMMANDS.items():
        command = load_command(name)
        assert command is not None, name
        assert command.get_short_help_str(200) == short, name


def _modules_after(argv: list[str]) -> set[str]:
    code = (
        "import sys; from labkit.cli import app\n"
        "try:\n"
        f"    app({argv!r}, prog_name='labkit')\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('\\n'.join(sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_help_imports_no_command_and_no_heavy_library() -> None:
    loaded = _modules_after(["--help"])
    assert "labkit.cli.lab" not in loaded and "labkit.cli.doctor" not in loaded
    assert not {"docker", "pandas", "dns", "cryptography", "labkit.probes"} & loaded


def test_a_command_imports_only_its_own_module() -> None:
    loaded = _modules_after(["scenario", "list"])
    assert "labkit.cli.lab" in loaded
    assert not {"labkit.cli.doctor", "labkit.cli.probe", "pandas", "docker"} & loaded


def test_handing_a_command_to_the_workstation_needs_no_typer_rich_or_docker_sdk() -> None:
    code = (
        "import sys; import labkit.cli; from labkit.cli._delegate import maybe_delegate\n"
        "print('\\n'.join(sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert not {"typer", "rich", "docker", "requests"} & set(out.stdout.split())


def test_status_json_reads_docker_without_the_sdk_or_rich(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """``status --json`` talks to the daemon's socket itself: no docker SDK (requests,
    urllib3: 0.1 s) and no rich (its JSON needs none). Here no daemon answers, so the
    command fails, after having tried: the modules it loaded on the way are the point."""
    code = (
        "import os, sys; from labkit.cli import app\n"
        f"os.environ['DOCKER_HOST'] = 'unix://{tmp_path}/none.sock'\n"
        "try:\n"
        "    app(['status', '--json'], prog_name='labkit')\n"
        "except BaseException:\n"
        "    pass\n"
        "print('\\n'.join(sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(out.stdout.split())
    assert "labkit.lab.lifecycle" in loaded  # it did run the command
    assert not {"docker", "requests", "urllib3", "rich"} & loaded


def test_the_lazy_consoles_work_where_rich_wants_a_console() -> None:
    """Progress bars and spinners take the console as a context manager."""
    from rich.progress import Progress

    from labkit.cli._output import console, err_console

    with Progress(console=err_console, transient=True) as progress:
        progress.add_task("x", total=1)
    with err_console.status("working"):
        pass
    with console.capture() as captured:
        console.print("[bold]shown[/]")
    assert captured.get() == "shown\n"
