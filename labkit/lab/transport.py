"""Run commands inside lab containers, from wherever labkit happens to be.

Two vantage points reach the same servers:

* the host, which drives Docker and uses ``docker exec`` (:class:`DockerTransport`);
* the learner's workstation container, which has no Docker socket and logs in to
  ``mx`` with SSH exactly as the blog's author did (:class:`SSHTransport`).

Both return an :class:`ExecResult`, so the server probe, scenario application and
the doctor never care which one they were handed. This module is the boundary that
translates ``docker.errors`` and ``subprocess`` failures into :class:`TransportError`.
"""

from __future__ import annotations

import shlex
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from labkit.errors import TransportError

__all__ = ["DockerTransport", "ExecResult", "LocalTransport", "SSHTransport", "Transport"]


@dataclass(frozen=True)
class ExecResult:
    """What one command printed and how it exited."""

    argv: tuple[str, ...]
    exit_code: int
    stdout: str
    stderr: str
    elapsed: float

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    @property
    def command(self) -> str:
        return shlex.join(self.argv)


@runtime_checkable
class Transport(Protocol):
    """Something that can run a command on one lab host."""

    #: How a person would describe the vantage, e.g. ``ssh root@mx`` or ``docker exec mx``.
    description: str

    def run(
        self, argv: Sequence[str], *, input: bytes | None = None, timeout: float = 15.0
    ) -> ExecResult: ...


def _decode(data: bytes | None) -> str:
    return (data or b"").decode("utf-8", errors="replace")


class _SubprocessTransport:
    description = "local"

    def _wrap(self, argv: Sequence[str]) -> list[str]:
        return list(argv)

    def run(
        self, argv: Sequence[str], *, input: bytes | None = None, timeout: float = 15.0
    ) -> ExecResult:
        full = self._wrap(argv)
        started = time.monotonic()
        try:
            proc = subprocess.run(full, input=input, capture_output=True, timeout=timeout)
        except FileNotFoundError as exc:
            raise TransportError(
                f"{full[0]!r} is not installed here.",
                advice=f"Install it, or run this from the lab workstation. ({exc})",
            ) from exc
        except subprocess.TimeoutExpired as exc:
            raise TransportError(
                f"`{shlex.join(argv)}` via {self.description} did not finish in {timeout:g} s.",
                advice="Check that the lab is healthy with `labkit status`.",
            ) from exc
        return ExecResult(
            tuple(argv),
            proc.returncode,
            _decode(proc.stdout),
            _decode(proc.stderr),
            time.monotonic() - started,
        )


class LocalTransport(_SubprocessTransport):
    """Run commands on this machine (used inside the lab containers themselves)."""

    description = "local shell"


class SSHTransport(_SubprocessTransport):
    """Run commands on a lab host over SSH, as a learner on the workstation would."""

    def __init__(
        self,
        host: str,
        *,
        user: str = "root",
        identity: str | None = None,
        connect_timeout: float = 5.0,
    ) -> None:
        self.host = host
        self.user = user
        self.identity = identity
        self.connect_timeout = connect_timeout
        self.description = f"ssh {user}@{host}"

    def _wrap(self, argv: Sequence[str]) -> list[str]:
        opts = [
            "ssh",
            "-o",
            "BatchMode=yes",
            "-o",
            f"ConnectTimeout={int(self.connect_timeout)}",
            "-o",
            "LogLevel=ERROR",
        ]
        if self.identity:
            opts += ["-i", self.identity]
        return [*opts, f"{self.user}@{self.host}", "--", shlex.join(argv)]

    def run(
        self, argv: Sequence[str], *, input: bytes | None = None, timeout: float = 15.0
    ) -> ExecResult:
        result = super().run(argv, input=input, timeout=timeout)
        if result.exit_code == 255 and (
            "Permission denied" in result.stderr
            or "Could not resolve" in result.stderr
            or "Connection refused" in result.stderr
            or "timed out" in result.stderr
        ):
            raise TransportError(
                f"Cannot log in to {self.host} over SSH: {result.stderr.strip()}",
                advice="Is the lab up (`labkit status` on the host)? The workstation's key is "
                "in ~/.ssh; `ssh root@mx` should work from its terminal.",
            )
        return result


class DockerTransport:
    """Run commands in a container through the Docker API (the host's vantage)."""

    def __init__(self, container: object, *, service: str | None = None) -> None:
        # ``container`` is a docker.models.containers.Container; typed loosely so that
        # importing this module never needs the docker SDK.
        self.container = container
        self.service = service or getattr(container, "name", "?")
        self.description = f"docker exec {self.service}"

    def run(
        self, argv: Sequence[str], *, input: bytes | None = None, timeout: float = 15.0
    ) -> ExecResult:
        import docker.errors

        name = getattr(self.container, "name", self.service)
        if input is not None:
            # The SDK cannot feed stdin to exec; the CLI can, so use it for this case.
            cmd = ["docker", "exec", "-i", str(name), *argv]
            return _Wrapped(cmd, self.description).run(argv, input=input, timeout=timeout)
        started = time.monotonic()
        try:
            code, (out, err) = self.container.exec_run(  # type: ignore[attr-defined]
                list(argv), demux=True
            )
        except docker.errors.APIError as exc:
            raise TransportError(
                f"`{shlex.join(argv)}` could not run in {self.service}: {exc.explanation or exc}",
                advice="Check the lab with `labkit status`; `labkit up` starts it.",
            ) from exc
        return ExecResult(
            tuple(argv),
            int(code if code is not None else -1),
            _decode(out),
            _decode(err),
            time.monotonic() - started,
        )


class _Wrapped(_SubprocessTransport):
    def __init__(self, full: list[str], description: str) -> None:
        self.full = full
        self.description = description

    def _wrap(self, argv: Sequence[str]) -> list[str]:
        return self.full
