"""Can we open a TCP connection to HOST:PORT, and if not, why not?

This is the first question of every mail-server debugging session, and the blog's
whole mystery started with its answer: port 25 connected, 465 and 587 were
"refused". A refusal, a timeout and a reset mean very different things, so
:func:`probe_port` keeps them apart instead of saying "cannot connect":

``REFUSED`` (``ECONNREFUSED``)
    The host answered the SYN with a RST: it is up and reachable, but nothing
    listens on that port (e.g. Postfix's ``submission`` service is commented out in
    ``master.cf``), or a firewall rule says ``REJECT --reject-with tcp-reset``.
``TIMEOUT``
    Nothing came back at all: a firewall ``DROP`` rule, a host that is down, or a
    wrong address. A refusal is fast; a timeout costs the whole ``timeout``.
``RESET`` (``ECONNRESET``)
    The connection was torn down while being set up, usually by a middlebox.
``UNREACHABLE`` (``ENETUNREACH``, ``EHOSTUNREACH``, ...)
    The local stack or a router said there is no route (an ICMP error, or a
    ``REJECT --reject-with icmp-host-unreachable`` rule). Linux gives one errno for
    several ICMP codes ("No route to host" for admin-prohibited too), so on Linux the
    probe also reads the ICMP message itself from the socket's error queue
    (``IP_RECVERR``): its type, code and the router that sent it (:class:`IcmpError`).
``NAME_ERROR``
    The host name did not resolve, so no packet was sent at all.

Errno numbers are not portable, which confused the blog's author: the same
``ECONNREFUSED`` is **111 on Linux** but **61 on macOS and the BSDs** (``openssl
s_client`` printed ``connect:errno=61`` on the laptop and ``errno=111`` on the
server). Results therefore carry the symbolic name *and* the number seen here.

:mod:`labkit.probes.smtp` and :mod:`labkit.probes.tls` open their connections with
:func:`connect`, so a refused port looks the same in every probe. This module is
the boundary that turns ``socket`` errors into data.
"""

from __future__ import annotations

import contextlib
import enum
import errno
import ipaddress
import os
import re
import selectors
import socket
import struct
import sys
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, cast

from labkit.errors import UsageError
from labkit.limits import check_port, check_timeout, parse_port

__all__ = [
    "IcmpError",
    "PortResult",
    "PortState",
    "connect",
    "parse_extended_error",
    "probe_port",
    "scan_ports",
    "validate_target",
]


class PortState(enum.StrEnum):
    """How a TCP connection attempt ended."""

    OPEN = "open"
    REFUSED = "refused"
    TIMEOUT = "timeout"
    RESET = "reset"
    UNREACHABLE = "unreachable"
    NAME_ERROR = "name-error"


_EXPLANATIONS: dict[PortState, str] = {
    PortState.OPEN: "The TCP handshake completed: something is listening on this port.",
    PortState.REFUSED: (
        "The host answered with a TCP reset: it is reachable, but no program listens on "
        "this port (or a firewall REJECTs it). For Postfix, check that the service is "
        "enabled in master.cf and that `postfix reload` ran. ECONNREFUSED is errno 111 "
        "on Linux and 61 on macOS/BSD: the same error."
    ),
    PortState.TIMEOUT: (
        "No answer at all within the timeout: typically a firewall that DROPs the "
        "packets, a host that is down, or a wrong address. A closed port on a live "
        "host would have refused at once."
    ),
    PortState.RESET: (
        "The connection was reset while it was being set up, usually by a middlebox "
        "or a proxy in front of the server."
    ),
    PortState.UNREACHABLE: (
        "There is no route to the host (ICMP unreachable, a REJECT rule with an ICMP "
        "reply, or the local network is down)."
    ),
    PortState.NAME_ERROR: (
        "The host name did not resolve, so no packet was sent. Check the name and the "
        "DNS records (`labkit probe dns NAME`)."
    ),
}

