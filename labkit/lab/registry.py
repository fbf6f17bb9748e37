"""The lab's images through a private registry, for sites that have one.

A workshop spread over several Docker hosts needs labkit's images on each. Without a
registry, ``labkit images export | ssh node labkit images import -`` carries them
(:mod:`labkit.lab.bundle`); with one, ``labkit images push --registry HOST:PORT`` sends
them there once, through Docker's own push (the standard registry API, as ``registry:2``
or Debian's ``docker-registry`` serve it), and ``labkit images pull --registry
HOST:PORT`` on each node fetches them and names them as ``labkit up`` expects
(``labkit/mx:dev``, ...). Each pulled image is checked against the sources it was
built from (its ``org.labkit.source-digest`` label), as an imported bundle is.

Docker speaks plain HTTP only to registries on 127.0.0.0/8 or listed under
``insecure-registries`` in the daemon's configuration; a registry it refuses is a
clear error that says so.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from labkit.errors import DockerUnavailableError, LabkitError, LabStateError, UsageError
from labkit.limits import parse_port

if TYPE_CHECKING:
    from labkit.lab.engine import DockerEngine

__all__ = ["RegistryImage", "RegistryResult", "parse_registry", "pull_images", "push_images"]

#: A host name or IPv4 address, then a port: what Docker takes as a registry prefix.
_REGISTRY = re.compile(
    r"(?P<host>[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?):(?P<port>[^/\s]+)"
)

#: Called with (images done, what is happening) as work goes on.
Step = Callable[[int, str], None]


def _quiet(_done: int, _what: str) -> None:
    return None


@dataclass(frozen=True)
class RegistryImage:
    """One lab image and its name in the registry."""

    local: str  # labkit/mx:dev
    remote: str  # registry.example:5000/labkit/mx:dev
    image_id: str  # sha256:... of its config, the same on both sides


@dataclass(frozen=True)
class RegistryResult:
    registry: str
    images: tuple[RegistryImage, ...]
    seconds: float
    #: Images pulled that were built from other sources than this checkout's.
    outdated: tuple[str, ...] = ()


def parse_registry(text: str) -> str:
    """``HOST:PORT`` as typed (no scheme, no path); a UsageError says what is wrong."""
    given = text.strip()
    match = _REGISTRY.fullmatch(given)
    if match is None:
        raise UsageError(
            f"{given!r} is not a registry address.",
            advice="Give HOST:PORT, e.g. --registry 10.0.0.5:5000 or --registry "
            "registry.example.org:5000 (no http://, no path).",
        )
    port = parse_port(match["port"], "registry port")
    return f"{match['host']}:{port}"


def _remote(registry: str, local: str) -> str:
    return f"{registry}/{local}"


def _split(name: str) -> tuple[str, str]:
    """``host:5000/labkit/mx:dev`` -> (``host:5000/labkit/mx``, ``dev``)."""
    repository, _, tag = name.rpartition(":")
    return repository, tag


def _failed(statuses: Iterable[Mapping[str, Any]]) -> str | None:
    """The first error of a push or pull: refused at once by the daemon (a registry it
    cannot reach), or in its status stream; None when it went through. A daemon that
    does not answer is not the registry's fault: that error goes on as it is."""
    try:
        for status in statuses:
            error = status.get("error") or (status.get("errorDetail") or {}).get("message")
            if error:
                return str(error).strip()
    except DockerUnavailableError:
        raise
    except LabkitError as exc:
        return exc.message
    return None


def _advice(registry: str) -> str:
    return (
        f"Check that a registry answers at {registry} (`curl http://{registry}/v2/`) and "
        "that this machine may reach it. A registry without TLS is only allowed on "
        "127.0.0.0/8 or when listed under `insecure-registries` in /etc/docker/daemon.json "
        "(then restart the daemon). Pulling needs the images pushed first: `labkit images "
        f"push --registry {registry}` on a machine that has them."
    )


def push_images(
    engine: DockerEngine,
    names: Mapping[str, str],
    registry: str,
    *,
    on_step: Step | None = None,
) -> RegistryResult:
    """Tag each local image (service -> name) with ``registry`` and push it there."""
    on_step = on_step or _quiet
    started = time.monotonic()
    pushed = []
    for done, name in enumerate(names.values()):
        image_id = engine.image_id(name)
        if image_id is None:
            raise UsageError(f"The image {name} is gone.", advice="`labkit build`, then again.")
        remote = _remote(registry, name)
        on_step(done, f"pushing {remote}")
        repository, tag = _split(remote)
        engine.tag(name, repository, tag)
        said = _failed(engine.push(repository, tag))
        if said is not None:
            raise LabStateError(
                f"Pushing {name} to {registry} failed: {said[:300]}", advice=_advice(registry)
            )
        pushed.append(RegistryImage(name, remote, image_id))
    on_step(len(pushed), "pushed")
    return RegistryResult(registry, tuple(pushed), time.monotonic() - started)


def pull_images(
    engine: DockerEngine,
    names: Mapping[str, str],
    registry: str,
    *,
    current_digests: Mapping[str, str],
    on_step: Step | None = None,
) -> RegistryResult:
    """Pull each image from ``registry`` and name it as ``labkit up`` expects; the
    result lists the images built from other sources than ``current_digests`` say."""
    on_step = on_step or _quiet
    started = time.monotonic()
    pulled = []
    outdated = []
    for done, name in enumerate(names.values()):
        remote = _remote(registry, name)
        on_step(done, f"pulling {remote}")
        repository, tag = _split(remote)
        said = _failed(engine.pull_stream(repository, tag))
        if said is not None:
            raise LabStateError(f"Pulling {remote} failed: {said[:300]}", advice=_advice(registry))
        image_id = engine.image_id(remote)
        if image_id is None:
            raise LabStateError(f"Docker pulled {remote} but does not show it.")
        local_repository, local_tag = _split(name)
        engine.tag(remote, local_repository, local_tag)
        labels = engine.image_labels(name) or {}
        if labels.get("org.labkit.source-digest") != current_digests.get(name):
            outdated.append(name)
        pulled.append(RegistryImage(name, remote, image_id))
    on_step(len(pulled), "pulled")
    return RegistryResult(registry, tuple(pulled), time.monotonic() - started, tuple(outdated))
