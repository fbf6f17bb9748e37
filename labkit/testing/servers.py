"""Small, real, misbehaving servers on 127.0.0.1, for testing probes without mocks.

A well-behaved SMTP server is easy to find (see :mod:`labkit.testing.smtpd`); the
ones that break naive clients are not. Each server here reproduces one thing seen
in the wild:

* :func:`masked_middlebox_server` - ``220 ****`` and ``250-XXXXXXXA``: what an SMTP
  inspection middlebox (Cisco ASA "fixup smtp") did to the blog's server;
* :func:`silent_server` - accepts, never speaks (a TLS-only port, a tarpit);
* :func:`garbage_server` - answers with bytes that are not SMTP;
* :func:`split_reply_server` - a correct server that writes one byte per packet;
* :func:`closing_server` - closes at once (docker-proxy with no backend), or in the
  middle of its EHLO reply;
* :func:`imap_starttls_server` and :func:`tls_server` - TLS endpoints presenting a
  given certificate;
* :func:`slow_reply_server` - answers every command just under a per-reply timeout;
* :func:`endless_imap_server` - untagged IMAP lines forever, never the tagged answer;
* :func:`endless_reply_server` - a multi-line banner that never reaches its last line;
* :func:`closed_port` - a port where nothing listens (connect is refused);
* :func:`blackhole_port` - a port whose SYNs are dropped (connect times out).

Every server binds 127.0.0.1 on a port the kernel picks, runs in daemon threads,
and is a context manager.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

__all__ = [
    "BLOG_EHLO_MASKED",
    "ScriptServer",
    "blackhole_port",
    "closed_port",
    "closing_server",
    "endless_imap_server",
    "endless_reply_server",
    "garbage_server",
    "imap_starttls_server",
    "masked_middlebox_server",
    "scripted_smtp_server",
    "silent_server",
    "slow_reply_server",
    "split_reply_server",
    "tls_server",
]

LOOPBACK = "127.0.0.1"
Handler = Callable[[socket.socket, threading.Event], None]


class ScriptServer:
    """Accept connections on 127.0.0.1 and run ``handler(conn, stopping)`` for each.

    ``handler`` runs in its own thread; it should return when ``stopping`` is set
    (client sockets are also closed on :meth:`stop`, which unblocks any ``recv``).
    """

    def __init__(self, handler: Handler, *, name: str = "script") -> None:
        self.handler = handler
        self.name = name
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind((LOOPBACK, 0))
        self.host: str = LOOPBACK
        self.port: int = self._listener.getsockname()[1]
        self._stopping = threading.Event()
        self._clients: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._acceptor: threading.Thread | None = None
        self.connections = 0

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} {self.host}:{self.port}>"

    @property
    def address(self) -> tuple[str, int]:
        return self.host, self.port

    def start(self) -> ScriptServer:
        self._listener.listen(16)
        self._acceptor = threading.Thread(
            target=self._accept_loop, daemon=True, name=f"labkit-{self.name}"
        )
        self._acceptor.start()
        return self

    def _accept_loop(self) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(self._listener, selectors.EVENT_READ)
            while not self._stopping.is_set():
                if not selector.select(timeout=0.05):
                    continue
                try:
                    conn, _ = self._listener.accept()
                except OSError:
                    continue
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                with self._lock:
                    self.connections += 1
                    self._clients.append(conn)
                worker = threading.Thread(target=self._serve, args=(conn,), daemon=True)
                self._threads.append(worker)
                worker.start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            self.handler(conn, self._stopping)
        except OSError:
            pass  # the client went away, or stop() closed the socket under us
        finally:
            with contextlib.suppress(OSError):
                conn.close()

    def stop(self) -> None:
        self._stopping.set()
        if self._acceptor is not None:
            self._acceptor.join(timeout=2)
        with self._lock:
            for conn in self._clients:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
                with contextlib.suppress(OSError):
                    conn.close()
        for worker in self._threads:
            worker.join(timeout=2)
        self._listener.close()

    def __enter__(self) -> ScriptServer:
        return self.start() if self._acceptor is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _wait_until_stopped(conn: socket.socket, stopping: threading.Event) -> None:
    """Hold a connection open, reading and ignoring whatever the client sends."""
    conn.settimeout(0.05)
    while not stopping.is_set():
        try:
            if not conn.recv(4096):
                return
        except TimeoutError:
            continue


def _read_line(conn: socket.socket, buffer: bytearray, stopping: threading.Event) -> bytes | None:
    conn.settimeout(0.05)
    while b"\n" not in buffer:
        if stopping.is_set():
            return None
        try:
            chunk = conn.recv(4096)
        except TimeoutError:
            continue
        if not chunk:
            return None
        buffer += chunk
    line, _, rest = bytes(buffer).partition(b"\n")
    buffer[:] = rest
    return line.rstrip(b"\r")


# --------------------------------------------------------------------------- scripted SMTP

#: The EHLO reply the blog's laptop saw, with STARTTLS blanked out by the middlebox.
BLOG_EHLO_MASKED = (
    b"250-metagross\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-VRFY\r\n250-ETRN\r\n"
    b"250-XXXXXXXA\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250 DSN\r\n"
)


@dataclass(frozen=True)
class _Script:
    banner: bytes
    replies: Mapping[str, bytes]
    default: bytes
    bytewise: bool
    delay: float
    close_on: str | None
    close_after: bytes
    reset: bool
    reply_delay: float = 0.0


def _send(conn: socket.socket, data: bytes, script: _Script) -> None:
    if script.reply_delay:
        time.sleep(script.reply_delay)
    if not script.bytewise:
        conn.sendall(data)
        return
    for i in range(len(data)):
        conn.sendall(data[i : i + 1])
        if script.delay:
            time.sleep(script.delay)


def _smtp_handler(script: _Script) -> Handler:
    def handle(conn: socket.socket, stopping: threading.Event) -> None:
        if script.close_on == "CONNECT":
            return
        _send(conn, script.banner, script)
        buffer = bytearray()
        while True:
            line = _read_line(conn, buffer, stopping)
            if line is None:
                return
            verb = line.split(b" ", 1)[0].decode("ascii", "replace").upper()
            if verb == script.close_on:
                conn.sendall(script.close_after)
                if script.reset:  # abortive close: the peer gets a RST, not a FIN
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                return
            _send(conn, script.replies.get(verb, script.default), script)
            if verb == "QUIT":
                return

    return handle


def scripted_smtp_server(
    *,
    banner: bytes = b"220 mail.zimmerman.test ESMTP Postfix (Debian/GNU)\r\n",
    replies: Mapping[str, bytes] | None = None,
    default: bytes = b"500 5.5.2 Error: command not recognized\r\n",
    bytewise: bool = False,
    delay: float = 0.0,
    close_on: str | None = None,
    close_after: bytes = b"",
    reset: bool = False,
    reply_delay: float = 0.0,
    name: str = "scripted-smtp",
) -> ScriptServer:
    """An SMTP-speaking script: a banner, then a canned reply per command verb.

    ``bytewise`` sends every byte in its own packet (``delay`` seconds apart);
    ``close_on="EHLO"`` sends ``close_after`` and closes when that verb arrives
    (``"CONNECT"`` closes before the banner); ``reset`` makes that close a RST.
    ``reply_delay`` waits that long before the banner and before every reply.
    """
    table = {
        "EHLO": (
            b"250-mail.zimmerman.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n"
            b"250-ENHANCEDSTATUSCODES\r\n250 8BITMIME\r\n"
        ),
        "HELO": b"250 mail.zimmerman.test\r\n",
        "MAIL": b"250 2.1.0 Ok\r\n",
        "RCPT": b"454 4.7.1 <relay-test@example.net>: Relay access denied\r\n",
        "RSET": b"250 2.0.0 Ok\r\n",
        "NOOP": b"250 2.0.0 Ok\r\n",
        "VRFY": b"252 2.0.0 Send some mail, I'll try my best\r\n",
        "QUIT": b"221 2.0.0 Bye\r\n",
    }
    table.update(replies or {})
    script = _Script(
        banner, table, default, bytewise, delay, close_on, close_after, reset, reply_delay
    )
    return ScriptServer(_smtp_handler(script), name=name)


def masked_middlebox_server() -> ScriptServer:
    """What the blog's laptop talked to: a Postfix behind SMTP inspection."""
    return scripted_smtp_server(
        banner=b"220 ************************************\r\n",
        replies={"EHLO": BLOG_EHLO_MASKED},
        name="masked-middlebox",
    )