_UNREACHABLE_ERRNOS = frozenset(
    getattr(errno, name)
    for name in ("ENETUNREACH", "EHOSTUNREACH", "EHOSTDOWN", "ENETDOWN", "EADDRNOTAVAIL")
    if hasattr(errno, name)
)

#: (type, code) -> what an ICMP "destination unreachable" (type 3) says, RFC 792/1812.
_ICMP_NAMES: dict[tuple[int, int], str] = {
    (3, 0): "net unreachable",
    (3, 1): "host unreachable",
    (3, 2): "protocol unreachable",
    (3, 3): "port unreachable",
    (3, 4): "fragmentation needed",
    (3, 6): "destination network unknown",
    (3, 7): "destination host unknown",
    (3, 9): "network administratively prohibited",
    (3, 10): "host administratively prohibited",
    (3, 13): "communication administratively prohibited",
}
_ICMP6_NAMES: dict[tuple[int, int], str] = {
    (1, 0): "no route to destination",
    (1, 1): "communication administratively prohibited",
    (1, 3): "address unreachable",
    (1, 4): "port unreachable",
    (1, 5): "source address failed ingress/egress policy",
    (1, 6): "reject route to destination",
}
_SO_EE_ORIGIN_ICMP, _SO_EE_ORIGIN_ICMP6 = 2, 3


@dataclass(frozen=True)
class IcmpError:
    """The ICMP message that ended a connection attempt, as the kernel queued it."""

    type: int
    code: int
    sender: str | None  # the router (or host) that sent it
    version: int = 4

    @property
    def name(self) -> str:
        names = _ICMP_NAMES if self.version == 4 else _ICMP6_NAMES
        return names.get((self.type, self.code), "unreachable")

    @property
    def prohibited(self) -> bool:
        """A firewall's deliberate refusal (REJECT with an ICMP admin-prohibited)."""
        return "prohibited" in self.name or "policy" in self.name

    def __str__(self) -> str:
        icmp = "ICMP" if self.version == 4 else "ICMPv6"
        sender = f" from {self.sender}" if self.sender else ""
        return f"{icmp} {self.name} (type {self.type} code {self.code}){sender}"


def _ask_for_icmp(sock: socket.socket, family: int) -> None:
    """Have the kernel queue ICMP errors for this socket (Linux; a no-op elsewhere)."""
    if not sys.platform.startswith("linux"):
        return
    level, option = (
        (socket.IPPROTO_IP, 11) if family == socket.AF_INET else (socket.IPPROTO_IPV6, 25)
    )  # IP_RECVERR, IPV6_RECVERR
    with contextlib.suppress(OSError):
        sock.setsockopt(level, option, 1)


def parse_extended_error(data: bytes, family: int = socket.AF_INET) -> IcmpError | None:
    """Decode a ``struct sock_extended_err`` (+ the offender's sockaddr) from the error
    queue; None unless it is an ICMP message."""
    if len(data) < 16:
        return None
    _errno, origin, icmp_type, code, _pad, _info, _data = struct.unpack("=IBBBBII", data[:16])
    if origin not in (_SO_EE_ORIGIN_ICMP, _SO_EE_ORIGIN_ICMP6):
        return None
    sender = None
    offender = data[16:]
    try:
        if origin == _SO_EE_ORIGIN_ICMP and len(offender) >= 8:
            sender = socket.inet_ntop(socket.AF_INET, offender[4:8])
        elif origin == _SO_EE_ORIGIN_ICMP6 and len(offender) >= 24:
            sender = socket.inet_ntop(socket.AF_INET6, offender[8:24])
    except (OSError, ValueError):
        sender = None
    version = 4 if origin == _SO_EE_ORIGIN_ICMP else 6
    return IcmpError(icmp_type, code, sender, version)


