"""SMTP replies on a socket: parsing, and reading them robustly.

A reply is one or more lines ``NNN-text`` ending with a final ``NNN text`` line
(RFC 5321 §4.2). TCP does not preserve message boundaries, so one ``recv()`` may
return half a line, or three replies at once: the common shortcut of a single
``recv(2048)`` (even sslyze's) breaks on a server that writes its EHLO reply one
line per packet, and hangs on one that never speaks. :class:`Wire` accumulates
bytes until the final line arrives, with a size limit and a deadline, and turns
every socket/ssl failure into a :class:`WireStop` of a known kind.

This module is the boundary for ``socket`` and ``ssl`` errors *after* connect.
"""

from __future__ import annotations

import contextlib
import enum
import re
import socket
import ssl
import time
from dataclasses import dataclass

from labkit.errors import ProtocolError

__all__ = [
    "EnhancedStatus",
    "Reply",
    "ReplyCode",
    "StopKind",
    "Wire",
    "WireStop",
    "address_literal",
    "close_quietly",
    "parse_reply",
]

#: Replies longer than this are not SMTP (Postfix's longest EHLO is about 300 bytes).
MAX_REPLY_BYTES = 64 * 1024


class ReplyCode(enum.IntEnum):
    """SMTP reply codes a probe reacts to (RFC 5321 §4.2.2, RFC 3207, RFC 4954)."""

    SERVICE_READY = 220
    CLOSING = 221
    AUTH_SUCCESSFUL = 235
    OK = 250
    WILL_FORWARD = 251
    CANNOT_VRFY = 252
    AUTH_CONTINUE = 334
    START_MAIL_INPUT = 354
    SERVICE_NOT_AVAILABLE = 421
    MAILBOX_BUSY = 450
    LOCAL_ERROR = 451
    INSUFFICIENT_STORAGE = 452
    TLS_NOT_AVAILABLE = 454  # also Postfix's temporary "Relay access denied"
    SYNTAX_ERROR = 500
    SYNTAX_ERROR_IN_PARAMETERS = 501
    COMMAND_NOT_IMPLEMENTED = 502
    BAD_SEQUENCE = 503
    PARAMETER_NOT_IMPLEMENTED = 504
    AUTH_REQUIRED = 530  # "Must issue a STARTTLS command first" / "Authentication required"
    AUTH_FAILED = 535
    MAILBOX_UNAVAILABLE = 550
    USER_NOT_LOCAL = 551
    TRANSACTION_FAILED = 554


_LINE_RE = re.compile(r"([2-5][0-5][0-9])([ -]?)(.*)", re.DOTALL)
_ENHANCED_RE = re.compile(r"([245])\.(\d{1,3})\.(\d{1,3})(?:\s+|$)")


@dataclass(frozen=True)
class EnhancedStatus:
    """An RFC 3463 enhanced status code such as ``5.7.1`` (class.subject.detail)."""

    klass: int
    subject: int
    detail: int

    def __str__(self) -> str:
        return f"{self.klass}.{self.subject}.{self.detail}"


@dataclass(frozen=True)
class Reply:
    """One complete SMTP reply: the code and the text of each line (without the code)."""

    code: int
    lines: tuple[str, ...]
    enhanced: EnhancedStatus | None = None

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    @property
    def message(self) -> str:
        """The first line's text without its enhanced status code."""
        first = self.lines[0] if self.lines else ""
        return _ENHANCED_RE.sub("", first, count=1) if self.enhanced else first

    @property
    def positive(self) -> bool:
        return 200 <= self.code < 300

    @property
    def intermediate(self) -> bool:
        return 300 <= self.code < 400

    @property
    def transient(self) -> bool:
        return 400 <= self.code < 500

    @property
    def permanent(self) -> bool:
        return self.code >= 500

    def wire_lines(self) -> tuple[str, ...]:
        """The reply as it was on the wire, e.g. ``('250-mx', '250 DSN')``."""
        last = len(self.lines) - 1
        return tuple(
            f"{self.code}{'-' if i < last else ' ' if line else ''}{line}"
            for i, line in enumerate(self.lines)
        )

    def __str__(self) -> str:
        return "\n".join(self.wire_lines())


