"""The lab's lifecycle: build, up, down, status, scenarios, reset, logs.

:class:`Lab` is the Python API behind ``labkit up|down|status|scenario|reset|logs``.
Long steps report progress through a ``say`` callback (the CLI shows it with rich);
nothing here prints.
"""

from __future__ import annotations

import json
import os
import re
import socket
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from labkit.errors import (
    BuildError,
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
    compose_output_failing_step,
    require_compose,
)
from labkit.lab.readiness import HEALTH_COMMAND, ReadyReport, ServiceCheck, wait_ready
from labkit.lab.scenarios import (
    INET_SERVICES,
    SCENARIO_RECORD,
    RenderedScenario,
    Scenario,
    content_hash,
    list_scenarios,
    load_scenario,
    render,
    scenario_names,
)
from labkit.lab.secretfile import read_or_create_secret
from labkit.lab.tarball import tar_files
from labkit.transport import parse_ss_listening

__all__ = ["ApplyResult", "Lab", "LabStatus", "ScenarioState", "ServiceStatus"]

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
class ScenarioState:
    """Which scenario the lab was last put in, and which of its files were edited since."""

    name: str | None
    applied_at: str | None
    modified: tuple[str, ...] = ()
    #: Set when the record itself was edited by hand: what is wrong with it.
    problem: str | None = None

    @property
    def pristine(self) -> bool:
        return self.name is not None and not self.modified and self.problem is None


@dataclass(frozen=True)
class LabStatus:
    project: str
    services: tuple[ServiceStatus, ...]
    scenario: ScenarioState | None
    url: str | None

    @property
    def running(self) -> bool:
        return bool(self.services) and all(s.state == "running" for s in self.services)

    @property
    def healthy(self) -> bool:
        return self.running and all(s.health == "healthy" for s in self.services)


@dataclass(frozen=True)
class ApplyResult:
    scenario: str
    elapsed: float
    steps: dict[str, float] = field(default_factory=dict)
    ports: tuple[int, ...] = ()
    messages: tuple[str, ...] = ()