def _queued_icmp(sock: socket.socket) -> IcmpError | None:
    """The ICMP error the kernel queued for ``sock``, if it did (never blocks)."""
    if not sys.platform.startswith("linux"):
        return None
    flags = getattr(socket, "MSG_ERRQUEUE", 0x2000) | socket.MSG_DONTWAIT
    try:
        _msg, ancillary, _flags, _addr = sock.recvmsg(512, 1024, flags)
    except OSError:
        return None
    for _level, _type, data in ancillary:
        found = parse_extended_error(data, sock.family)
        if found is not None:
            return found
    return None


_HOSTNAME_RE = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?\.?$")


@dataclass(frozen=True)
class PortResult:
    """The outcome of one TCP connection attempt.

    ``errno_name``/``errno_number`` are those of *this* machine (see the module
    docstring on portability); ``address`` is the IP actually tried, or ``None``
    when the name did not resolve.
    """

    host: str
    port: int
    state: PortState
    address: str | None
    elapsed: float
    errno_name: str | None = None
    errno_number: int | None = None
    error: str | None = None
    #: The ICMP message behind an UNREACHABLE (Linux), e.g. admin-prohibited from a router.
    icmp: IcmpError | None = None

    @property
    def ok(self) -> bool:
        return self.state is PortState.OPEN

    @property
    def explanation(self) -> str:
        if self.icmp is not None and self.icmp.prohibited:
            return (
                f"A firewall refused the connection: {self.icmp}. It is a REJECT rule that "
                "answers with ICMP (Linux reports it as 'No route to host', though a route "
                "exists): the server may well be listening behind it."
            )
        if self.icmp is not None:
            return f"{_EXPLANATIONS[self.state]} The router said: {self.icmp}."
        return _EXPLANATIONS[self.state]

    def summary(self) -> str:
        """One line a person can read, e.g. ``587/tcp refused (ECONNREFUSED, errno 111)``."""
        text = f"{self.host}:{self.port} {self.state.value}"
        if self.address and self.address != self.host:
            text += f" [{self.address}]"
        if self.errno_name:
            number = f", errno {self.errno_number}" if self.errno_number is not None else ""
            text += f" ({self.errno_name}{number})"
        if self.icmp is not None:
            text += f": {self.icmp}"
        return text


def validate_target(host: object, port: object) -> tuple[str, int]:
    """Check a host/port pair before any packet is sent; raise :class:`UsageError` if bad.

    Catching ``"mail.zimmerman.test:25"`` passed as a host, or a port of ``70000``,
    here gives a message that says what to type, instead of a confusing
    ``gaierror`` from deep inside ``socket``.
    """
    port = parse_port(port) if isinstance(port, str) else check_port(port)
    if not isinstance(host, str) or not host.strip():
        raise UsageError("No host given.", advice="Give a host name or an IP address.")
    host = host.strip()
    if len(host) > 255:
        raise UsageError(
            f"The host name {host[:40]!r}... is {len(host)} characters long.",
            advice="Host names have at most 253 characters, e.g. mail.zimmerman.test.",
        )
    literal = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        ipaddress.ip_address(literal)
    except ValueError:
        pass
    else:
        return literal, port
    if "://" in host or "/" in host:
        raise UsageError(
            f"{host!r} looks like a URL, not a host.",
            advice="Give only the host name, e.g. mail.zimmerman.test.",
        )
    if ":" in host:
        raise UsageError(
            f"{host!r} contains a colon.",
            advice="Give the host and the port separately, e.g. `mail.zimmerman.test 587`.",
        )
    if not _HOSTNAME_RE.match(host) or ".." in host:
        raise UsageError(
            f"{host!r} is not a valid host name.",
            advice="Host names use letters, digits, '-' and '.', e.g. mail.zimmerman.test.",
        )
    return host, port


def _errno_name(number: int | None) -> str | None:
    if number is None:
        return None
    return errno.errorcode.get(number)


def _gai_name(exc: socket.gaierror) -> str:
    for name in dir(socket):
        if name.startswith("EAI_") and getattr(socket, name) == exc.errno:
            return name
    return "EAI_FAIL"


