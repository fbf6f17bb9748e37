"""Run commands on a lab host, from wherever labkit happens to be; read what they print.

Two vantage points reach the same servers:

* the host, which drives Docker and uses ``docker exec``
  (:class:`labkit.lab.engine.DockerTransport`, behind the one Docker boundary);
* the learner's workstation container, which has no Docker socket and logs in to
  ``mx`` with SSH exactly as the blog's author did (:class:`SSHTransport`).

Both satisfy :class:`Transport` and return an :class:`ExecResult`, so the server
probe (:mod:`labkit.probes.server`), scenario application (:mod:`labkit.lab`) and the
doctor never care which one they were handed. This module sits below both ``lab`` and
``probes`` and imports neither; it translates ``subprocess`` failures into
:class:`~labkit.errors.TransportError`. The socket-listing parsers live here too,
because both the lab (waiting for Postfix's listeners) and the server probe read
``ss``.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from labkit.errors import TransportError

__all__ = [
    "ExecResult",
    "ListeningSocket",
    "LocalTransport",
    "SSHTransport",
    "Transport",
    "parse_proc_net_tcp",
    "parse_ss_listening",
]


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
            # One login, reused for a minute: later commands skip the handshake
            # (about 0.1 s each), which the doctor and scenario switches feel.
            "-o",
            "ControlMaster=auto",
            "-o",
            f"ControlPath={tempfile.gettempdir()}/labkit-ssh-%C",
            "-o",
            "ControlPersist=60",
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
            or "No route to host" in result.stderr
            or "Network is unreachable" in result.stderr
        ):
            raise TransportError(
                f"Cannot log in to {self.host} over SSH: {result.stderr.strip()}",
                advice="Is the lab up (`labkit status` on the host)? The laptop reaches the "
                "servers through the lab's router: `labkit net` shows its path, and on the "
                "host `labkit reset` repairs routes and restarts a stopped router. The "
                "workstation's key is in ~/.ssh; `ssh root@mx` should work from its terminal.",
            )
        return result


# --------------------------------------------------------------------------- listening sockets


@dataclass(frozen=True)
class ListeningSocket:
    address: str
    port: int
    process: str | None = None

    @property
    def loopback_only(self) -> bool:
        return self.address.startswith("127.") or self.address in ("::1", "localhost")


_SS_ADDR_RE = re.compile(r"^(?P<addr>\[.*\]|[^\s]*?)(?:%\S+)?:(?P<port>\d+|\*)$")
_SS_PROC_RE = re.compile(r'users:\(\("(?P<name>[^"]+)"')


def parse_ss_listening(text: str) -> tuple[ListeningSocket, ...]:
    """``ss -ltnH`` (optionally ``-p``) output to listening sockets.

    Lines look like ``LISTEN 0 100 0.0.0.0:25 0.0.0.0:*`` or ``... [::]:587 [::]:*``;
    without ``-H`` the header line is skipped.
    """
    sockets = []
    for raw in text.splitlines():
        words = raw.split()
        if len(words) < 4 or words[0] in ("State", "Netid"):
            continue
        local = words[3] if words[0] == "LISTEN" else (words[4] if len(words) > 4 else "")
        match = _SS_ADDR_RE.match(local)
        if match is None or match.group("port") == "*":
            continue
        address = match.group("addr").strip("[]") or "*"
        process = _SS_PROC_RE.search(raw)
        port_text = match.group("port")
        if not (port_text.isascii() and len(port_text) <= 5 and int(port_text) <= 65535):
            continue
        sockets.append(
            ListeningSocket(
                address, int(match.group("port")), process.group("name") if process else None
            )
        )
    return tuple(sockets)


def parse_proc_net_tcp(text: str) -> tuple[ListeningSocket, ...]:
    """``/proc/net/tcp`` and ``/proc/net/tcp6`` to listening sockets (state ``0A``).

    Works on any Linux server, even one without ``ss`` or ``netstat``.
    """
    import ipaddress
    import struct

    sockets = []
    for raw in text.splitlines():
        words = raw.split()
        if len(words) < 4 or words[0] == "sl" or words[3] != "0A":
            continue
        addr_hex, _, port_hex = words[1].partition(":")
        try:
            port = int(port_hex, 16)
            raw_addr = bytes.fromhex(addr_hex)
        except ValueError:
            continue
        if len(raw_addr) not in (4, 16) or not 0 <= port <= 65535 or len(port_hex) > 4:
            continue  # a cut-off or altered line: not a socket the kernel could list
        # The kernel prints each 32-bit word in host (little-endian) order.
        words32 = struct.unpack(f"<{len(raw_addr) // 4}I", raw_addr)
        packed = b"".join(struct.pack(">I", w) for w in words32)
        try:
            address = str(ipaddress.ip_address(packed))
        except ValueError:
            continue
        sockets.append(ListeningSocket(address, port))
    return tuple(sockets)
