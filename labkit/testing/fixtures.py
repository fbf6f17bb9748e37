"""pytest fixtures over :mod:`labkit.testing`; enable with
``pytest_plugins = ["labkit.testing.fixtures"]`` in a ``conftest.py``.

Every server is started on 127.0.0.1 for one test and stopped after it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol, TypeVar

import pytest

from labkit.testing.certs import CertFactory
from labkit.testing.commands import install_command
from labkit.testing.dns import TinyDnsServer, blog_dns_server, fixed_dns_server
from labkit.testing.servers import blackhole_port, closed_port

__all__ = [
    "LAB_PASSWORD",
    "LAB_USER",
    "blackhole",
    "blog_dns",
    "certs",
    "closed",
    "fake_bin",
    "fixed_dns",
    "serve",
]

LAB_USER = "jez@zimmerman.test"
LAB_PASSWORD = "correct horse battery staple"


class _Server(Protocol):
    def start(self) -> Any: ...
    def stop(self) -> None: ...


S = TypeVar("S", bound=_Server)


@pytest.fixture
def certs(tmp_path: Path) -> CertFactory:
    """A fresh CA and certificate factory writing into this test's tmp_path."""
    return CertFactory(tmp_path / "certs")


@pytest.fixture
def serve() -> Iterator[Callable[[S], S]]:
    """``serve(server)`` starts a server for the rest of the test and stops it after."""
    started: list[_Server] = []

    def start(server: S) -> S:
        server.start()
        started.append(server)
        return server

    yield start
    for server in reversed(started):
        server.stop()


@pytest.fixture
def closed() -> Iterator[tuple[str, int]]:
    """(host, port) where connections are refused."""
    with closed_port() as address:
        yield address


@pytest.fixture
def blackhole() -> Iterator[tuple[str, int]]:
    """(host, port) where connections time out (SYNs dropped)."""
    with blackhole_port() as address:
        yield address


@pytest.fixture
def blog_dns() -> Iterator[TinyDnsServer]:
    """The blog's zone (MX -> CNAME, no SPF, PTR metagross) on 127.0.0.1:<port>."""
    with blog_dns_server() as server:
        yield server


@pytest.fixture
def fixed_dns() -> Iterator[TinyDnsServer]:
    """The corrected zone on 127.0.0.1:<port>."""
    with fixed_dns_server() as server:
        yield server


@pytest.fixture
def fake_bin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Path]:
    """``fake_bin("postconf", {"-n": "...", "-M": "..."})`` installs a stand-in command
    first on PATH for this test (see :func:`labkit.testing.commands.install_command`)."""
    bin_dir = tmp_path / "fake-bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")

    def install(name: str, outputs: Any, **kwargs: Any) -> Path:
        return install_command(bin_dir, name, outputs, **kwargs)

    return install
