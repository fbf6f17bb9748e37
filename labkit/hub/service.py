"""The hub's lifecycle: ``labkit hub up|status|down``.

``up`` reads and checks the roster, the address and the port before it touches Docker,
builds the hub image when it is missing, writes the settings the hub's configuration
reads, starts the hub (one Compose project, ``labkit-hub``) and waits until it answers.
If it does not come up, everything it started is removed again and the error carries
the hub's last log lines: nothing half-started is left behind. ``down`` removes the
hub; its data volume (who set which password) is kept unless ``volumes=True``.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from labkit.errors import LabkitError, LabStateError, PortInUseError, UsageError
from labkit.hub.roster import Roster, load_roster
from labkit.hub.settings import DEFAULT_CULL_IDLE_S, hub_settings
from labkit.lab import images
from labkit.lab.config import LabConfig, find_home
from labkit.lab.engine import (
    Compose,
    Container,
    DockerEngine,
    by_project_and_service,
    missing_tls_files,
)
from labkit.lab.lifecycle import DEFAULT_SCENARIO, Lab
from labkit.lab.scenarios import load_scenario

__all__ = ["HUB_PROJECT", "HubService", "HubStatus"]

HUB_PROJECT = "labkit-hub"
Say = Callable[[str], None]


@dataclass(frozen=True)
class HubStatus:
    project: str
    state: str  # running, exited, missing, ...
    url: str | None
    users: int
    admins: int
    #: Each learner's lab this hub started, by Compose project: running, stopped, ...
    labs: dict[str, str] = field(default_factory=dict)

    @property
    def running(self) -> bool:
        return self.state == "running"


def _state_dir(project: str) -> Path:
    base = Path(os.environ.get("XDG_STATE_HOME", Path.home() / ".local" / "state"))
    return base / "labkit" / project


class HubService:
    """One workshop hub on this machine (Compose project ``project``)."""

    def __init__(
        self, project: str = HUB_PROJECT, *, home: Path | None = None, image_tag: str = "dev"
    ) -> None:
        LabConfig(project=project).validate()
        self.project = project
        #: The learners' labs are named after them, behind this hub's own name.
        self.seat_prefix = f"{project}-"
        self.home = home or find_home()
        self.image_tag = image_tag
        self.engine = DockerEngine()

    @property
    def settings_path(self) -> Path:
        return _state_dir(self.project) / "settings.json"

    def _compose(self, env: dict[str, str] | None = None) -> Compose:
        # No TLS files for other nodes' daemons unless given: an empty folder stands in.
        none = _state_dir(self.project) / "no-node-certs"
        none.mkdir(parents=True, exist_ok=True)
        extra = {
            "LABKIT_HOST_CA": images.host_ca_bundle(_state_dir(self.project)),
            "LABKIT_HUB_SETTINGS": str(self.settings_path),
            "LABKIT_HOME": str(self.home),
            "LABKIT_NODE_CERTS": str(none),
            "LABKIT_NODE_CERT_PATH": "",
            **(env or {}),
        }
        config = LabConfig(project=self.project, image_tag=self.image_tag)
        return Compose(
            config, self.home, extra, file=self.home / "lab" / "hub" / "docker-compose.yml"
        )

    def _container(self) -> Container | None:
        found = self.engine.containers(project=self.project, service="hub")
        return found[0] if found else None

    def up(
        self,
        roster_file: Path,
        *,
        port: int = 8000,
        bind: str = "127.0.0.1",
        insecure_bind: bool = False,
        cull_idle_s: int = DEFAULT_CULL_IDLE_S,
        scenario: str | None = None,
        seats_warm: int = 0,
        engine: str = "compose",
        node_certs: Path | None = None,
        timeout: float = 120,
        say: Say = lambda _: None,
    ) -> HubStatus:
        roster = load_roster(roster_file)
        certs_env = _node_certs_env(node_certs)
        if scenario is not None:
            load_scenario(self.home, scenario)  # an unknown name fails before any work
        LabConfig(engine=engine).validate()
        if engine == "swarm":
            from labkit.lab import stack

            stack.require_manager(self.engine)  # before anything is built or started
        settings = hub_settings(
            roster,
            cull_idle_s=cull_idle_s,
            scenario=scenario or DEFAULT_SCENARIO,
            image_tag=self.image_tag,
            seat_prefix=self.seat_prefix,
            warm=seats_warm,
            engine=engine,
        )
        _check_bind(bind, insecure_bind)
        running = self._container()
        if running is None or not running.running:
            _check_port(bind, port)
        # The learners' labs start from the hub and never build: their images first.
        lab_images = Lab(LabConfig(project=self.project, image_tag=self.image_tag), self.home)
        missing = lab_images.missing_images()
        if missing:
            say(f"building the lab images the learners' labs need: {', '.join(missing)}")
            lab_images.build(services=missing, say=say)
        labels = self.engine.image_labels(f"labkit/hub:{self.image_tag}")
        digest = images.source_digest(self.home, "hub")
        if labels is None or labels.get("org.labkit.source-digest") != digest:
            say("building the hub image")
            base = images.resolve_base_image(self.engine, say)
            env = {"LABKIT_BASE_IMAGE": base, "LABKIT_SOURCE_DIGEST": digest}
            self._compose(env).run(["build", "hub"], what="The hub build")
        self.settings_path.parent.mkdir(parents=True, exist_ok=True)
        self.settings_path.write_text(settings)
        env = {"LABKIT_HUB_BIND": bind, "LABKIT_HUB_PORT": str(port), **certs_env}
        say(f"starting the hub for {len(roster.entries)} people")
        try:
            self._compose(env).run(
                ["up", "-d", "--no-build", "--force-recreate"], what="Starting the hub"
            )
            self._wait(f"http://127.0.0.1:{port}/hub/api", timeout)
        except LabkitError as exc:
            compose = self._compose(env)
            try:
                tail = compose.run(["logs", "--tail", "20"], what="Reading the hub's log").output
            except LabkitError as log_error:
                tail = log_error.message
            compose.run(["down", "--remove-orphans"], what="Removing the hub")
            raise LabStateError(
                f"The hub did not start: {exc.message} Nothing of it was left running.",
                advice="Its last log lines:\n" + tail[-2000:],
            ) from exc
        if seats_warm > 0:
            self._warm(min(seats_warm, len(roster.learners)), say)
        return self.status(roster)

    def _warm(self, count: int, say: Say) -> None:
        """Start the first ``count`` learners' labs from inside the hub (labkit.hub.warm)."""
        hub = self._container()
        if hub is None:
            raise LabStateError("The hub is not running, so no seat can be warmed.")
        say(f"warming {count} learners' labs (the first on the roster)")
        started = time.monotonic()
        result = self.engine.exec(
            hub, ["python3", "-m", "labkit.hub.warm"], timeout=max(300.0, 60.0 * count)
        )
        for line in result.stdout.splitlines():
            say(line)
        if not result.ok:
            raise LabStateError(
                "Some learners' labs could not be warmed; they start when their learner "
                "logs in instead.",
                advice=(result.stdout + result.stderr).strip()[-1500:],
            )
        say(f"{count} labs warm in {time.monotonic() - started:.0f} s")

    @staticmethod
    def _wait(url: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        return
            except (OSError, urllib.error.URLError):
                pass
            if time.monotonic() > deadline:
                raise LabStateError(f"It did not answer at {url} within {timeout:.0f} s.")
            time.sleep(0.5)

    def status(self, roster: Roster | None = None) -> HubStatus:
        c = self._container()
        labs = {project: _lab_state(found) for project, found in sorted(self.seats().items())}
        if c is None:
            return HubStatus(self.project, "missing", None, 0, 0, labs)
        published = c.port(8000)
        url = None
        if c.running and published is not None:
            host = published.host_ip if published.host_ip not in ("", "0.0.0.0") else "127.0.0.1"
            url = f"http://{host}:{published.host_port}/hub/login"
        users = admins = 0
        if roster is None and self.settings_path.is_file():
            import json

            data = json.loads(self.settings_path.read_text())
            users, admins = len(data.get("users", [])), len(data.get("admins", []))
        elif roster is not None:
            users, admins = len(roster.entries), len(roster.admins)
        return HubStatus(self.project, c.state, url, users, admins, labs)

    def seats(self) -> dict[str, list[Container]]:
        """The learners' labs this hub started, running or not, by project (Compose's or
        a swarm stack's); a lab whose start was cut short (Docker died) may have
        networks and no container: it is listed too, with none, so that :meth:`down`
        removes what it has."""
        return {project: found for project, (_, found) in self._seats().items()}

    def _seats(self) -> dict[str, tuple[str, list[Container]]]:
        """:meth:`seats`, each with its engine (compose or swarm)."""
        from labkit.lab import stack

        found: dict[str, tuple[str, list[Container]]] = {}

        def mine(project: str) -> bool:
            return project.startswith(self.seat_prefix) and project != self.project

        for engine, on_swarm in (("compose", False), ("swarm", True)):
            # A swarm seat keeps its replaced tasks' containers for a while: one per service.
            listed = by_project_and_service(self.engine.containers(stack=on_swarm))
            for project, per_service in listed.items():
                if mine(project):
                    found.setdefault(project, (engine, []))[1].extend(per_service.values())
            for project in self.engine.network_projects(stack=on_swarm):
                if mine(project):
                    found.setdefault(project, (engine, []))
        for project in stack.stack_projects(self.engine):  # services whose tasks wait
            if mine(project):
                found.setdefault(project, ("swarm", []))
        return found

    def down(self, *, volumes: bool = False, say: Say = lambda _: None) -> None:
        """Stop the hub and every learner's lab it started (their volumes stay unless
        ``volumes``: notebooks and progress are the learners' work)."""
        self._compose().run(
            ["down", "--remove-orphans", *(["--volumes"] if volumes else [])],
            what="Stopping the hub",
        )
        seats = sorted(self._seats().items())

        def stop(seat: tuple[str, tuple[str, list[Container]]]) -> None:
            project, (engine, _) = seat
            say(f"stopping {project}")
            config = LabConfig(project=project, image_tag=self.image_tag, engine=engine)
            Lab(config, self.home).down(volumes=volumes)

        # Each lab waits seconds for its containers' grace periods: several at once.
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(stop, seats))


