"""The lab's lifecycle: build, up, down, status, scenarios, reset, logs.

:class:`Lab` is the Python API behind ``labkit up|down|status|scenario|reset|logs``.
Long steps report progress through a ``say`` callback (the CLI shows it with rich);
nothing here prints.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from labkit.errors import (
    LabkitError,
    LabNotRunningError,
    LabStateError,
    PortInUseError,
    UsageError,
)
from labkit.lab import images
from labkit.lab.access import DockerZones, LabAccess, workstation_access
from labkit.lab.config import LabConfig, find_home, in_workstation
from labkit.lab.engine import (
    Compose,
    Container,
    DockerEngine,
    DockerTransport,
    by_service,
    require_compose,
    translate,
)
from labkit.lab.readiness import (
    ANNOUNCEMENT,
    HEALTH_COMMAND,
    AnnouncedCheck,
    HealthRider,
    ReadyReport,
    ServiceCheck,
    wait_ready,
)
from labkit.lab.scenarios import (
    RenderedScenario,
    Scenario,
    list_scenarios,
    load_scenario,
    render,
    scenario_names,
)
from labkit.lab.secretfile import read_or_create_secret
from labkit.lab.state import (
    ApplyResult,
    ScenarioState,
    ScenarioSwitch,
    apply_rendered,
    read_scenario_state,
)
from labkit.netpath.network import (
    NetworkState,
    UnknownNetworkError,
    read_network,
    use_network,
)
from labkit.netpath.rules import NETWORKS

__all__ = ["DEFAULT_SCENARIO", "Lab", "LabStatus", "ServiceStatus"]

DEFAULT_SCENARIO = "blog"
Say = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


@dataclass(frozen=True)
class ServiceStatus:
    service: str
    container: str | None
    state: str  # running, exited, missing, ...
    health: str  # healthy, unhealthy (its lab-health check fails), none (not running)
    image: str | None


@dataclass(frozen=True)
class LabStatus:
    project: str
    services: tuple[ServiceStatus, ...]
    scenario: ScenarioState | None
    url: str | None
    #: The laptop's network (cafe, hotspot, none, other), None when it cannot be read.
    network: str | None = None
    #: A seat on a swarm: the node it runs on (None for a Compose lab).
    node: str | None = None

    @property
    def running(self) -> bool:
        return bool(self.services) and all(s.state == "running" for s in self.services)

    @property
    def healthy(self) -> bool:
        return self.running and all(s.health == "healthy" for s in self.services)


class Lab:
    """One lab (one Compose project) as seen from this machine."""

    def __init__(
        self,
        config: LabConfig | None = None,
        home: Path | None = None,
        *,
        behind_hub: bool = False,
    ) -> None:
        self.config = config or LabConfig.from_env()
        self.home = home or find_home()
        #: A learner's lab behind the workshop hub: nothing is published on the host, and
        #: the workstation waits for the hub's variables before it serves (see
        #: lab-workstation-init and labkit.hub.spawner).
        self.behind_hub = behind_hub
        self._engine: DockerEngine | None = None
        self._manager: DockerEngine | None = None

    # ---------------------------------------------------------------- plumbing
    @property
    def state_dir(self) -> Path:
        base = Path(os.environ.get("XDG_STATE_HOME", Path.home() / ".local" / "state"))
        return base / "labkit" / self.config.project

    @property
    def manager(self) -> DockerEngine:
        """The Docker daemon labkit is pointed at (``DOCKER_HOST``): where a Compose lab
        runs, and for a swarm seat the swarm's manager (services, networks, placement)."""
        if self._manager is None:
            self._require_host("drive Docker")
            self._manager = DockerEngine()
        return self._manager

    @property
    def engine(self) -> DockerEngine:
        """The daemon that runs this lab's containers (exec, logs, volumes): the
        manager's, or for a swarm seat on another node that node's own."""
        if self._engine is None:
            self._engine = self._seat_engine() if self.on_swarm else self.manager
        return self._engine

    def _seat_engine(self) -> DockerEngine:
        from labkit.lab import stack

        node = stack.seat_node(self.manager, self.config.project, kept=self._kept_node())
        return self.manager if node is None else stack.node_engine(self.manager, node)

    def _require_host(self, what: str) -> None:
        if in_workstation():
            raise LabStateError(
                f"You are inside the lab's workstation, which cannot {what}.",
                advice="Run this on your own machine (the host), where you ran `labkit up`. "
                "Inside the workstation you can use `labkit scenario`, `labkit reset`, "
                "`labkit probe` and `labkit doctor`.",
            )

    def compose(self, token: str | None = None) -> Compose:
        env = {"LABKIT_HOST_CA": images.host_ca_bundle(self.state_dir)}
        env["LABKIT_JUPYTER_TOKEN"] = token or self.token()
        base = os.environ.get("LABKIT_BASE_IMAGE")
        if base:
            env["LABKIT_BASE_IMAGE"] = base
        if self.behind_hub:
            env["LABKIT_PUBLIC_INTERNAL"] = "true"
            env["LABKIT_HUB_MODE"] = "1"
        return Compose(self.config, self.home, env)

    @property
    def on_swarm(self) -> bool:
        return self.config.engine == "swarm"

    def containers(self) -> dict[str, Container]:
        """This project's containers by service, running or not (one Docker listing).

        A seat on a swarm keeps its replaced tasks' containers for a while: the running
        one, else the newest, stands for the service. A lab asked for as a Compose
        project that has no container is looked for as a swarm seat too (a second
        listing), so ``labkit doctor`` with the seat's project just works."""
        found = self.engine.containers(project=self.config.project, stack=self.on_swarm)
        if not found and not self.on_swarm:
            found = self.engine.containers(project=self.config.project, stack=True)
            if found:
                self.config = replace(self.config, engine="swarm")
        return by_service(found)

    def _find_engine(self) -> None:
        """Before a command that differs by engine: a swarm seat asked for by its project
        alone is found as one (by the listing :meth:`containers` makes)."""
        if not self.on_swarm:
            self.containers()

    def _running(self, found: dict[str, Container], service: str) -> Container:
        c = found.get(service)
        if c is None or not c.running:
            raise LabNotRunningError(
                f"The lab's {service} container is not running"
                + (f" (project {self.config.project})." if c is None else f" ({c.state})."),
                advice="Start the lab with `labkit up`; `labkit status` shows what is running.",
            )
        return c

    def live_config(self, found: dict[str, Container] | None = None) -> LabConfig:
        """The configuration of the lab as it runs, which wins over the environment.

        A lab started with ``LABKIT_NET_PREFIX=...`` or ``--port`` must not get zone files
        rendered for another network because a later command was run without them.
        ``found`` is a listing already made (:meth:`containers`), to save another.
        """
        if in_workstation():
            return self.config
        found = self.containers() if found is None else found
        config = self.config
        mx = found.get("mx")
        # mx's cable address (P.195) lies in the lab's /24 like every lab address.
        address = mx.addresses.get(f"{self.config.project}_server", "") if mx else ""
        if address.count(".") == 3:
            config = replace(config, net_prefix=address.rsplit(".", 1)[0])
        published = found["workstation"].port(8888) if "workstation" in found else None
        if published is not None:
            config = replace(config, jupyter_port=published.host_port)
        return config

    def access(self, found: dict[str, Container] | None = None) -> LabAccess:
        """How to reach the lab's servers from here; ``found``: a listing just made."""
        if in_workstation():
            return workstation_access(self.config)
        found = self.containers() if found is None else found

        def transport(service: str) -> DockerTransport:
            return DockerTransport(self.engine, self._running(found, service), service=service)

        return LabAccess(
            self.live_config(found),
            transport("mx"),
            DockerZones(transport("dns")),
            "host",
            router=transport("router"),
            workstation=transport("workstation"),
        )

    def token(self) -> str:
        """This lab's JupyterLab token, made on first use (0600, never a default)."""
        return read_or_create_secret(self.state_dir / "jupyter-token")

    def url(self) -> str | None:
        """Where the learner opens JupyterLab: on this machine, or for a swarm seat on its
        node's address; None for a seat behind the hub (nothing published)."""
        if not self.on_swarm:
            return self._url(self.live_config())
        return self._on_node(self.containers())[1]

    def _url(self, config: LabConfig, host: str = "127.0.0.1") -> str:
        # The root redirects to the welcome notebook (JupyterLab default_url) after login.
        return f"http://{host}:{config.jupyter_port}/?token={self.token()}"

    # ---------------------------------------------------------------- images
    def image_builder(self) -> images.ImageBuilder:
        return images.ImageBuilder(self.engine, self.config, self.home, self.compose)

    def missing_images(self, *, outdated: bool = True) -> list[str]:
        """Services whose image is absent or (``outdated``) was built from other sources
        than these."""
        return self.image_builder().missing(outdated=outdated)

    def build(
        self,
        *,
        services: list[str] | None = None,
        say: Say = _quiet,
        on_line: Say = _quiet,
        no_cache: bool = False,
    ) -> float:
        """Build the lab's images (all, or the given services); return seconds taken."""
        return self.image_builder().build(
            services=services, say=say, on_line=on_line, no_cache=no_cache
        )

    # ---------------------------------------------------------------- up / down
    def _check_port(self) -> None:
        ws = self.containers().get("workstation")
        if ws is not None and ws.running:
            return  # our own JupyterLab holds the port
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind((self.config.bind, self.config.jupyter_port))
            except OSError:
                raise PortInUseError(
                    f"Port {self.config.jupyter_port} on {self.config.bind} is already in use, so "
                    "JupyterLab cannot be published there.",
                    advice=f"Stop what uses it (`ss -ltnp | grep :{self.config.jupyter_port}`)"
                    " or pick another port: `labkit up --port 8899` "
                    "(or LABKIT_JUPYTER_PORT=8899).",
                ) from None

    def up(
        self,
        scenario: str | None = None,
        *,
        say: Say = _quiet,
        on_line: Say = _quiet,
        build: bool = True,
        timeout: float = 180,
        started: Callable[[], None] | None = None,
    ) -> ApplyResult:
        """Build what is missing, start the lab, wait for health, apply the scenario.
        ``started`` runs once the containers exist, before the wait (the hub's spawner
        joins the lab's network there)."""
        if scenario is not None:
            load_scenario(self.home, scenario)  # unknown names fail before any work
        self._require_host("start the lab")
        require_compose()
        if not self.behind_hub and not self.on_swarm:
            self._check_port()
        # Without building, an image built from older sources still runs (the hub's
        # labs use what `labkit hub up` built); only an absent one stops us.
        missing = self.missing_images(outdated=build)
        if missing and build:
            say(f"building missing or outdated images: {', '.join(missing)}")
            self.build(services=missing, say=say, on_line=on_line)
        elif missing:
            raise LabStateError(
                f"Images missing: {', '.join(missing)}.", advice="Run `labkit build` first."
            )
        # A running lab keeps its network; a different prefix would need a new one.
        self.config = replace(self.config, net_prefix=self.live_config().net_prefix)
        self._drop_stale_networks(say)
        if self.on_swarm:
            self._deploy_stack(say, timeout)
        else:
            self._start_project(say, on_line)
        if started is not None:
            started()
        say("waiting until every service works")
        self.wait_ready(timeout=timeout)
        name = scenario or self.current().name or DEFAULT_SCENARIO
        say(f"applying scenario {name}")
        return self.apply(name)

    def _start_project(self, say: Say, on_line: Say) -> None:
        """Start this lab's containers as its Compose project."""
        say("starting containers")
        try:
            # Not `--wait`: that relies on Docker's healthchecks, which run at monitoring
            # pace only (see labkit.lab.readiness); labkit waits for readiness itself.
            self.compose().run(["up", "-d", "--no-build"], on_line=on_line, what="Starting the lab")
        except LabkitError as exc:
            if "overlap" in (exc.advice or ""):
                raise LabStateError(
                    f"The lab network {self.config.net_prefix}.0/24 overlaps a network that "
                    "already exists on this machine.",
                    advice="Pick another prefix, e.g. `LABKIT_NET_PREFIX=10.200.7 labkit up` "
                    "(`docker network ls` shows what is there).",
                ) from exc
            raise

    @property
    def _node_file(self) -> Path:
        """Where a swarm seat's node is kept: its learner's volumes are there."""
        return self.state_dir / "swarm-node"

    def _kept_node(self) -> str | None:
        return self._node_file.read_text().strip() if self._node_file.is_file() else None

    def _deploy_stack(self, say: Say, timeout: float) -> None:
        """Start this lab as a stack on the swarm (see :mod:`labkit.lab.stack`)."""
        from labkit.lab import stack

        stack.require_manager(self.manager)
        node = stack.place(stack.swarm_nodes(self.manager), keep=self._kept_node())
        self._engine = stack.node_engine(self.manager, node)  # before anything starts
        say(f"starting the seat on swarm node {node.hostname}")
        model = self.compose().model()
        seat = stack.seat_stack(
            model, project=self.config.project, node=node.id, publish=not self.behind_hub
        )
        stack.deploy(self.manager, seat)
        self._node_file.parent.mkdir(parents=True, exist_ok=True)
        self._node_file.write_text(node.id + "\n")
        say("waiting for the swarm to run its tasks")
        stack.wait_tasks(self.manager, self.config.project, images.SERVICES, timeout=timeout)

    def _drop_stale_networks(self, say: Say = _quiet) -> None:
        """Remove this project's networks that were made for another layout or prefix.

        Compose refuses to reuse a network whose subnet changed (an upgrade that moved
        the default prefix, or the single ``lab`` network of labs from before the
        router). The lab's own containers on it would be recreated by ``up`` anyway,
        so they are stopped first; volumes (the learner's work) stay.
        """
        expected: dict[str, str | None] = {"lab": None, **self.config.cables}
        driver = "overlay" if self.on_swarm else "bridge"
        for cable, subnet in expected.items():
            name = f"{self.config.project}_{cable}"
            net = self.manager.network(name)
            if net is None or (subnet in net.subnets and net.driver == driver):
                continue
            if net.containers:
                say(f"network {name} has an older layout: recreating the lab's containers")
                self.down(say=say)
            if self.manager.network(name) is not None:
                self.manager.remove_network(name)

    def check_service(
        self, service: str, found: dict[str, Container] | None = None
    ) -> ServiceCheck:
        """Run the service's own health check (``lab-health``) in its container, once."""
        c = (self.containers() if found is None else found).get(service)
        if c is None:
            return ServiceCheck(service, "missing", False, "no container")
        if not c.running:
            return ServiceCheck(service, c.state, False, f"the container is {c.state}")
        try:
            result = self.engine.exec(c, list(HEALTH_COMMAND), timeout=10)
        except LabkitError as exc:
            return ServiceCheck(service, "running", False, exc.message)
        return ServiceCheck(service, "running", result.ok, (result.stdout + result.stderr).strip())

    def _checked_by_docker_or_now(self, service: str, found: dict[str, Container]) -> ServiceCheck:
        """Docker's last verdict on a running container, else :meth:`check_service`."""
        c = found.get(service)
        if c is not None and c.running and c.health in ("healthy", "unhealthy"):
            said = "Docker's own health check (every two minutes)"
            return ServiceCheck(service, "running", c.health == "healthy", said)
        return self.check_service(service, found)

    def wait_ready(self, *, timeout: float = 180) -> ReadyReport:
        """Wait until every service passes its health check (done once by :meth:`up`)."""
        self._require_host("see Docker")
        # The workstation's init waits for mx's CA: no use checking it before mx works.
        after = {"workstation": ("mx",)}
        check = AnnouncedCheck(self.check_service, self._announced)
        return wait_ready(check, images.SERVICES, after=after, timeout=timeout)

    def _announced(self, service: str, wait: float) -> bool | None:
        """Whether ``service``'s container said it is ready (see :class:`AnnouncedCheck`);
        None when it is not running (its check then says why)."""
        c = self.containers().get(service)
        if c is None or not c.running:
            return None
        return self.engine.wait_for_output(c, ANNOUNCEMENT, timeout=wait)

    def down(self, *, volumes: bool = False, say: Say = _quiet) -> None:
        self._require_host("stop the lab")
        require_compose()
        say("stopping containers" + (" and removing volumes" if volumes else ""))
        self._find_engine()
        if self.on_swarm:
            from labkit.lab import stack

            stack.remove(self.manager, self.config.project, volumes=volumes, node=self.engine)
            return
        self.compose().run(
            ["down", "--remove-orphans", *(["--volumes"] if volumes else [])],
            what="Stopping the lab",
        )

    def status(self) -> LabStatus:
        """One listing, then one exec per container that has something to read, all at
        once: the scenario record (mx), the zones (dns) and the routes (workstation) are
        read with each container's health check riding along (:class:`HealthRider`).
        Their health is checked now, not read from Docker, which checks every two
        minutes: these are what learners change. The router, which only labkit
        changes, has nothing to read; Docker checks it every two minutes, and that
        verdict is used once there is one (a live check before that): a quicker pace
        for Docker would cost every idle seat 0.2 % of a core. On two cores each exec
        costs about 0.05 s, most of what status costs."""
        self._require_host("see Docker")
        found = self.containers()
        riders = {
            service: HealthRider(DockerTransport(self.engine, c, service=service), service)
            for service, c in found.items()
            if service in images.SERVICES and c.running
        }
        with ThreadPoolExecutor(max_workers=len(images.SERVICES) + 2) as pool:
            scenario_future = pool.submit(self._scenario_or_none, riders)
            network_future = pool.submit(self._network_or_none, riders)
            alone = {  # nothing else to read there: Docker's check, or one of our own
                s: pool.submit(self._checked_by_docker_or_now, s, found)
                for s in images.SERVICES
                if s not in ("mx", "dns", "workstation")
            }
            scenario = scenario_future.result()
            network = network_future.result()
            checks = {s: future.result() for s, future in alone.items()}
        for s in images.SERVICES:  # a read that did not happen carried no check
            if s not in checks:
                rider = riders.get(s)
                carried = rider.check if rider is not None else None
                checks[s] = carried or self.check_service(s, found)
        services = []
        for svc in images.SERVICES:
            c = found.get(svc)
            if c is None:
                services.append(ServiceStatus(svc, None, "missing", "none", None))
                continue
            health = checks[svc].health
            services.append(ServiceStatus(svc, c.name, c.state, health, c.image or None))
        running = any(s.state == "running" for s in services)
        node, url = None, None
        if self.on_swarm:
            node, url = self._on_node(found)
        elif running:
            url = self._url(self.live_config(found))
        return LabStatus(
            self.config.project, tuple(services), scenario, url if running else None, network, node
        )

    def _on_node(self, found: dict[str, Container]) -> tuple[str | None, str | None]:
        """A swarm seat's node (its host name) and, when its JupyterLab is published (a
        workshop seat, not one behind the hub), the URL on that node's address."""
        from labkit.lab import stack

        ids = sorted({c.node for c in found.values() if c.node})
        if not ids:
            return None, None
        node = stack.nodes_by_id(self.manager).get(ids[0])
        if node is None:
            return ids[0][:12], None
        ws = found.get("workstation")
        if not node.address or ws is None or ws.port(8888) is None:
            return node.hostname, None
        return node.hostname, self._url(self.live_config(found), host=node.address)

    def _network_or_none(self, riders: dict[str, HealthRider]) -> str | None:
        if "workstation" not in riders:
            return None
        try:
            return read_network(riders["workstation"]).name
        except LabkitError:
            return None

    def _scenario_or_none(self, riders: dict[str, HealthRider]) -> ScenarioState | None:
        if "mx" not in riders or "dns" not in riders:
            return None
        access = LabAccess(self.config, riders["mx"], DockerZones(riders["dns"]), "host")
        try:
            return read_scenario_state(access, known=scenario_names(self.home))
        except LabkitError:
            return None

    def logs(self, service: str | None = None, *, tail: int = 100, follow: bool = False) -> int:
        self._require_host("read container logs")
        if service is not None and service not in images.SERVICES:
            raise UsageError(
                f"Unknown service {service!r}.", advice="Services: " + ", ".join(images.SERVICES)
            )
        args = [
            "logs",
            "--tail",
            str(tail),
            *(["-f"] if follow else []),
            *([service] if service else []),
        ]
        self._find_engine()
        if self.on_swarm:
            options = ["--tail", str(tail), *(["-f"] if follow else [])]
            return self._service_logs([service] if service else list(images.SERVICES), options)
        return self.compose().call(args)

    def _service_logs(self, services: list[str], options: list[str]) -> int:
        """A swarm seat's logs: the manager gathers them from whichever node runs each
        task (``docker service logs``), all services at once when following."""
        argv = [
            ["docker", "service", "logs", *options, f"{self.config.project}_{s}"] for s in services
        ]
        try:
            running = [subprocess.Popen(a) for a in argv]
        except OSError as exc:
            raise translate(exc, "run docker service logs") from exc
        return max(p.wait() for p in running)

    def shell(self, service: str = "workstation") -> int:
        """An interactive login shell in a lab container (learner on the workstation)."""
        self._require_host("open a shell in another container")
        if service not in images.SERVICES:
            raise UsageError(
                f"Unknown service {service!r}.", advice="Services: " + ", ".join(images.SERVICES)
            )
        container = self._running(self.containers(), service)
        learner = service == "workstation"
        return self.engine.interactive(
            container,
            ["bash", "-l"],
            user="learner" if learner else None,
            workdir="/home/learner" if learner else None,
        )

    # ---------------------------------------------------------------- scenarios
    def scenarios(self) -> list[Scenario]:
        return list_scenarios(self.home)

    def render(self, name: str, config: LabConfig | None = None) -> RenderedScenario:
        return render(self.home, load_scenario(self.home, name), config or self.config)

    def apply(self, name: str, *, access: LabAccess | None = None) -> ApplyResult:
        """Put the lab into scenario ``name``: full Postfix and DNS state, then verify."""
        load_scenario(self.home, name)  # an unknown name fails before touching the lab
        access = access or self.access()
        return apply_rendered(access, self.render(name, access.config))

    def ensure(self, name: str, *, discard_edits: bool = False) -> ScenarioSwitch:
        """Put the lab into scenario ``name`` unless it already is, or unless that would
        throw away a learner's edits to another scenario (notebooks' setup cells).

        Already in ``name``, edited or not: kept (running a notebook again must never
        throw away a fix the learner is working on; ``labkit reset`` starts over).
        In another scenario with edits: blocked, unless ``discard_edits``.
        """
        scenario = load_scenario(self.home, name)
        access = self.access()
        previous = read_scenario_state(access, known=scenario_names(self.home))
        if previous.name == name:
            return ScenarioSwitch(name, scenario.title, "kept", previous)
        if previous.modified and not discard_edits:
            return ScenarioSwitch(name, scenario.title, "blocked", previous)
        applied = self.apply(name, access=access)
        return ScenarioSwitch(name, scenario.title, "applied", previous, applied)

    def reset(self) -> ApplyResult:
        """Back to the current scenario's pristine state, undoing a learner's edits.

        The path is repaired too: a stopped router is started again, and a missing or
        foreign default route on the laptop (a learner's experiment) is put back on the
        café's Wi-Fi; otherwise the laptop keeps the network it is on.
        """
        self._revive_router()
        current = self.current()
        if current.name is None and current.problem:
            raise LabStateError(
                f"The scenario record was edited by hand: {current.problem}, so labkit "
                "cannot tell which scenario to restore.",
                advice="Put the lab in a scenario by name: `labkit scenario apply blog` "
                "(`labkit scenario list` shows them all); that rewrites the record.",
            )
        if current.name is None:
            raise LabStateError(
                "The lab has no scenario applied yet.",
                advice="Apply one: `labkit scenario apply blog`.",
            )
        access = self.access()
        result = self.apply(current.name, access=access)
        if access.workstation is None:
            return result
        state = read_network(access.workstation)
        if not state.usable:
            state = use_network(access.workstation, "cafe", sudo=access.needs_sudo)
        return replace(result, network=state.name)

    # ---------------------------------------------------------------- the network path
    def _revive_router(self, timeout: float = 20.0) -> None:
        """Start the router again if someone stopped it (only the host can)."""
        if in_workstation():
            return
        router = self.containers().get("router")
        if router is None or router.running:
            return
        self.engine.start(router)
        started = time.monotonic()
        while not self.check_service("router").ready:
            if time.monotonic() - started > timeout:
                raise LabStateError(
                    "The router was restarted but did not come up.",
                    advice="Look at `labkit logs router`; `labkit up` recreates it.",
                )
            time.sleep(0.1)

    def network(self, found: dict[str, Container] | None = None) -> NetworkState:
        """Which network the laptop uses now (read from its routing table)."""
        access = self.access(found)
        if access.workstation is None:
            raise LabStateError("This lab has no workstation to ask.")
        return read_network(access.workstation)

    def use_network(self, name: str) -> NetworkState:
        """Switch the laptop to ``name`` (cafe or hotspot)."""
        if name not in NETWORKS:
            raise UnknownNetworkError(name)
        access = self.access()
        if access.workstation is None:
            raise LabStateError("This lab has no workstation to switch.")
        return use_network(access.workstation, name, sudo=access.needs_sudo)

    def path_log(self, lines: int = 50) -> str:
        """The router's SMTP inspector log: what it masked and dropped, newest last."""
        access = self.access()
        if access.router is None:
            raise LabStateError("This lab has no router.")
        result = access.router.run(["lab-path", "log", str(int(lines))], timeout=15)
        if not result.ok:
            raise LabStateError(
                f"Cannot read the router's log: {(result.stderr or result.stdout).strip()}",
                advice="Is the router running? `labkit status` on the host shows it.",
            )
        return result.stdout

    def current(self) -> ScenarioState:
        return read_scenario_state(self.access(), known=scenario_names(self.home))