def split_reply_server(delay: float = 0.0005) -> ScriptServer:
    """A correct server whose every byte travels in its own TCP segment."""
    return scripted_smtp_server(bytewise=True, delay=delay, name="split-reply")


def closing_server(when: str = "CONNECT", *, reset: bool = False) -> ScriptServer:
    """``when="CONNECT"``: accept then close (docker-proxy without a backend).
    ``when="EHLO"``: close in the middle of the multi-line EHLO reply.
    ``reset``: abort with a TCP RST instead of a clean FIN."""
    return scripted_smtp_server(
        close_on=when.upper(),
        close_after=b"" if reset else b"250-mail.zimmerman.test\r\n250-PIPELINING\r\n250-SIZ",
        reset=reset,
        name=f"{'resetting' if reset else 'closing'}-at-{when.lower()}",
    )


def silent_server() -> ScriptServer:
    """Accepts connections and never says a word."""
    return ScriptServer(_wait_until_stopped, name="silent")


def garbage_server(payload: bytes = b"\x00\xff\xfeSSH-2.0-not-smtp\x1b[0m\r\n") -> ScriptServer:
    """Answers every connection with bytes that are not SMTP, then idles."""

    def handle(conn: socket.socket, stopping: threading.Event) -> None:
        conn.sendall(payload)
        _wait_until_stopped(conn, stopping)

    return ScriptServer(handle, name="garbage")


