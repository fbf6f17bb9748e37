"""A tiny stand-in for the blog's SMTP-inspecting middlebox, in a thread on 127.0.0.1.

It forwards each connection to a real server and rewrites the dialog the way a
Cisco ASA with ``inspect esmtp`` does (``220 ****``, ``250-XXXXXXXA``), so a
notebook or a test can show the blog's symptom in front of any server. The lab's
router runs the fuller inspector of :mod:`labkit.netpath.inspector`.
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
from collections.abc import Callable

__all__ = ["SmtpInspectingProxy"]


_STARTTLS_LINE = re.compile(rb"^(\d{3}[- ])STARTTLS(\r?\n)$", re.IGNORECASE)
_STARTTLS_COMMAND = re.compile(rb"^STARTTLS\b", re.IGNORECASE)


def _mask_banner(line: bytes) -> bytes:
    """``220 mail.example ESMTP Postfix`` -> ``220 *****...`` (same length)."""
    body = line.rstrip(b"\r\n")
    end = line[len(body) :]
    return body[:4] + b"*" * (len(body) - 4) + end


class SmtpInspectingProxy:
    """A local stand-in for an SMTP-inspecting firewall (Cisco ASA ``inspect esmtp``).

    Listens on 127.0.0.1 and forwards each connection to ``host:port``, rewriting the
    dialog the way such a box does: the 220 banner is masked with asterisks, the
    ``STARTTLS`` extension in EHLO replies becomes ``XXXXXXXA`` (same length, so the
    packet size does not change), and a client's ``STARTTLS`` command is garbled the
    same way before it reaches the server. Use it as a context manager::

        with SmtpInspectingProxy("10.125.25.25") as box:
            smtp_session("127.0.0.1", box.port)
    """

    def __init__(self, host: str, port: int = 25, *, timeout: float = 10.0) -> None:
        self.host = host
        self.target_port = port
        self.timeout = timeout
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> SmtpInspectingProxy:
        self._listener.listen(8)
        self._listener.settimeout(0.2)
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        self._listener.close()

    def __enter__(self) -> SmtpInspectingProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            server = socket.create_connection((self.host, self.target_port), self.timeout)
        except OSError:
            client.close()
            return
        for sock in (client, server):
            sock.settimeout(self.timeout)
        to_client = threading.Thread(
            target=self._pump, args=(server, client, self._rewrite_reply), daemon=True
        )
        to_client.start()
        self._pump(client, server, self._rewrite_command)
        to_client.join(timeout=self.timeout)

    @staticmethod
    def _rewrite_reply(line: bytes, first: bool) -> bytes:
        if first and line[:4] in (b"220 ", b"220-"):
            return _mask_banner(line)
        match = _STARTTLS_LINE.match(line)
        if match:
            return match.group(1) + b"XXXXXXXA" + match.group(2)
        return line

    @staticmethod
    def _rewrite_command(line: bytes, first: bool) -> bytes:
        if _STARTTLS_COMMAND.match(line):
            return b"XXXXXXXA" + line[8:]
        return line

    @staticmethod
    def _pump(
        source: socket.socket,
        sink: socket.socket,
        rewrite: Callable[[bytes, bool], bytes],
    ) -> None:
        reader = source.makefile("rb")
        first = True
        try:
            for line in reader:
                sink.sendall(rewrite(line, first))
                first = False
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