class Lab:
    """One lab (one Compose project) as seen from this machine."""

    def __init__(self, config: LabConfig | None = None, home: Path | None = None) -> None:
        self.config = config or LabConfig.from_env()
        self.home = home or find_home()
        self._engine: DockerEngine | None = None

    # ---------------------------------------------------------------- plumbing
    @property
    def state_dir(self) -> Path:
        base = Path(os.environ.get("XDG_STATE_HOME", Path.home() / ".local" / "state"))
        return base / "labkit" / self.config.project

    @property
    def engine(self) -> DockerEngine:
        if self._engine is None:
            self._require_host("drive Docker")
            self._engine = DockerEngine()
        return self._engine

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
        return Compose(self.config, self.home, env)

    def containers(self) -> dict[str, Container]:
        """This project's containers by service, running or not (one Docker listing)."""
        return {c.service: c for c in self.engine.containers(project=self.config.project)}

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
        address = mx.addresses.get(f"{self.config.project}_lab", "") if mx else ""
        if address.count(".") == 3:
            config = replace(config, net_prefix=address.rsplit(".", 1)[0])
        published = found["workstation"].port(8888) if "workstation" in found else None
        if published is not None:
            config = replace(config, jupyter_port=published.host_port)
        return config

    def access(self) -> LabAccess:
        if in_workstation():
            return workstation_access(self.config)
        found = self.containers()
        mx = DockerTransport(self.engine, self._running(found, "mx"), service="mx")
        dns = DockerTransport(self.engine, self._running(found, "dns"), service="dns")
        return LabAccess(self.live_config(found), mx, DockerZones(dns), "host")

    def token(self) -> str:
        """This lab's JupyterLab token, made on first use (0600, never a default)."""
        return read_or_create_secret(self.state_dir / "jupyter-token")

    def url(self) -> str:
        return self._url(self.live_config())

    def _url(self, config: LabConfig) -> str:
        # The root redirects to the welcome notebook (JupyterLab default_url) after login.
        return f"http://127.0.0.1:{config.jupyter_port}/?token={self.token()}"

    # ---------------------------------------------------------------- build
    def missing_images(self) -> list[str]:
        """Services whose image is absent or was built from other sources than these."""
        missing = []
        for svc in images.SERVICES:
            labels = self.engine.image_labels(f"labkit/{svc}:{self.config.image_tag}")
            if labels is None or labels.get("org.labkit.source-digest") != images.source_digest(
                self.home, svc
            ):
                missing.append(svc)
        return missing

    def build(
        self,
        *,
        services: list[str] | None = None,
        say: Say = _quiet,
        on_line: Say = _quiet,
        no_cache: bool = False,
    ) -> float:
        """Build the lab's images (all, or the given services); return seconds taken."""
        unknown = [s for s in services or [] if s not in images.SERVICES]
        if unknown:
            raise UsageError(
                f"Unknown service {unknown[0]!r}.", advice="Services: " + ", ".join(images.SERVICES)
            )
        require_compose()
        started = time.monotonic()
        base = images.resolve_base_image(self.engine, say)
        say(f"building images on {base}")
        compose = self.compose()
        compose.extra_env["LABKIT_BASE_IMAGE"] = base
        # One compose run per service: each image carries the digest of its own sources.
        for svc in services or list(images.SERVICES):
            compose.extra_env["LABKIT_SOURCE_DIGEST"] = images.source_digest(self.home, svc)
            args = ["build", *(["--no-cache"] if no_cache else []), svc]
            say(f"building {svc}")
            try:
                compose.run(args, on_line=on_line, error=BuildError, what="The image build")
            except BuildError as exc:
                step = compose_output_failing_step(exc.advice or "")
                if step:
                    exc.message = f"The image build failed at: {step}"
                raise
        return time.monotonic() - started

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
    ) -> ApplyResult:
        """Build what is missing, start the lab, wait for health, apply the scenario."""
        if scenario is not None:
            load_scenario(self.home, scenario)  # unknown names fail before any work
        self._require_host("start the lab")
        require_compose()
        self._check_port()
        missing = self.missing_images()
        if missing and build:
            say(f"building missing or outdated images: {', '.join(missing)}")
            self.build(services=missing, say=say, on_line=on_line)
        elif missing:
            raise LabStateError(
                f"Images missing: {', '.join(missing)}.", advice="Run `labkit build` first."
            )
        # A running lab keeps its network; a different prefix would need a new one.
        self.config = replace(self.config, net_prefix=self.live_config().net_prefix)
        self._drop_stale_network()
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
        say("waiting until every service works")
        self.wait_ready(timeout=timeout)
        name = scenario or self.current().name or DEFAULT_SCENARIO
        say(f"applying scenario {name}")
        return self.apply(name)

    def _drop_stale_network(self) -> None:
        """Remove this project's lab network if it was made for another prefix and is idle.

        Compose refuses to reuse a network whose subnet changed (for instance after
        an upgrade moved the default prefix); an idle one can simply be made anew.
        """
        name = f"{self.config.project}_lab"
        net = self.engine.network(name)
        if net is None or f"{self.config.net_prefix}.0/24" in net.subnets:
            return
        if net.containers:
            raise LabStateError(
                f"The lab network {name} still serves containers on "
                f"{', '.join(sorted(net.subnets))}.",
                advice="Stop the lab first with `labkit down`, then `labkit up` again.",
            )
        self.engine.remove_network(name)

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

    def wait_ready(self, *, timeout: float = 180) -> ReadyReport:
        """Wait until every service passes its health check (done once by :meth:`up`)."""
        self._require_host("see Docker")
        # The workstation's init waits for mx's CA: no use checking it before mx works.
        after = {"workstation": ("mx",)}
        return wait_ready(self.check_service, images.SERVICES, after=after, timeout=timeout)

    def down(self, *, volumes: bool = False, say: Say = _quiet) -> None:
        self._require_host("stop the lab")
        require_compose()
        say("stopping containers" + (" and removing volumes" if volumes else ""))
        self.compose().run(
            ["down", "--remove-orphans", *(["--volumes"] if volumes else [])],
            what="Stopping the lab",
        )

    def status(self) -> LabStatus:
        """One listing, then every service's health check and the scenario state, all at
        once (health is checked now, not read from Docker, which checks every two
        minutes)."""
        self._require_host("see Docker")
        found = self.containers()
        with ThreadPoolExecutor(max_workers=len(images.SERVICES) + 1) as pool:
            scenario_future = pool.submit(self._scenario_or_none, found)
            checks = list(pool.map(lambda s: self.check_service(s, found), images.SERVICES))
            scenario = scenario_future.result()
        services = []
        for svc, check in zip(images.SERVICES, checks, strict=True):
            c = found.get(svc)
            if c is None:
                services.append(ServiceStatus(svc, None, "missing", "none", None))
                continue
            services.append(ServiceStatus(svc, c.name, c.state, check.health, c.image or None))
        running = any(s.state == "running" for s in services)
        url = self._url(self.live_config(found)) if running else None
        return LabStatus(self.config.project, tuple(services), scenario, url)

    def _scenario_or_none(self, found: dict[str, Container]) -> ScenarioState | None:
        if not all(s in found and found[s].running for s in ("mx", "dns")):
            return None
        try:
            return self._current(found)
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
        return self.compose().call(args)

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

    def ensure(self, name: str) -> ApplyResult | None:
        """Apply ``name`` unless the lab is already in it (notebooks call this).

        Returns None when the lab already is in that scenario, edited or not: running a
        notebook again must never throw away a fix the learner is working on. To start
        over, the learner runs ``labkit reset``.
        """
        if self.current().name == name:
            return None
        return self.apply(name)

    def reset(self) -> ApplyResult:
        """Back to the current scenario's pristine state, undoing a learner's edits."""
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
        return self.apply(current.name)

    def current(self) -> ScenarioState:
        return read_scenario_state(self.access(), known=scenario_names(self.home))

    def _current(self, found: dict[str, Container]) -> ScenarioState:
        mx = DockerTransport(self.engine, self._running(found, "mx"), service="mx")
        dns = DockerTransport(self.engine, self._running(found, "dns"), service="dns")
        return read_scenario_state(LabAccess(self.config, mx, DockerZones(dns), "host"))


