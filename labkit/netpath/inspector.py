"""An SMTP-inspecting middlebox, as the blog's laptop met one on its network path.

The blog's learner saw ``220 ****...`` and ``250-XXXXXXXA`` from the laptop, while the
server itself offered ``STARTTLS``. Those are the fingerprints of Cisco ASA ESMTP
inspection with its documented default policy map (``_default_esmtp_map``)::

    mask-banner                                   220 text after the code -> '*'
    no allow-tls                                  STARTTLS removed, and the command masked
    match ehlo-reply-parameter others mask        unknown EHLO extensions masked
    match cmd line length gt 512 drop-connection
    match cmd RCPT count gt 100 drop-connection

This module reproduces that *observable* behaviour on the lab's router, where port 25
of the ``cafe`` network is redirected to it (``nft ... redirect``): the laptop still
connects to the server's own address and sees a masked conversation. What it does:

* the 220 greeting keeps its code; the text after it becomes ``*`` of the same length;
* in the reply to ``EHLO``, every extension outside :data:`KNOWN_EHLO_PARAMETERS`
  (``STARTTLS``, ``AUTH``, ``SMTPUTF8``, ``CHUNKING``, ...) is masked with the same
  length: ``X`` characters ending in a letter that numbers the masked lines of that
  reply, so ``STARTTLS`` becomes ``XXXXXXXA`` as in the blog;
* a ``STARTTLS`` command sent anyway is masked on its way (the server receives
  ``XXXXXXXA`` and answers ``500 5.5.2 Error: command not recognized``), so TLS never
  starts on this path; ``XXXXXXXA`` typed by a learner passes as the unknown command
  it is;
* a command line longer than 512 bytes (CRLF included) or a 101st ``RCPT`` in one
  transaction drops the connection; so does a client that keeps sending without ever
  ending a line.

Message bodies (after the server's ``354``) pass unchanged, and commands stay in
order with pipelining: replies are matched to commands first-in, first-out.

:class:`Inspection` is the protocol logic without any I/O (bytes in, bytes out), so it
is tested line by line; :func:`serve` runs it as an asyncio proxy. The module uses
only the standard library: the router image runs it with Debian's ``python3`` alone
(``python3 inspector.py --port 10025``), and writes one log line per masking or drop,
which is the "network admin's" view of what the box did.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import enum
import socket
import struct
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = [
    "KNOWN_EHLO_PARAMETERS",
    "Event",
    "Inspection",
    "Output",
    "Policy",
    "main",
    "mask_keyword",
    "serve",
]

#: EHLO extensions the inspector recognises (Cisco's ``ehlo-reply-parameter`` list minus
#: ``auth``, which the lab masks because it only ever matters together with TLS).
#: Everything else counts as "others" and is masked.
KNOWN_EHLO_PARAMETERS = frozenset(
    {
        "8BITMIME",
        "BINARYMIME",
        "CHECKPOINT",
        "DSN",
        "ENHANCEDSTATUSCODES",
        "ETRN",
        "PIPELINING",
        "SIZE",
        "VRFY",
    }
)
#: How many bytes a client may send after ``DATA`` before the server has answered it.
_MAX_HELD = 1 << 20
#: A server reply line longer than this is not SMTP; the connection is dropped.
_MAX_REPLY_LINE = 1 << 16
_SO_ORIGINAL_DST = 80  # from <linux/netfilter_ipv4.h>


@dataclass(frozen=True)
class Policy:
    """What the inspector does; the defaults are Cisco's default ESMTP policy map."""

    mask_banner: bool = True
    allow_tls: bool = False
    known_ehlo_parameters: frozenset[str] = KNOWN_EHLO_PARAMETERS
    max_command_line: int = 512
    max_recipients: int = 100


class EventKind(enum.StrEnum):
    MASKED_BANNER = "masked-banner"
    MASKED_EHLO = "masked-ehlo-parameter"
    MASKED_COMMAND = "masked-command"
    DROPPED = "dropped"


@dataclass(frozen=True)
class Event:
    """One thing the inspector did to a connection, for its log."""

    kind: EventKind
    detail: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.detail}"


@dataclass(frozen=True)
class Output:
    """Bytes to pass on after one chunk was fed in, and whether to drop the connection."""

    to_client: bytes = b""
    to_server: bytes = b""
    drop: str | None = None
    events: tuple[Event, ...] = ()