def parse_reply(data: bytes) -> Reply:
    """Parse exactly one complete SMTP reply; raise :class:`ProtocolError` otherwise.

    Lenient where real servers are sloppy (bare LF, non-UTF-8 text), strict where
    it matters (every line starts with the same valid code, only the last line uses
    a space, the reply is complete and nothing follows it). Any input, however odd,
    either parses or raises ``ProtocolError``: never another exception.
    """
    if not data:
        raise ProtocolError("Empty SMTP reply.")
    if not data.endswith(b"\n"):
        raise ProtocolError(f"Incomplete SMTP reply (no line end): {data[:60]!r}")
    text = data.decode("utf-8", errors="replace")
    raw_lines = text[:-1].split("\n")
    code: str | None = None
    texts: list[str] = []
    for index, raw in enumerate(raw_lines):
        line = raw[:-1] if raw.endswith("\r") else raw
        match = _LINE_RE.fullmatch(line)
        if match is None:
            raise ProtocolError(f"Not an SMTP reply line: {line[:60]!r}")
        line_code, sep, rest = match.groups()
        if sep == "" and rest:
            raise ProtocolError(f"Reply code not followed by a space or '-': {line[:60]!r}")
        if code is not None and line_code != code:
            raise ProtocolError(f"Reply code changed within one reply: {code} then {line_code}")
        code = line_code
        final = index == len(raw_lines) - 1
        if final and sep == "-":
            raise ProtocolError(f"Reply ends with a continuation line: {line[:60]!r}")
        if not final and sep != "-":
            raise ProtocolError(f"Data after the final line of a reply: {line[:60]!r}")
        texts.append(rest)
    assert code is not None  # raw_lines is never empty
    enhanced = None
    found = _ENHANCED_RE.match(texts[0])
    if found and found.group(1) == code[0]:
        enhanced = EnhancedStatus(*(int(g) for g in found.groups()))
    return Reply(int(code), tuple(texts), enhanced)


class StopKind(enum.StrEnum):
    """Why a dialog could not go on after the connection was open."""

    CLOSED = "closed"  # the peer closed the connection (possibly mid-reply)
    TIMEOUT = "timeout"  # the peer went silent
    RESET = "reset"  # the connection was reset or broke
    GARBAGE = "garbage"  # bytes that are not the expected protocol
    TOO_LARGE = "too-large"  # a reply that never ends


class WireStop(ProtocolError):
    """Raised by :class:`Wire` and always caught by the probes, which turn it into data.

    ``partial`` holds whatever bytes arrived before the stop, for the transcript.
    """

    def __init__(self, kind: StopKind, message: str, partial: bytes = b"") -> None:
        super().__init__(message)
        self.kind = kind
        self.partial = partial


def _plausible_prefix(partial: bytes) -> bool:
    """Could these bytes (no newline yet) still become an SMTP reply line?"""
    head = partial[:4]
    for i, byte in enumerate(head):
        if i < 3 and not 0x30 <= byte <= 0x39:
            return False
        if i == 3 and byte not in b" -\r":
            return False
    return True


def _reply_end(buffer: bytes | bytearray) -> int:
    """Index just past the final line of the first complete reply, or -1 if incomplete.

    Raises ``WireStop(GARBAGE)`` as soon as the bytes cannot be SMTP, so a server
    sending junk is recognised at once rather than after the deadline.
    """
    pos = 0
    while True:
        newline = buffer.find(b"\n", pos)
        if newline < 0:
            if not _plausible_prefix(bytes(buffer[pos:])):
                raise WireStop(
                    StopKind.GARBAGE, "The server sent bytes that are not SMTP.", bytes(buffer)
                )
            return -1
        line = bytes(buffer[pos:newline]).rstrip(b"\r")
        if len(line) < 3 or not line[:3].isdigit() or (len(line) > 3 and line[3:4] not in b" -"):
            raise WireStop(
                StopKind.GARBAGE, f"Not an SMTP reply line: {line[:60]!r}", bytes(buffer)
            )
        if len(line) == 3 or line[3:4] == b" ":
            return newline + 1
        pos = newline + 1


