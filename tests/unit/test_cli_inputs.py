"""Every number and name typed on the command line is checked where it enters.

The walk below finds every command and every numeric option or argument by itself,
so a command added later is covered too. Each hostile value must end in a usage
error (exit 2) that names the option and says what is allowed: never a traceback,
never a run with a value such as ``--timeout 0`` that makes every server look dead.
Docker is pointed at a socket that does not exist, so nothing here can start
Docker work even if a check were missing.
"""

from __future__ import annotations

import inspect
import os
import re
import subprocess
import sys
import types
import typing
from collections.abc import Iterator

import pytest
import typer.main
import typer.testing
from typer.testing import CliRunner

from labkit.cli import app, load_all
from labkit.errors import LabkitError, UsageError

runner = CliRunner()

ENV = {
    "DOCKER_HOST": "unix:///nonexistent/labkit-test/docker.sock",
    "LABKIT_PROJECT": "labkit-inputs-test",
    "LABKIT_LOCAL": "1",
    "COLUMNS": "200",
}

#: Valid, harmless values for required arguments (loopback only, nothing starts).
REQUIRED = {
    "host": "127.0.0.1",
    "port": "9",
    "target": "127.0.0.1:9",
    "name": "zimmerman.test",
    "scenario": "blog",
    "seats": "2",
    "roster": "/nonexistent/roster.csv",
}
#: Options a walk adds so that no command could reach a real network or lab.
SAFE_OPTIONS = {
    ("doctor",): ["--address", "127.0.0.1", "--server", "127.0.0.1", "--no-inside"],
    ("probe", "dns"): ["--server", "127.0.0.1"],
}

HOSTILE = [
    "-1",
    "nan",
    "NaN",
    "inf",
    "-inf",
    "1e309",
    "1e3",
    "²",  # a superscript two: str.isdigit() says yes, int() says no
    "٣",  # Arabic-Indic three: int() says 3
    "２５",  # full-width 25: int() says 25
    "",
    " ",
    "9" * 400,
    "99999999999",
    "0x19",
    "25abc",
]
#: Zero is out of range everywhere except where it means "none" (log lines, warm seats).
ZERO_ALLOWED = {"tail", "seats_warm"}


load_all()  # the CLI imports a command's module only when it runs; walk them all
COMMAND = typer.main.get_command(app)