def apply_rendered(access: LabAccess, rendered: RenderedScenario) -> ApplyResult:
    started = time.monotonic()
    steps: dict[str, float] = {}
    scenario = rendered.scenario
    record = {
        "scenario": scenario.name,
        "applied_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "serial": rendered.serial,
        "hashes": dict(rendered.hashes),
    }
    files = dict(rendered.postfix_files)
    files[SCENARIO_RECORD] = json.dumps(record, indent=2) + "\n"
    result = access.mx.run(
        ["sh", "-c", "tar -x -o -C / -f - && /usr/local/sbin/lab-apply"],
        # Backdated: Postfix waits ~2 s before reading a config file modified within the
        # last second or two, which would make every scenario switch that slow.
        input=tar_files(files, backdate=10),
        timeout=30,
    )
    if not result.ok:
        raise LabStateError(
            f"Postfix rejected scenario {scenario.name} (exit {result.exit_code}).",
            advice=(result.stdout + result.stderr).strip()[-600:] or "See /var/log/mail.log on mx.",
        )
    steps["postfix"] = time.monotonic() - started

    t = time.monotonic()
    access.zones.write(dict(rendered.zone_files))
    access.wait_serial(rendered.serial)
    steps["dns"] = time.monotonic() - t

    t = time.monotonic()
    ports = wait_listeners(access, scenario.expect_ports)
    steps["listeners"] = time.monotonic() - t
    messages = tuple(ln for ln in result.stdout.splitlines() if ln.strip())
    return ApplyResult(scenario.name, time.monotonic() - started, steps, ports, messages)


def listening_ports(access: LabAccess) -> set[int]:
    return {sock.port for sock in parse_ss_listening(access.mx.run(["ss", "-ltnH"]).stdout)}


def wait_listeners(
    access: LabAccess, expect: tuple[int, ...], timeout: float = 10.0
) -> tuple[int, ...]:
    """Wait until exactly the expected SMTP ports listen (master reloads asynchronously)."""
    smtp_ports = set(INET_SERVICES.values())
    started = time.monotonic()
    while True:
        now = listening_ports(access) & smtp_ports
        if now == set(expect):
            return tuple(sorted(now))
        if time.monotonic() - started > timeout:
            raise LabStateError(
                f"After applying the scenario, Postfix listens on {sorted(now)} instead of "
                f"{sorted(expect)}.",
                advice="Look at `labkit logs mx` and /var/log/mail.log on mx.",
            )
        time.sleep(0.05)


#: The record lists the files a scenario writes; more than this was not written by labkit.
MAX_RECORDED_FILES = 64
_RECORD_NAME = "labkit-scenario.json"
_ZONE_FILE_RE = re.compile(r"zones/[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_POSTFIX_FILE_RE = re.compile(r"/etc/postfix/[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def _edited(why: str) -> ScenarioState:
    """A scenario record the learner changed by hand (they are root on mx)."""
    return ScenarioState(None, None, (_RECORD_NAME,), problem=f"{SCENARIO_RECORD} {why}")


def read_scenario_state(access: LabAccess, known: Iterable[str] | None = None) -> ScenarioState:
    """Which scenario the record on mx names, and which of its files changed since.

    The learner is root on mx, so the record is read like any untrusted input: bad
    JSON, a wrong shape, an unknown scenario name (``known``) or a file list that is
    not labkit's gives a state whose ``problem`` says it was edited by hand, never an
    exception. Only files a scenario can write are read back.
    """
    record_raw = access.mx.run(["head", "-c", "65536", SCENARIO_RECORD])
    if not record_raw.ok:
        return ScenarioState(None, None)
    try:
        record = json.loads(record_raw.stdout)
    except (ValueError, RecursionError):
        return _edited("is not valid JSON")
    if not isinstance(record, dict):
        return _edited("is not a JSON object")
    name = record.get("scenario")
    if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,63}", name):
        return _edited("does not name a scenario")
    if known is not None and name not in set(known):
        return _edited(f"names {name!r}, which is not a scenario")
    applied_at = record.get("applied_at")
    hashes = record.get("hashes", {})
    if (
        not isinstance(hashes, dict)
        or len(hashes) > MAX_RECORDED_FILES
        or not all(
            isinstance(path, str)
            and isinstance(digest, str)
            and (_ZONE_FILE_RE.fullmatch(path) or _POSTFIX_FILE_RE.fullmatch(path))
            for path, digest in hashes.items()
        )
    ):
        return ScenarioState(
            name,
            None,
            (_RECORD_NAME,),
            problem=f"{SCENARIO_RECORD} has a file list labkit did not write",
        )
    modified = []
    for path, expected in hashes.items():
        if path.startswith("zones/"):
            text = access.zones.read(path.split("/", 1)[1])
        else:
            got = access.mx.run(["cat", path])
            text = got.stdout if got.ok else None
        if text is None or content_hash(path, text) != expected:
            modified.append(path)
    return ScenarioState(name, applied_at if isinstance(applied_at, str) else None, tuple(modified))


__all__ += ["scenario_names"]
