"""A Docker daemon that can die on cue: a Unix-socket proxy in front of the real one.

Point ``DOCKER_HOST`` at :attr:`DockerProxy.url` and everything labkit does (the SDK,
its own socket calls, ``docker compose``) goes through the proxy to the real daemon.
:meth:`DockerProxy.cut` then does what a crashing daemon does to its clients: every
open connection is closed and new ones are refused (the socket file disappears);
:meth:`DockerProxy.restore` brings the daemon "back". The containers themselves keep
running on the real daemon, as they do when dockerd restarts with live-restore, or
stay half-created, as after a crash mid-start: what a test then checks is what
labkit says and what it leaves behind.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading
from pathlib import Path

__all__ = ["DockerProxy"]


class DockerProxy:
    """Forward connections on ``path`` to the daemon at ``target``."""

    def __init__(self, path: Path, target: str = "/var/run/docker.sock") -> None:
        self.path = path
        self.target = target
        self.connections = 0
        self._listener: socket.socket | None = None
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"unix://{self.path}"

    def __enter__(self) -> DockerProxy:
        self.restore()
        return self

    def __exit__(self, *exc: object) -> None:
        self.cut()

    def restore(self) -> None:
        """Listen (again) on :attr:`path`."""
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(str(self.path))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        """Die: stop listening, remove the socket file, drop every open connection."""
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        with self._lock:
            for sock in self._open:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self._open.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut
            try:
                upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                upstream.connect(self.target)
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._listener is not listener:  # cut meanwhile
                    client.close()
                    upstream.close()
                    return
                self._open.update((client, upstream))
                self.connections += 1
            threading.Thread(target=self._pipe, args=(client, upstream), daemon=True).start()

    def _pipe(self, a: socket.socket, b: socket.socket) -> None:
        """Copy both ways until either side ends (half-closes are passed on)."""
        selector = selectors.DefaultSelector()
        peers = {a: b, b: a}
        for sock in peers:
            selector.register(sock, selectors.EVENT_READ)
        live = 2
        try:
            while live:
                for key, _ in selector.select():
                    src: socket.socket = key.fileobj  # type: ignore[assignment]
                    try:
                        data = src.recv(65536)
                    except OSError:
                        return
                    if not data:
                        selector.unregister(src)
                        live -= 1
                        with contextlib.suppress(OSError):
                            peers[src].shutdown(socket.SHUT_WR)
                        continue
                    try:
                        peers[src].sendall(data)
                    except OSError:
                        return
        finally:
            selector.close()
            with self._lock:
                for sock in peers:
                    self._open.discard(sock)
                    sock.close()