def _node_certs_env(folder: Path | None) -> dict[str, str]:
    """What the hub's file needs to give the hub the TLS files for other swarm nodes'
    daemons (Docker's client layout), checked before anything starts."""
    if folder is None:
        return {}
    folder = folder.expanduser().resolve()
    missing = missing_tls_files(folder)
    if missing:
        raise UsageError(
            f"{folder} is not a folder of Docker client TLS files: "
            + ", ".join(missing)
            + " missing.",
            advice="Give the folder with ca.pem, cert.pem and key.pem that reaches the other "
            "nodes' daemons (Docker's own client uses ~/.docker), or leave --node-certs out.",
        )
    return {"LABKIT_NODE_CERTS": str(folder), "LABKIT_NODE_CERT_PATH": "/srv/hub/node-certs"}


def _lab_state(containers: list[Container]) -> str:
    """One word for a lab: running (all its containers), stopped, or partly running."""
    if not containers:
        return "networks only (a start cut short)"
    running = sum(c.running for c in containers)
    if running == len(containers):
        return "running"
    return "stopped" if running == 0 else f"partly running ({running}/{len(containers)})"


def _check_bind(bind: str, insecure_bind: bool) -> None:
    try:
        address = ipaddress.IPv4Address(bind)
    except ValueError:
        raise UsageError(
            f"{bind!r} is not an IPv4 address to listen on.",
            advice="Leave --bind out (127.0.0.1), or give e.g. 0.0.0.0 with --insecure-bind.",
        ) from None
    if not address.is_loopback and not insecure_bind:
        raise UsageError(
            f"The hub would listen on {bind} without HTTPS: passwords would cross the network "
            "in clear.",
            advice="Keep it on 127.0.0.1 (participants use an SSH tunnel or a TLS reverse "
            "proxy in front), or say --insecure-bind if this network is yours alone.",
        )


def _check_port(bind: str, port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((bind, port))
        except OSError:
            raise PortInUseError(
                f"Port {port} on {bind} is already in use, so the hub cannot listen there.",
                advice=f"Stop what uses it (`ss -ltnp | grep :{port}`) or pick another: "
                "`labkit hub up --port 8010 ...`.",
            ) from None