def mask_keyword(text: str, index: int) -> str:
    """``text`` replaced by ``X`` of the same length, ending in the ``index``-th letter.

    >>> mask_keyword("STARTTLS", 0)
    'XXXXXXXA'
    """
    letter = chr(ord("A") + index % 26)
    return "X" * (len(text) - 1) + letter if text else ""


def _split_ending(line: bytes) -> tuple[bytes, bytes]:
    """``b"EHLO x\\r\\n"`` -> ``(b"EHLO x", b"\\r\\n")``; bare LF endings are kept too."""
    if line.endswith(b"\r\n"):
        return line[:-2], b"\r\n"
    if line.endswith(b"\n"):
        return line[:-1], b"\n"
    return line, b""


class _Mode(enum.Enum):
    COMMANDS = "commands"
    AWAIT_DATA_REPLY = "await-data-reply"  # client bytes are held until the 354 (or not)
    BODY = "body"
    PASSTHROUGH = "passthrough"  # after an allowed STARTTLS: encrypted, nothing to read


@dataclass
class Inspection:
    """The inspector's view of one SMTP connection, without any I/O.

    Feed what the client sent to :meth:`from_client` and what the server sent to
    :meth:`from_server`; each returns the bytes to forward either way. Chunks may be
    cut anywhere (one byte per packet, several pipelined commands per packet).
    """

    policy: Policy = field(default_factory=Policy)
    _client_buf: bytearray = field(default_factory=bytearray)
    _server_buf: bytearray = field(default_factory=bytearray)
    _held: bytearray = field(default_factory=bytearray)
    _pending: deque[str] = field(default_factory=deque)  # commands awaiting their reply
    _mode: _Mode = _Mode.COMMANDS
    _greeted: bool = False
    _body_line_start: bool = True
    _recipients: int = 0
    _reply_masked: int = 0
    _reply_lines: int = 0
    dropped: str | None = None

    # ------------------------------------------------------------------ client side
    def from_client(self, data: bytes) -> Output:
        if self.dropped:
            return Output(drop=self.dropped)
        if self._mode is _Mode.PASSTHROUGH:
            return Output(to_server=data)
        self._client_buf += data
        return self._drain_client()

    def _drain_client(self) -> Output:
        out = bytearray()
        events: list[Event] = []
        while self._client_buf and not self.dropped:
            if self._mode is _Mode.AWAIT_DATA_REPLY:
                self._held += self._client_buf
                self._client_buf.clear()
                if len(self._held) > _MAX_HELD:
                    self._drop("client sent a message before the server accepted DATA", events)
                break
            if self._mode is _Mode.BODY:
                out += self._body_bytes()
                continue
            if self._mode is _Mode.PASSTHROUGH:
                out += self._client_buf
                self._client_buf.clear()
                break
            end = self._client_buf.find(b"\n")
            if end < 0:
                if len(self._client_buf) > self.policy.max_command_line:
                    self._drop(
                        f"command line longer than {self.policy.max_command_line} bytes "
                        "without an end",
                        events,
                    )
                break
            line = bytes(self._client_buf[: end + 1])
            del self._client_buf[: end + 1]
            out += self._command(line, events)
        return Output(to_server=bytes(out), drop=self.dropped, events=tuple(events))

    def _command(self, line: bytes, events: list[Event]) -> bytes:
        if len(line) > self.policy.max_command_line:
            self._drop(
                f"command line of {len(line)} bytes (limit {self.policy.max_command_line})",
                events,
            )
            return b""
        text, ending = _split_ending(line)
        # As Postfix reads it: a NUL ends the line (telnet sends a typed CR as "\r\0"),
        # and the verb is the first word.
        words = text.split(b"\0", 1)[0].split()
        verb = words[0].upper().decode("ascii", "replace") if words else ""
        if verb == "MAIL":
            self._recipients = 0
        elif verb == "RCPT":
            self._recipients += 1
            if self._recipients > self.policy.max_recipients:
                self._drop(
                    f"more than {self.policy.max_recipients} RCPT commands in one message",
                    events,
                )
                return b""
        elif verb == "STARTTLS" and not self.policy.allow_tls:
            masked = mask_keyword(verb, 0)
            events.append(Event(EventKind.MASKED_COMMAND, f"STARTTLS sent as {masked}"))
            self._pending.append(masked)
            return masked.encode() + ending
        elif verb == "DATA":
            self._mode = _Mode.AWAIT_DATA_REPLY
        self._pending.append(verb)
        return line

    def _body_bytes(self) -> bytes:
        """Pass message text through, watching for the lone ``.`` that ends it."""
        out = bytearray()
        buf = self._client_buf
        while buf:
            end = buf.find(b"\n")
            if end < 0:
                if self._body_line_start and bytes(buf) in (b".", b".\r"):
                    break  # may become the end-of-data line: wait for more
                out += buf
                buf.clear()
                self._body_line_start = False
                break
            line = bytes(buf[: end + 1])
            del buf[: end + 1]
            out += line
            if self._body_line_start and line in (b".\r\n", b".\n"):
                self._mode = _Mode.COMMANDS
                self._pending.append(".")
                self._body_line_start = True
                break
            self._body_line_start = True
        return bytes(out)

    # ------------------------------------------------------------------ server side
    def from_server(self, data: bytes) -> Output:
        if self.dropped:
            return Output(drop=self.dropped)
        if self._mode is _Mode.PASSTHROUGH:
            return Output(to_client=data)
        self._server_buf += data
        out = bytearray()
        to_server = b""
        events: list[Event] = []
        while not self.dropped:
            end = self._server_buf.find(b"\n")
            if end < 0:
                if len(self._server_buf) > _MAX_REPLY_LINE:
                    self._drop("the server sent a line that is not SMTP", events)
                break
            line = bytes(self._server_buf[: end + 1])
            del self._server_buf[: end + 1]
            out += self._reply_line(line, events)
            if self._mode is _Mode.PASSTHROUGH:
                out += self._server_buf
                self._server_buf.clear()
                break
        if self._mode is not _Mode.AWAIT_DATA_REPLY and self._held:
            # The DATA reply came: what the client sent meanwhile is body (or commands).
            self._client_buf[:0] = self._held
            self._held.clear()
            released = self._drain_client()
            to_server = released.to_server
            events += released.events
        return Output(bytes(out), to_server, self.dropped, tuple(events))

    def _reply_line(self, line: bytes, events: list[Event]) -> bytes:
        text, ending = _split_ending(line)
        code, sep, rest = text[:3], text[3:4], text[4:]
        final = sep != b"-"
        command = self._pending[0] if self._pending else None
        greeting = not self._greeted
        if greeting:
            answer = self._banner_line(code, sep, rest, events)
        elif command == "EHLO" and code == b"250":
            answer = self._ehlo_line(code, sep, rest, events)
        else:
            answer = text
        if final:
            self._reply_lines = 0
            self._reply_masked = 0
            if greeting:
                self._greeted = True
            else:
                self._finish(command, code)
        return answer + ending

    def _finish(self, command: str | None, code: bytes) -> None:
        if self._pending:
            self._pending.popleft()
        if command == "DATA":
            self._mode = _Mode.BODY if code == b"354" else _Mode.COMMANDS
            self._body_line_start = True
        elif command == "STARTTLS" and code == b"220":
            self._mode = _Mode.PASSTHROUGH  # only reachable with allow_tls

    def _banner_line(self, code: bytes, sep: bytes, rest: bytes, events: list[Event]) -> bytes:
        if not self.policy.mask_banner or not rest:
            return code + sep + rest
        events.append(
            Event(EventKind.MASKED_BANNER, f"{code.decode()} {rest.decode('ascii', 'replace')}")
        )
        return code + sep + b"*" * len(rest)

    def _ehlo_line(self, code: bytes, sep: bytes, rest: bytes, events: list[Event]) -> bytes:
        self._reply_lines += 1
        if self._reply_lines == 1:
            return code + sep + rest  # the server's name
        keyword = rest.split(b" ", 1)[0].upper().decode("ascii", "replace")
        if keyword in self.policy.known_ehlo_parameters or (
            keyword == "STARTTLS" and self.policy.allow_tls
        ):
            return code + sep + rest
        original = rest.decode("ascii", "replace")
        masked = mask_keyword(original, self._reply_masked)
        self._reply_masked += 1
        events.append(Event(EventKind.MASKED_EHLO, f"{original} -> {masked}"))
        return code + sep + masked.encode()

    def _drop(self, reason: str, events: list[Event]) -> None:
        self.dropped = reason
        events.append(Event(EventKind.DROPPED, reason))