def _classify(exc: OSError) -> PortState:
    """Map a connect() failure to a state. Order matters: timeouts first, then the
    specific refused/reset, and only then the generic ``OSError`` (as sslyze does)."""
    if isinstance(exc, TimeoutError) or exc.errno == errno.ETIMEDOUT:
        return PortState.TIMEOUT
    if isinstance(exc, ConnectionRefusedError) or exc.errno == errno.ECONNREFUSED:
        return PortState.REFUSED
    if isinstance(exc, (ConnectionResetError, ConnectionAbortedError)):
        return PortState.RESET
    return PortState.UNREACHABLE


def connect(host: str, port: int, timeout: float = 3.0) -> tuple[socket.socket | None, PortResult]:
    """Open a TCP connection; return the socket (or ``None``) and the classified result.

    Every address the name resolves to is tried in turn (as ``telnet`` does), within
    one overall ``timeout``. The caller owns the returned socket; its timeout is
    left at the remaining budget.
    """
    host, port = validate_target(host, port)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout < 1e6:
        check_timeout(timeout)  # NaN, infinity, zero or less: raise with the allowed range
    started = time.monotonic()
    deadline = started + timeout
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        number = exc.errno if isinstance(exc, socket.gaierror) else None
        name = _gai_name(exc) if isinstance(exc, socket.gaierror) else "EAI_NONAME"
        return None, PortResult(
            host,
            port,
            PortState.NAME_ERROR,
            None,
            time.monotonic() - started,
            errno_name=name,
            errno_number=number,
            error=str(exc),
        )
    result: PortResult | None = None
    for family, kind, proto, _, sockaddr in infos:
        address = str(sockaddr[0])
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        sock = socket.socket(family, kind, proto)
        _ask_for_icmp(sock, family)
        sock.settimeout(remaining)
        try:
            sock.connect(sockaddr)
        except OSError as exc:
            icmp = _queued_icmp(sock) if not isinstance(exc, TimeoutError) else None
            sock.close()
            state = _classify(exc)
            number = (
                exc.errno
                if exc.errno
                else (errno.ETIMEDOUT if state is PortState.TIMEOUT else None)
            )
            result = PortResult(
                host,
                port,
                state,
                address,
                time.monotonic() - started,
                errno_name=_errno_name(number),
                errno_number=number,
                error=str(exc) or state.value,
                icmp=icmp,
            )
            continue
        sock.settimeout(max(deadline - time.monotonic(), 0.001))
        return sock, PortResult(host, port, PortState.OPEN, address, time.monotonic() - started)
    if result is None:  # the budget ran out before any address was tried
        result = PortResult(
            host,
            port,
            PortState.TIMEOUT,
            None,
            time.monotonic() - started,
            errno_name="ETIMEDOUT",
            errno_number=errno.ETIMEDOUT,
            error="timed out",
        )
    return None, result


def probe_port(host: str, port: int, timeout: float = 3.0) -> PortResult:
    """Try one TCP connection to ``host:port`` and say how it went (no data is sent)."""
    sock, result = connect(host, port, check_timeout(timeout))
    if sock is not None:
        sock.close()
    return result


def scan_ports(
    host: str,
    ports: Iterable[int],
    timeout: float = 3.0,
    *,
    settle: float | None = None,
    on_result: Callable[[PortResult], None] | None = None,
) -> tuple[PortResult, ...]:
    """Probe several ports at once, so a DROPped port costs one timeout in total rather
    than one per port. Results come back in the order of ``ports``; ``on_result`` is
    called with each one as soon as it is known.

    With ``settle``, a port still silent once another port of the same host has
    answered is given ``max(settle, 20 x that answer's time)`` more, not the whole
    ``timeout``: the host is up and answers in milliseconds, so silence on one port is
    a DROP. Nothing is cut short while no port has answered (a host that is down, or a
    machine too busy to tell), so a slow machine never fakes a "filtered" verdict.
    """
    checked = [validate_target(host, port) for port in ports]
    check_timeout(timeout)
    if not checked:
        return ()
    report = on_result or (lambda _r: None)
    addresses = _addresses(checked[0][0], checked[0][1]) if settle is not None else None
    if settle is None or addresses is None or len(addresses) != 1:

        def one(hp: tuple[str, int]) -> PortResult:
            result = probe_port(hp[0], hp[1], timeout)
            report(result)
            return result

        with ThreadPoolExecutor(max_workers=min(32, len(checked))) as pool:
            return tuple(pool.map(one, checked))
    return _scan_settling(checked, addresses[0], timeout, check_timeout(settle), report)