# --------------------------------------------------------------------------- hostile servers


def slow_reply_server(delay: float = 1.4) -> ScriptServer:
    """A correct SMTP server that waits ``delay`` seconds before the banner and every
    reply: each wait is under a per-reply timeout, the dialog as a whole is not."""
    return scripted_smtp_server(
        replies={"STARTTLS": b"220 2.0.0 Ready to start TLS\r\n"},
        reply_delay=delay,
        name=f"slow-reply-{delay:g}s",
    )


def endless_imap_server(line: bytes = b"* OK [ALERT] still here, keep reading\r\n") -> ScriptServer:
    """An IMAP greeting, then, after the client's first command, untagged ``* ...``
    lines forever: the tagged answer a client waits for never comes."""

    def handle(conn: socket.socket, stopping: threading.Event) -> None:
        conn.sendall(b"* OK [CAPABILITY IMAP4rev1 STARTTLS] Dovecot ready.\r\n")
        if _read_line(conn, bytearray(), stopping) is None:
            return
        burst = line * 64
        conn.settimeout(1.0)
        while not stopping.is_set():
            try:
                conn.sendall(burst)
            except TimeoutError:
                continue  # the client stopped reading; keep the connection until stop()

    return ScriptServer(handle, name="endless-imap")


def endless_reply_server() -> ScriptServer:
    """A banner that never ends: ``220-`` continuation lines, as fast as the client
    reads them, and never the final ``220 `` line."""

    def handle(conn: socket.socket, stopping: threading.Event) -> None:
        burst = b"220-mail.zimmerman.test ESMTP, and there is more\r\n" * 64
        conn.settimeout(1.0)
        while not stopping.is_set():
            try:
                conn.sendall(burst)
            except TimeoutError:
                continue

    return ScriptServer(handle, name="endless-reply")


# --------------------------------------------------------------------------- TLS endpoints


def tls_server(
    context: ssl.SSLContext, *, greeting: bytes = b"220 tls.test ESMTP\r\n"
) -> ScriptServer:
    """Implicit TLS (like 465): handshake at once with ``context``, then greet and idle."""

    def handle(conn: socket.socket, stopping: threading.Event) -> None:
        conn.settimeout(5)
        try:
            tls = context.wrap_socket(conn, server_side=True)
        except (ssl.SSLError, OSError):
            return  # the client rejected our certificate, as a verifying client should
        with tls:
            tls.sendall(greeting)
            _wait_until_stopped(tls, stopping)

    return ScriptServer(handle, name="tls")


def imap_starttls_server(context: ssl.SSLContext) -> ScriptServer:
    """An IMAP greeting, ``a1 STARTTLS`` -> ``a1 OK``, then a TLS handshake."""

    def handle(conn: socket.socket, stopping: threading.Event) -> None:
        conn.sendall(b"* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] Dovecot ready.\r\n")
        buffer = bytearray()
        line = _read_line(conn, buffer, stopping)
        if line is None:
            return
        tag = line.split(b" ", 1)[0]
        if line.upper().endswith(b"STARTTLS"):
            conn.sendall(tag + b" OK Begin TLS negotiation now.\r\n")
            conn.settimeout(5)
            try:
                tls = context.wrap_socket(conn, server_side=True)
            except (ssl.SSLError, OSError):
                return
            with tls:
                _wait_until_stopped(tls, stopping)
        else:
            conn.sendall(tag + b" BAD Error in IMAP command\r\n")

    return ScriptServer(handle, name="imap-starttls")


# --------------------------------------------------------------------------- dead ports


@contextlib.contextmanager
def closed_port() -> Iterator[tuple[str, int]]:
    """A (host, port) where a connect is refused, like the blog's 465 and 587.

    The port is bound but never listened on, so no other process can take it while
    the test runs, and the kernel answers SYNs with a RST (ECONNREFUSED).
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((LOOPBACK, 0))
    try:
        yield LOOPBACK, sock.getsockname()[1]
    finally:
        sock.close()


@contextlib.contextmanager
def blackhole_port() -> Iterator[tuple[str, int]]:
    """A (host, port) where a connect times out, as behind a firewall that DROPs.

    On Linux a listener whose accept queue is full silently drops new SYNs; the
    queue is filled once (backlog 0) and never drained, so every later connect hangs
    until the client's timeout, without any firewall rule or root privileges.
    """
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind((LOOPBACK, 0))
    listener.listen(0)
    address = listener.getsockname()
    fillers: list[socket.socket] = []
    try:
        for _ in range(4):
            filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            filler.setblocking(False)
            with contextlib.suppress(BlockingIOError, OSError):
                filler.connect(address)
            fillers.append(filler)
        time.sleep(0.05)
        yield address[0], address[1]
    finally:
        for filler in fillers:
            filler.close()
        listener.close()