@pytest.fixture(autouse=True)
def _build_the_command_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Typer rebuilds the click command on every invoke (0.2 s); hundreds of invokes
    here use the one built above."""
    monkeypatch.setattr(typer.testing, "_get_command", lambda _app: COMMAND)


def _commands() -> Iterator[tuple[tuple[str, ...], typer.core.TyperCommand]]:
    def walk(command: object, path: tuple[str, ...]) -> Iterator:
        subcommands = getattr(command, "commands", None)
        if subcommands:
            for name, sub in subcommands.items():
                yield from walk(sub, (*path, name))
        else:
            yield path, command

    yield from walk(COMMAND, ())


def _numbers_in(command: typer.core.TyperCommand) -> set[str]:
    """The names of ``command``'s parameters that the function declares int or float
    (read from its annotations, not from typer's internals, which change)."""
    hints = typing.get_type_hints(inspect.unwrap(command.callback))
    numbers = set()
    for name, hint in hints.items():
        kinds = (
            typing.get_args(hint)
            if typing.get_origin(hint) in (typing.Union, types.UnionType)
            else (hint,)
        )
        if any(kind in (int, float) for kind in kinds):
            numbers.add(name)
    return numbers


def _numeric_params() -> list[tuple[tuple[str, ...], str]]:
    found = []
    for path, command in _commands():
        numbers = _numbers_in(command)
        for param in command.params:
            if param.name in numbers:
                found.append((path, param.name))
    return found


NUMERIC = _numeric_params()


def test_the_walk_finds_the_numbers_we_know() -> None:
    names = {f"{' '.join(path)} {name}" for path, name in NUMERIC}
    for expected in (
        "probe port port",
        "probe port timeout",
        "probe smtp timeout",
        "probe tls timeout",
        "probe dns port",
        "doctor timeout",
        "doctor smtp_port",
        "up port",
        "logs tail",
        "workshop up seats",
        "workshop up first_port",
    ):
        assert expected in names
    assert len(NUMERIC) >= 16


def _argv(path: tuple[str, ...], target: str, value: str) -> list[str]:
    """The command line, with arguments after ``--`` so that ``-1`` stays a value."""
    command = dict(_commands())[path]
    arguments: list[str] = []
    options: list[str] = []
    for param in command.params:
        is_argument = param.param_type_name == "argument"
        if param.name == target:
            if is_argument:
                arguments.append(value)
            else:
                options += [param.opts[0], value]
        elif is_argument and param.required:
            arguments.append(REQUIRED[param.name])
        elif param.required:
            options += [param.opts[0], REQUIRED[param.name]]
    return [*path, *options, *SAFE_OPTIONS.get(path, []), "--", *arguments]


@pytest.mark.parametrize(
    ("path", "param"), NUMERIC, ids=[" ".join(p) + f" {n}" for p, n in NUMERIC]
)
def test_hostile_numbers_are_usage_errors(path: tuple[str, ...], param: str) -> None:
    values = HOSTILE + ([] if param in ZERO_ALLOWED else ["0", "0.0", "-0"])
    for value in values:
        argv = _argv(path, param, value)
        result = runner.invoke(app, argv, env=ENV)
        shown = " ".join(repr(a) for a in argv)[:200]
        assert not isinstance(result.exception, LabkitError), (shown, result.exception)
        assert result.exit_code == 2, (shown, result.exit_code, result.output[-600:])
        text = " ".join(result.output.split())
        assert "Invalid value for" in text or "Missing" in text, (shown, text[-400:])
        assert re.search(r"from \d+(\.\d+)? to \d+", text), (shown, text[-400:])


def test_a_valid_number_still_works(closed: tuple[str, int]) -> None:
    host, port = closed
    result = runner.invoke(app, ["probe", "port", host, str(port), "--timeout", "0.5"], env=ENV)
    assert result.exit_code == 1 and "refused" in result.output


def _labkit(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from labkit.cli import main; main()", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, **ENV},
    )


@pytest.mark.parametrize(
    "args",
    [
        ("probe", "tls", "127.0.0.1:²"),
        ("probe", "tls", "127.0.0.1:70000"),
        ("probe", "tls", "127.0.0.1:"),
        ("probe", "tls", "x" * 300 + ":25"),
        ("probe", "port", "x" * 300, "25"),
        ("probe", "dns", ""),
        ("scenario", "apply", "a" * 300),
        ("scenario", "show", "a" * 300),
        ("scenario", "show", "../../etc/passwd"),
        ("scenario", "apply", ""),
        ("up", "--scenario", "a" * 300),
        ("workshop", "apply", "a" * 300),
        ("status", "--project", "p" * 300),
        ("status", "--project", "Ünïcode"),
        ("progress", "--file", ""),
        ("probe", "tls", "127.0.0.1:25", "--servername", "a" * 300),
        ("probe", "dns", "zimmerman.test", "--type", "X" * 300, "--server", "127.0.0.1"),
    ],
    ids=lambda args: " ".join(args)[:60],
)
def test_hostile_names_are_clear_errors(args: tuple[str, ...]) -> None:
    """In-process: a LabkitError is what the CLI's one boundary prints as ``error:``
    with exit 2 (proven end to end below); anything else would be a traceback."""
    result = runner.invoke(app, list(args), env=ENV)
    error = result.exception
    if isinstance(error, LabkitError):
        assert error.exit_code == 2 and error.advice, (args, error)
    else:
        assert result.exit_code == 2, (args, result.exit_code, error, result.output[-600:])


@pytest.mark.parametrize(
    "args", [("probe", "tls", "127.0.0.1:²"), ("scenario", "apply", "a" * 300)], ids=str
)
def test_end_to_end_a_bad_name_prints_an_error_and_exits_2(args: tuple[str, ...]) -> None:
    done = _labkit(*args)
    assert done.returncode == 2, (args, done.stdout[-300:], done.stderr[-600:])
    assert "Traceback" not in done.stderr
    assert "error:" in done.stderr and "what to do:" in done.stderr, done.stderr[-600:]


def test_logs_help_names_only_commands_that_exist() -> None:
    result = runner.invoke(app, ["logs", "--help"], env=ENV)
    assert result.exit_code == 0
    mentioned = re.findall(r"`labkit ([a-z ]+?)`", result.output)
    top = set(COMMAND.commands)  # type: ignore[attr-defined]
    for command in mentioned:
        assert command.split()[0] in top, command
    assert "probe server" not in result.output


@pytest.mark.parametrize("cafile", ["", "/dev/zero", "/nonexistent/ca.pem"])
def test_a_bad_ca_file_is_a_usage_error(cafile: str) -> None:
    """An empty name must not mean "the system store"; /dev/zero must not be read forever."""
    result = runner.invoke(
        app, ["probe", "smtp", "127.0.0.1", "--tls", "--cafile", cafile], env=ENV
    )
    assert isinstance(result.exception, UsageError), result.exception


def test_help_names_each_value_by_what_it_is() -> None:
    """A checked number shows as <number>, <port> or <seconds> in --help, never as the
    name of the function that checks it."""
    runner = CliRunner()
    for path, _ in _commands():
        result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
        assert result.exit_code == 0, (path, result.output)
        assert "<parser>" not in result.output, (path, result.output)
    seats = runner.invoke(app, ["workshop", "up", "--help"], env={"COLUMNS": "200"}).output
    assert "<number>" in seats and "<port>" in seats