def _addresses(host: str, port: int) -> list[tuple[int, tuple[Any, ...]]] | None:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        return None  # the threaded path reports the name error per port
    return [(family, sockaddr) for family, _k, _p, _c, sockaddr in infos]


def _scan_settling(
    checked: list[tuple[str, int]],
    target: tuple[int, tuple[Any, ...]],
    timeout: float,
    settle: float,
    report: Callable[[PortResult], None],
) -> tuple[PortResult, ...]:
    """Non-blocking connects to every port of one address, watched with a selector."""
    family, sockaddr = target
    address = str(sockaddr[0])
    started = time.monotonic()
    deadline = started + timeout
    results: dict[int, PortResult] = {}
    pending: dict[socket.socket, int] = {}
    first_answer: tuple[int, float] | None = None

    def done(port: int, result: PortResult) -> None:
        nonlocal first_answer
        results[port] = result
        if first_answer is None and result.state is not PortState.TIMEOUT:
            first_answer = (port, result.elapsed)
        report(result)

    with selectors.DefaultSelector() as selector:
        for host, port in checked:
            sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
            _ask_for_icmp(sock, family)
            sock.setblocking(False)
            code = sock.connect_ex((address, port, *sockaddr[2:]))
            if code in (0, errno.EINPROGRESS, getattr(errno, "EWOULDBLOCK", -1)):
                pending[sock] = port
                selector.register(sock, selectors.EVENT_WRITE)
            else:
                done(
                    port,
                    _failed(host, port, address, started, OSError(code, os.strerror(code)), sock),
                )
                sock.close()
        while pending:
            now = time.monotonic()
            cutoff = deadline
            if first_answer is not None:
                cutoff = min(deadline, started + max(settle, 20 * first_answer[1]))
            if now >= cutoff:
                break
            for key, _events in selector.select(cutoff - now):
                ready = cast(socket.socket, key.fileobj)
                port = pending.pop(ready)
                selector.unregister(ready)
                code = ready.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if code == 0:
                    elapsed = time.monotonic() - started
                    done(port, PortResult(checked[0][0], port, PortState.OPEN, address, elapsed))
                else:
                    error = OSError(code, os.strerror(code))
                    done(port, _failed(checked[0][0], port, address, started, error, ready))
                ready.close()
        for sock, port in pending.items():
            sock.close()
            host = checked[0][0]
            note = "timed out"
            if first_answer is not None and time.monotonic() < deadline:
                note = (
                    f"no answer in {time.monotonic() - started:.1f} s, while port "
                    f"{first_answer[0]} of the same host answered in "
                    f"{first_answer[1] * 1000:.0f} ms"
                )
            done(
                port,
                PortResult(
                    host,
                    port,
                    PortState.TIMEOUT,
                    address,
                    time.monotonic() - started,
                    errno_name="ETIMEDOUT",
                    errno_number=errno.ETIMEDOUT,
                    error=note,
                ),
            )
    return tuple(results[port] for _host, port in checked)


def _failed(
    host: str, port: int, address: str, started: float, exc: OSError, sock: socket.socket
) -> PortResult:
    """The result of a connect that ended with ``exc`` (with the ICMP behind it)."""
    state = _classify(exc)
    return PortResult(
        host,
        port,
        state,
        address,
        time.monotonic() - started,
        errno_name=_errno_name(exc.errno),
        errno_number=exc.errno,
        error=str(exc),
        icmp=_queued_icmp(sock),
    )