# ---------------------------------------------------------------------- the proxy
Log = Callable[[str], None]


def original_destination(sock: socket.socket) -> tuple[str, int] | None:
    """Where the client meant to connect before the router redirected it to us."""
    try:
        raw = sock.getsockopt(socket.SOL_IP, _SO_ORIGINAL_DST, 16)
    except OSError:
        return None
    port = struct.unpack_from("!H", raw, 2)[0]
    return socket.inet_ntoa(raw[4:8]), port


async def _relay(
    reader: asyncio.StreamReader,
    feed: Callable[[bytes], Output],
    client: asyncio.StreamWriter,
    server: asyncio.StreamWriter,
    note: Callable[[Output], None],
) -> None:
    while True:
        data = await reader.read(65536)
        if not data:
            return
        out = feed(data)
        note(out)
        if out.to_client:
            client.write(out.to_client)
        if out.to_server:
            server.write(out.to_server)
        if out.drop:
            return
        await client.drain()
        await server.drain()


async def _handle(
    client_reader: asyncio.StreamReader,
    client_writer: asyncio.StreamWriter,
    policy: Policy,
    upstream: tuple[str, int] | None,
    log: Log,
    connect_timeout: float,
) -> None:
    peer = client_writer.get_extra_info("peername") or ("?", 0)
    sock = client_writer.get_extra_info("socket")
    target = upstream or (original_destination(sock) if sock is not None else None)
    who = f"{peer[0]}:{peer[1]}"
    if target is None:
        log(f"{who}: no original destination (not redirected by the router?); closing")
        client_writer.close()
        return
    where = f"{who} -> {target[0]}:{target[1]}"
    try:
        server_reader, server_writer = await asyncio.wait_for(
            asyncio.open_connection(*target), connect_timeout
        )
    except (OSError, TimeoutError) as exc:
        log(f"{where}: cannot reach the server ({exc.__class__.__name__}); closing")
        client_writer.close()
        return
    for w in (client_writer, server_writer):
        s = w.get_extra_info("socket")
        if s is not None:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    log(f"{where}: inspecting")
    inspection = Inspection(policy)

    def note(out: Output) -> None:
        for event in out.events:
            log(f"{where}: {event}")

    tasks = [
        asyncio.ensure_future(
            _relay(client_reader, inspection.from_client, client_writer, server_writer, note)
        ),
        asyncio.ensure_future(
            _relay(server_reader, inspection.from_server, client_writer, server_writer, note)
        ),
    ]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        for w in (server_writer, client_writer):
            with contextlib.suppress(OSError, RuntimeError):
                if inspection.dropped:
                    # Like the ASA's drop-connection: a reset, not a polite close.
                    s = w.get_extra_info("socket")
                    if s is not None:
                        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                w.close()
        log(
            f"{where}: closed" + (f" (dropped: {inspection.dropped})" if inspection.dropped else "")
        )


