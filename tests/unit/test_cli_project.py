"""``-p/--project`` means the lab on every per-lab command, and picks whose workstation
runs the delegated ones (doctor, probe, progress)."""

from __future__ import annotations

import os
import subprocess
from typing import Any

import pytest
import typer.main

from labkit.cli import app
from labkit.cli._project import split_project
from labkit.errors import UsageError

PER_LAB_COMMANDS = [
    ("status",),
    ("scenario", "apply"),
    ("scenario", "current"),
    ("scenario", "list"),
    ("scenario", "show"),
    ("reset",),
    ("logs",),
    ("shell",),
    ("open",),
    ("up",),
    ("down",),
    ("doctor",),
    ("progress",),
    ("probe", "port"),
    ("probe", "smtp"),
    ("probe", "tls"),
    ("probe", "dns"),
]


def _command(path: tuple[str, ...]) -> Any:
    """The click command behind ``labkit PATH...`` (typer builds groups with ``commands``)."""
    command = typer.main.get_command(app)
    for name in path:
        command = command.commands[name]  # type: ignore[attr-defined]
    return command


@pytest.mark.parametrize("path", PER_LAB_COMMANDS, ids=" ".join)
def test_every_per_lab_command_takes_p_for_the_project(path):
    options = {opt: p.name for p in _command(path).params for opt in p.opts}
    assert options.get("-p") == "project" and options.get("--project") == "project", options


def test_the_smtp_probe_spells_its_port_out():
    options = {opt: p.name for p in _command(("probe", "smtp")).params for opt in p.opts}
    assert options["--port"] == "port" and options["-p"] == "project"


@pytest.mark.parametrize(
    "argv, project, rest",
    [
        (["doctor", "-p", "labkit-seat3", "--json"], "labkit-seat3", ["doctor", "--json"]),
        (
            ["probe", "smtp", "mx", "--project", "s2", "--port", "587"],
            "s2",
            ["probe", "smtp", "mx", "--port", "587"],
        ),
        (["progress", "--project=seat_9"], "seat_9", ["progress"]),
        (["doctor", "-p", "a", "-p", "b"], "b", ["doctor"]),
        (["doctor", "--json"], None, ["doctor", "--json"]),
    ],
)
def test_split_project_finds_every_spelling(argv, project, rest):
    assert split_project(argv) == (project, rest)


@pytest.mark.parametrize(
    "argv, needle",
    [(["doctor", "-p"], "needs a project name"), (["doctor", "-p", "no/such"], "not valid")],
)
def test_split_project_refuses_what_compose_would(argv, needle):
    with pytest.raises(UsageError, match=needle):
        split_project(argv)


def test_a_named_lab_without_a_workstation_is_an_error_not_a_run_elsewhere():
    env = {k: v for k, v in os.environ.items() if k not in ("LABKIT_LOCAL", "LABKIT_VANTAGE")}
    proc = subprocess.run(
        ["labkit", "doctor", "-p", "labkit-no-such-seat-424242"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "workstation of lab labkit-no-such-seat-424242 is not running" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    "option, value", [("--seat-net", "300.1"), ("--seat-net", "8.8"), ("--seat-prefix", "a/b")]
)
def test_workshop_seat_names_are_checked_before_any_work(option, value):
    proc = subprocess.run(
        ["labkit", "workshop", "status", option, value], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "Seats cannot be named" in proc.stderr and "Traceback" not in proc.stderr
