"""No ``docker.errors`` (or ``requests``) exception escapes labkit's Docker boundary.

In the style of httpx's exception tests: every public function of
:mod:`labkit.lab.engine` is called against a real, tiny, misbehaving Docker daemon
(an HTTP server on a Unix socket that answers the handshake and then fails every
request in one way), and against no daemon at all. Each call must either return
or raise a :class:`~labkit.errors.LabkitError` with advice; nothing else.
No Docker is needed or touched.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import os
import socketserver
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from labkit.errors import (
    DockerUnavailableError,
    LabkitError,
    LabNotRunningError,
    LabStateError,
    TransportError,
)
from labkit.lab import engine, stack
from labkit.lab.config import LabConfig
from labkit.lab.engine import Container, DockerEngine, DockerTransport, translate

#: How the fake daemon fails every request after the handshake.
MODES = ("404", "409", "500", "400", "hangup", "garbage", "slow")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _FakeDaemon

    def log_message(self, *args: object) -> None:
        pass

    def _send(self, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        path = self.path.split("?")[0]
        if path.endswith("/_ping"):
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"OK")
            return
        if path.endswith("/version"):
            self._send(200, {"ApiVersion": "1.41", "Version": "20.10.24"})
            return
        mode = self.server.mode
        self.server.requests.append(f"{self.command} {path}")
        if mode == "hangup":
            self.close_connection = True
            self.connection.close()
            return
        if mode == "garbage":
            self.wfile.write(b"\x00\x01 this is not HTTP\r\n\r\n")
            self.close_connection = True
            return
        if mode == "slow":
            self.server.release.wait(5)
            self._send(500, {"message": "too late"})
            return
        self._send(int(mode), {"message": f"fake daemon says {mode}"})

    do_GET = do_POST = do_DELETE = do_PUT = _answer  # noqa: N815


class _FakeDaemon(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def __init__(self, path: str, mode: str) -> None:
        self.mode = mode
        self.requests: list[str] = []
        self.release = threading.Event()
        super().__init__(path, _Handler)

    def get_request(self):  # type: ignore[no-untyped-def]
        request, _ = super().get_request()
        return request, ("fake", 0)  # BaseHTTPRequestHandler wants a (host, port)


@contextlib.contextmanager
def fake_daemon(tmp_path: Path, mode: str) -> Iterator[_FakeDaemon]:
    path = str(tmp_path / "docker.sock")
    server = _FakeDaemon(path, mode)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()


CONTAINER = Container(
    id="0123456789ab",
    name="labkit-x-mx-1",
    project="labkit-x",
    service="mx",
    state="running",
    health="healthy",
    image="labkit/mx:dev",
)


SEAT = stack.SeatStack(
    "labkit-x",
    "node-a",
    (
        stack.StackService(
            "labkit-x_mx",
            "mx",
            "labkit/mx:dev",
            "mx",
            (("A", "b"),),
            ("NET_ADMIN",),
            (),
            False,
            2.0,
            (stack.StackMount("labkit-x_shared", "/lab/shared"),),
            (("labkit-x_server", "mx-lan"),),
        ),
    ),
    (stack.StackNetwork("labkit-x_server", "10.1.1.192/28"),),
)


def _calls(eng: DockerEngine, tmp_path: Path) -> dict[str, Callable[[], object]]:
    """One call per public function of the boundary."""
    compose = engine.Compose(LabConfig(project="labkit-x"), tmp_path)
    return {
        "DockerEngine.containers": lambda: eng.containers(project="labkit-x"),
        "DockerEngine.image_labels": lambda: eng.image_labels("labkit/mx:dev"),
        "DockerEngine.pull": lambda: eng.pull("debian:bookworm-slim"),
        "DockerEngine.pull_stream": lambda: list(eng.pull_stream("127.0.0.1:5000/x", "y")),
        "DockerEngine.push": lambda: list(eng.push("127.0.0.1:5000/x", "y")),
        "DockerEngine.tag": lambda: eng.tag("labkit/mx:dev", "127.0.0.1:5000/labkit/mx", "dev"),
        "DockerEngine.network": lambda: eng.network("labkit-x_lab"),
        "DockerEngine.network_projects": eng.network_projects,
        "DockerEngine.remove_network": lambda: eng.remove_network("labkit-x_lab"),
        "DockerEngine.connect": lambda: eng.connect("labkit-x_public", "hub", address="10.1.1.254"),
        "DockerEngine.disconnect": lambda: eng.disconnect("labkit-x_public", "hub"),
        "DockerEngine.addresses": lambda: eng.addresses("labkit-x-workstation-1"),
        "DockerEngine.start": lambda: eng.start(CONTAINER),
        "DockerEngine.exec": lambda: eng.exec(CONTAINER, ["true"], user="nobody", timeout=1),
        "DockerEngine.interactive": lambda: eng.interactive(CONTAINER, ["true"]),
        "DockerEngine.running_name": lambda: eng.running_name("labkit-x", "workstation"),
        "DockerEngine.wait_for_output": lambda: eng.wait_for_output(
            CONTAINER, "labkit: ready", timeout=0.5
        ),
        "DockerEngine.import_tree": lambda: eng.import_tree(tmp_path, "labkit/x:y"),
        "DockerEngine.image_id": lambda: eng.image_id("labkit/mx:dev"),
        "DockerEngine.remove_image": lambda: eng.remove_image("labkit/mx:dev"),
        "DockerEngine.save_images": lambda: list(eng.save_images(["labkit/mx:dev", "x:y"])),
        "DockerEngine.load_images": lambda: eng.load_images(iter([b"not a tar" * 100])),
        "DockerTransport.run": lambda: DockerTransport(eng, CONTAINER).run(["true"], timeout=1),
        "require_compose": engine.require_compose,
        "compose_command": engine.compose_command,
        "Compose.run": lambda: compose.run(["ps"], timeout=10),
        "Compose.call": lambda: compose.call(["ps"]),
        "Compose.model": compose.model,
        "DockerEngine.swarm": eng.swarm,
        "DockerEngine.swarm_nodes": eng.swarm_nodes,
        "DockerEngine.swarm_services": lambda: eng.swarm_services(label="x=y"),
        "DockerEngine.swarm_tasks": lambda: eng.swarm_tasks(desired_state="running"),
        "DockerEngine.create_overlay": lambda: eng.create_overlay(
            "labkit-x_server", "10.1.1.192/28", internal=True, labels={"a": "b"}
        ),
        "DockerEngine.create_service": lambda: eng.create_service(
            stack.service_spec(SEAT.services[0], SEAT)
        ),
        "DockerEngine.remove_service": lambda: eng.remove_service("abc"),
        "DockerEngine.networks": lambda: eng.networks(label="x=y"),
        "DockerEngine.volumes": lambda: eng.volumes(label="x=y"),
        "DockerEngine.remove_volume": lambda: eng.remove_volume("labkit-x_learner"),
        # A seat on a swarm (labkit.lab.stack) talks to the same daemon.
        "DockerEngine.containers(stack)": lambda: eng.containers(project="labkit-x", stack=True),
        "stack.require_manager": lambda: stack.require_manager(eng),
        "stack.swarm_nodes": lambda: stack.swarm_nodes(eng),
        "stack.stack_projects": lambda: stack.stack_projects(eng),
        "stack.deploy": lambda: stack.deploy(eng, SEAT),
        "stack.wait_tasks": lambda: stack.wait_tasks(eng, "labkit-x", ["mx"], timeout=0.5),
        "stack.remove": lambda: stack.remove(eng, "labkit-x", volumes=True, timeout=0.5),
    }


def test_every_public_function_is_exercised(tmp_path: Path) -> None:
    called = set(_calls(DockerEngine(), tmp_path))
    public = {
        f"{cls.__name__}.{name}"
        for cls in (DockerEngine, DockerTransport, engine.Compose)
        for name, member in inspect.getmembers(cls, inspect.isfunction)
        if not name.startswith("_") and name not in ("argv", "env")
    }
    functions = {
        name
        for name in engine.__all__
        if inspect.isfunction(getattr(engine, name)) and name != "translate"
    }
    assert public | functions <= called, "add the new function to _calls()"


@pytest.mark.parametrize("via", ["socket", "sdk"])
@pytest.mark.parametrize("mode", MODES)
def test_no_foreign_exception_escapes(
    tmp_path: Path, mode: str, via: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/docker.sock")
    with fake_daemon(tmp_path, mode) as daemon:
        eng = DockerEngine()
        assert eng.socket is not None  # quick calls skip the SDK on a Unix socket
        if via == "sdk":
            eng.socket = None  # as for a TCP or SSH daemon: everything through the SDK
        if mode == "slow":
            eng.client.api.timeout = 0.2  # the SDK's own read timeout
            if eng.socket is not None:
                eng.socket.timeout = 0.2
        for name, call in _calls(eng, tmp_path).items():
            try:
                call()
            except LabkitError as err:
                assert err.message and not err.message.startswith("<"), (name, err)
            except Exception as exc:  # the point of this test
                pytest.fail(f"{name} leaked {type(exc).__module__}.{type(exc).__name__}: {exc}")
        assert daemon.requests, "the fake daemon was never asked anything"


@pytest.mark.parametrize("via", ["socket", "sdk"])
@pytest.mark.parametrize(
    ("mode", "error"),
    [
        ("404", LabNotRunningError),
        ("409", LabNotRunningError),
        ("500", LabStateError),
        ("400", LabStateError),
        ("hangup", DockerUnavailableError),
    ],
)
def test_errors_are_classified_by_type_and_status(
    tmp_path: Path,
    mode: str,
    error: type[LabkitError],
    via: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/docker.sock")
    eng = DockerEngine()
    if via == "sdk":
        eng.socket = None
    with fake_daemon(tmp_path, mode), pytest.raises(error) as caught:
        eng.containers(project="labkit-x")
    assert caught.value.advice
    cause = type(caught.value.__cause__)
    if via == "sdk":
        assert cause.__module__.split(".")[0] in ("docker", "requests")
    else:
        assert cause in (engine.DaemonRefused, engine.DaemonUnreachable)


def test_a_missing_image_or_network_is_none_not_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/docker.sock")
    with fake_daemon(tmp_path, "404"):
        eng = DockerEngine()
        assert eng.image_labels("labkit/mx:dev") is None
        assert eng.network("labkit-x_lab") is None


@pytest.mark.parametrize("via", ["socket", "sdk"])
def test_no_daemon_says_how_to_start_one(
    tmp_path: Path, via: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/nothing-here.sock")
    eng = DockerEngine()
    if via == "sdk":
        eng.socket = None
    for call in (eng.containers, lambda: eng.exec("abc", ["true"])):
        with pytest.raises(DockerUnavailableError) as caught:
            call()
        assert "daemon" in caught.value.message and caught.value.advice


def test_the_socket_is_the_one_docker_host_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    assert DockerEngine().socket.path == "/var/run/docker.sock"  # type: ignore[union-attr]
    monkeypatch.setenv("DOCKER_HOST", "unix:///run/user/1000/docker.sock")
    assert DockerEngine().socket.path == "/run/user/1000/docker.sock"  # type: ignore[union-attr]
    monkeypatch.setenv("DOCKER_HOST", "tcp://10.0.0.5:2376")
    assert DockerEngine().socket is None  # a remote daemon: the SDK (TLS, SSH) reaches it


def test_a_timeout_is_a_transport_error() -> None:
    import requests.exceptions

    err = translate(requests.exceptions.ReadTimeout("read timed out"), "list containers")
    assert isinstance(err, TransportError) and err.advice


def test_container_from_a_listing_decodes_compose_labels_and_ports() -> None:
    listing = {
        "Id": "abc",
        "Names": ["/labkit-ws-1"],
        "Image": "labkit/workstation:dev",
        "State": "running",
        "Status": "Up 3 minutes (health: starting)",
        "Labels": {
            "com.docker.compose.project": "labkit",
            "com.docker.compose.service": "workstation",
        },
        "Ports": [
            {"IP": "127.0.0.1", "PrivatePort": 8888, "PublicPort": 8899, "Type": "tcp"},
            {"PrivatePort": 22, "Type": "tcp"},
        ],
        "NetworkSettings": {"Networks": {"labkit_lab": {"IPAddress": "10.125.25.100"}}},
    }
    c = Container.from_listing(listing)
    assert (c.name, c.project, c.service, c.health) == (
        "labkit-ws-1",
        "labkit",
        "workstation",
        "starting",
    )
    assert c.port(8888) == engine.PublishedPort(8888, "127.0.0.1", 8899)
    assert c.port(22) is None and c.running
    assert c.addresses == {"labkit_lab": "10.125.25.100"}


def test_exec_output_is_demultiplexed() -> None:
    frames = b"\x01\x00\x00\x00\x00\x00\x00\x03out\x02\x00\x00\x00\x00\x00\x00\x04err!"
    assert engine._demux(frames + b"\x01\x00\x00\x00\x00\x00\x00\x01+") == (b"out+", b"err!")


@pytest.fixture(autouse=True)
def _no_real_docker_cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The CLI-backed functions run a stand-in ``docker`` that fails like a broken
    daemon would, so no test here can reach a real one."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "docker"
    fake.write_text("#!/bin/sh\necho 'Cannot connect to the Docker daemon' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")


class _Talker(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    """A daemon whose one container started at a known time and prints ``frames``
    (stream number, bytes) on its log, in separate writes, then ``ends`` or stays open."""

    daemon_threads = True

    def __init__(self, path: str, frames: list[tuple[int, bytes]], ends: bool) -> None:
        self.frames = frames
        self.ends = ends
        self.queries: list[str] = []
        super().__init__(path, _TalkerHandler)

    def get_request(self):  # type: ignore[no-untyped-def]
        request, _ = super().get_request()
        return request, ("fake", 0)


class _TalkerHandler(socketserver.StreamRequestHandler):
    server: _Talker

    def handle(self) -> None:
        request = self.rfile.readline().decode()
        while self.rfile.readline() not in (b"\r\n", b""):
            pass
        path = request.split()[1]
        if path.endswith("/json"):
            body = json.dumps({"State": {"StartedAt": "2026-12-04T05:06:16.5Z"}}).encode()
            self.wfile.write(b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n" + body)
            return
        self.server.queries.append(path)
        self.wfile.write(
            b"HTTP/1.0 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n\r\n"
        )
        for stream, text in self.server.frames:
            frame = bytes([stream, 0, 0, 0]) + len(text).to_bytes(4, "big") + text
            for half in (frame[:5], frame[5:]):  # a frame may arrive in pieces
                self.wfile.write(half)
                self.wfile.flush()
                time.sleep(0.02)
        if not self.server.ends:
            time.sleep(3)


@contextlib.contextmanager
def talker(tmp_path: Path, frames: list[tuple[int, bytes]], *, ends: bool) -> Iterator[_Talker]:
    path = tmp_path / "talk.sock"
    server = _Talker(str(path), frames, ends)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        path.unlink()


def test_waiting_for_a_line_reads_the_log_since_the_container_started(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/talk.sock")
    frames = [(1, b"metagross is up\n"), (2, b"labkit: ready\n")]
    with talker(tmp_path, frames, ends=False) as daemon:
        assert DockerEngine().wait_for_output(CONTAINER, "labkit: ready", timeout=2) is True
    assert "since=1796360776.5" in daemon.queries[0] and "follow=1" in daemon.queries[0]


def test_a_line_that_never_comes_is_false_at_the_end_or_in_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/talk.sock")
    frames = [(1, b"labkit: ready, almost\n")]  # only a whole line counts
    with talker(tmp_path, frames, ends=True):
        assert DockerEngine().wait_for_output(CONTAINER, "labkit: ready", timeout=2) is False
    with talker(tmp_path, frames, ends=False):
        started = time.monotonic()
        assert DockerEngine().wait_for_output(CONTAINER, "labkit: ready", timeout=0.5) is False
        assert time.monotonic() - started < 2


def test_an_sdk_engine_cannot_follow_output(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "tcp://10.0.0.5:2376")
    assert DockerEngine().wait_for_output(CONTAINER, "labkit: ready", timeout=1) is None