class Wire:
    """A socket plus a receive buffer, read one reply (or one line) at a time.

    Every read ends within ``timeout`` seconds, and no read or send goes past
    ``deadline`` (a :func:`time.monotonic` instant for the whole dialog), so neither
    a server that drips one byte per second nor one that answers every command just
    under ``timeout`` can keep a probe alive longer than its caller allowed.
    """

    def __init__(
        self,
        sock: socket.socket,
        *,
        timeout: float,
        max_reply: int = MAX_REPLY_BYTES,
        deadline: float | None = None,
    ) -> None:
        self.sock = sock
        self.timeout = timeout
        self.max_reply = max_reply
        self.deadline = deadline
        self.buffer = bytearray()
        self.bare_lf = False

    def _read_deadline(self) -> float:
        deadline = time.monotonic() + self.timeout
        return deadline if self.deadline is None else min(deadline, self.deadline)

    def _timeout_message(self) -> str:
        if self.deadline is not None and time.monotonic() >= self.deadline - 0.001:
            return "The probe's time ran out before the server finished answering."
        return f"No complete reply within {self.timeout:g} s."

    def remaining(self) -> float:
        """Seconds left before the dialog's deadline (``timeout`` when there is none)."""
        if self.deadline is None:
            return self.timeout
        return self.deadline - time.monotonic()

    def replace_socket(self, sock: socket.socket) -> None:
        """Continue on a new (TLS-wrapped) socket; the plaintext buffer is dropped."""
        self.sock = sock
        self.buffer.clear()

    def send(self, data: bytes) -> None:
        remaining = self._read_deadline() - time.monotonic()
        if remaining <= 0:
            raise WireStop(StopKind.TIMEOUT, self._timeout_message())
        self.sock.settimeout(remaining)
        try:
            self.sock.sendall(data)
        except TimeoutError as exc:
            raise WireStop(StopKind.TIMEOUT, "The server stopped accepting data.") from exc
        except (BrokenPipeError, ConnectionError, ssl.SSLError, OSError) as exc:
            raise WireStop(StopKind.RESET, f"The connection broke while sending: {exc}") from exc

    def _fill(self, deadline: float) -> None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise WireStop(StopKind.TIMEOUT, self._timeout_message(), bytes(self.buffer[:512]))
        self.sock.settimeout(remaining)
        try:
            chunk = self.sock.recv(4096)
        except TimeoutError as exc:
            raise WireStop(
                StopKind.TIMEOUT, self._timeout_message(), bytes(self.buffer[:512])
            ) from exc
        except (ssl.SSLZeroReturnError, ssl.SSLEOFError) as exc:
            raise WireStop(
                StopKind.CLOSED, "The server closed the TLS connection.", bytes(self.buffer)
            ) from exc
        except (ConnectionError, ssl.SSLError, OSError) as exc:
            raise WireStop(
                StopKind.RESET, f"The connection broke: {exc}", bytes(self.buffer)
            ) from exc
        if not chunk:
            where = "in the middle of a reply" if self.buffer else "without a reply"
            raise WireStop(
                StopKind.CLOSED, f"The server closed the connection {where}.", bytes(self.buffer)
            )
        self.buffer += chunk

    def read_reply(self) -> tuple[Reply, bytes]:
        """The next complete reply and its raw bytes."""
        deadline = self._read_deadline()
        while True:
            end = _reply_end(self.buffer)
            if end >= 0:
                raw = bytes(self.buffer[:end])
                del self.buffer[:end]
                if b"\n" in raw.replace(b"\r\n", b""):
                    self.bare_lf = True
                try:
                    return parse_reply(raw), raw
                except ProtocolError as exc:
                    raise WireStop(StopKind.GARBAGE, str(exc), raw) from exc
            if len(self.buffer) > self.max_reply:
                raise WireStop(
                    StopKind.TOO_LARGE,
                    f"A reply longer than {self.max_reply} bytes never ended.",
                    bytes(self.buffer[:512]),
                )
            self._fill(deadline)

    def read_line(self) -> bytes:
        """The next line (without its line end), for line-based greetings such as IMAP."""
        deadline = self._read_deadline()
        while True:
            newline = self.buffer.find(b"\n")
            if newline >= 0:
                line = bytes(self.buffer[:newline]).rstrip(b"\r")
                del self.buffer[: newline + 1]
                return line
            if len(self.buffer) > self.max_reply:
                raise WireStop(
                    StopKind.TOO_LARGE, "A line that never ended.", bytes(self.buffer[:512])
                )
            self._fill(deadline)


#: An extension keyword made of X's, as Cisco ASA "inspect esmtp" / "fixup smtp" leaves
#: behind when it blanks out extensions it does not allow (``STARTTLS`` -> ``XXXXXXXA``).
MASKED_KEYWORD_RE = re.compile(r"X{4,}[A-Z]?")
#: A greeting whose text was replaced by asterisks by the same kind of middlebox.
MASKED_TEXT_RE = re.compile(r"[\s*]*\*{4,}[\s*]*")


def parse_ehlo(reply: Reply) -> tuple[str, dict[str, tuple[str, ...]]]:
    """Split an EHLO reply into the server's name and its extensions.

    ``250-SIZE 10240000`` becomes ``{"SIZE": ("10240000",)}`` and
    ``250-AUTH PLAIN LOGIN`` becomes ``{"AUTH": ("PLAIN", "LOGIN")}``. Keywords are
    upper-cased (they are case-insensitive, RFC 5321 §4.1.1.1). The obsolete
    ``AUTH=LOGIN`` form some servers still send is merged into ``AUTH``.
    """
    if not reply.lines:
        return "", {}
    first = reply.lines[0].split()
    domain = first[0] if first else ""
    capabilities: dict[str, tuple[str, ...]] = {}
    for line in reply.lines[1:]:
        words = line.split()
        if not words:
            continue
        keyword, params = words[0].upper(), tuple(words[1:])
        if keyword.startswith("AUTH="):
            keyword, params = "AUTH", (keyword[5:], *params)
        if keyword in capabilities:
            params = tuple(dict.fromkeys(capabilities[keyword] + params))
        capabilities[keyword] = params
    return domain, capabilities


def address_literal(sock: socket.socket) -> str:
    """The client's own address as an EHLO argument, as the blog did (``[206.71.229.162]``)."""
    try:
        address = str(sock.getsockname()[0])
    except OSError:
        return "[127.0.0.1]"
    return f"[IPv6:{address}]" if ":" in address else f"[{address}]"


def close_quietly(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.close()