async def serve(
    host: str = "0.0.0.0",
    port: int = 10025,
    *,
    policy: Policy | None = None,
    upstream: tuple[str, int] | None = None,
    log: Log | None = None,
    connect_timeout: float = 5.0,
) -> asyncio.Server:
    """Start the inspecting proxy; ``upstream`` fixes the server (else SO_ORIGINAL_DST)."""
    policy = policy or Policy()
    logger = log or (lambda _: None)

    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        # Cancelled when the server shuts down: the connection simply ends.
        with contextlib.suppress(asyncio.CancelledError):
            await _handle(r, w, policy, upstream, logger, connect_timeout)

    return await asyncio.start_server(handler, host, port, reuse_address=True)


def _file_log(path: str | None) -> Log:
    stream = open(path, "a", buffering=1) if path else None  # noqa: SIM115 (lives forever)

    def log(message: str) -> None:
        line = f"{time.strftime('%Y-%m-%dT%H:%M:%S')} smtp-inspector: {message}"
        print(line, file=sys.stderr, flush=True)
        if stream is not None:
            stream.write(line + "\n")

    return log


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="SMTP-inspecting middlebox (ASA-like).")
    parser.add_argument("--listen", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=10025)
    parser.add_argument("--log", default=None, help="append what was masked to this file")
    parser.add_argument("--upstream", default=None, help="HOST:PORT instead of SO_ORIGINAL_DST")
    args = parser.parse_args(argv)
    upstream = None
    if args.upstream:
        host, _, port = args.upstream.rpartition(":")
        upstream = (host, int(port))
    log = _file_log(args.log)

    async def run() -> None:
        server = await serve(args.listen, args.port, upstream=upstream, log=log)
        log(f"listening on {args.listen}:{args.port}")
        async with server:
            await server.serve_forever()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
