"""Workshops: one lab per participant on a shared machine, and an instructor's view.

Each seat is an ordinary lab (its own Compose project ``labkit-seat<N>``, its own
internal /24 ``10.126.<N>.0/24`` and JupyterLab port ``first_port + N - 1``), so
everything that works for one lab, including ``labkit reset``, works per seat. The
images are built once and shared, and seats start side by side, one per CPU core at a
time. :meth:`Workshop.status` gathers every seat's health, scenario and points, which is
what an instructor walking the room wants to see. An idle seat costs next to no CPU:
its services are checked when it starts and when someone asks (see
:mod:`labkit.lab.readiness`), not every two seconds.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from labkit.errors import LabkitError, UsageError
from labkit.lab.config import LabConfig, find_home
from labkit.lab.engine import WORKSTATION_LABKIT, by_project_and_service
from labkit.lab.lifecycle import Lab
from labkit.lab.scenarios import load_scenario

__all__ = ["SEAT_NET", "SEAT_PREFIX", "SeatStatus", "Workshop", "seat_config"]

SEAT_PREFIX = "labkit-seat"
SEAT_NET = "10.126"
MAX_SEATS = 200


def _cores() -> int:
    return os.cpu_count() or 2


def seat_config(
    number: int,
    first_port: int = 8901,
    bind: str = "127.0.0.1",
    *,
    prefix: str = SEAT_PREFIX,
    net: str = SEAT_NET,
    engine: str = "compose",
) -> LabConfig:
    if not 1 <= number <= MAX_SEATS:
        raise UsageError(
            f"Seat {number} is out of range.", advice=f"A workshop has 1 to {MAX_SEATS} seats."
        )
    config = LabConfig(
        project=f"{prefix}{number}",
        net_prefix=f"{net}.{number}",
        jupyter_port=first_port + number - 1,
        bind=bind,
        engine=engine,
    )
    config.validate()
    return config


@dataclass(frozen=True)
class SeatStatus:
    seat: int
    project: str
    healthy: bool
    scenario: str | None
    edited: bool
    url: str | None
    earned: float
    possible: float
    error: str | None = None
    #: Checks clicked in all (questions and live tasks): how hard the seat is working.
    tries: int = 0


class Workshop:
    """All seats whose project is ``<prefix><N>``, on the /24s ``<net>.<N>.0/24``."""

    def __init__(
        self,
        home: Path | None = None,
        *,
        host: str = "127.0.0.1",
        prefix: str = SEAT_PREFIX,
        net: str = SEAT_NET,
    ) -> None:
        self.home = home
        self.host = host
        self.prefix = prefix
        self.net = net
        self._seat = re.compile(rf"^{re.escape(prefix)}(\d+)$")

    def _lab(self, config: LabConfig) -> Lab:
        return Lab(config, self.home)

    def up(
        self,
        seats: int,
        *,
        first_port: int = 8901,
        bind: str = "127.0.0.1",
        scenario: str | None = None,
        parallel: int | None = None,
        engine: str = "compose",
        say: Callable[[str], None] = lambda _: None,
    ) -> list[SeatStatus]:
        """Start ``seats`` labs, ``parallel`` at a time (default: one per CPU core); with
        ``engine="swarm"`` as stacks on the swarm this machine manages, each seat on one
        node, its JupyterLab published there on every address (so ``bind`` must say
        0.0.0.0).

        A seat that fails to start does not stop the others; its row in the returned
        status carries the error.
        """
        if not 1 <= seats <= MAX_SEATS:
            raise UsageError(
                f"{seats} seats is not possible.", advice=f"Use --seats between 1 and {MAX_SEATS}."
            )
        configs = [
            seat_config(n, first_port, bind, prefix=self.prefix, net=self.net, engine=engine)
            for n in range(1, seats + 1)
        ]
        first = self._lab(configs[0])
        if engine == "swarm":
            from labkit.lab import stack

            if bind != "0.0.0.0":
                raise UsageError(
                    "On a swarm, each seat's JupyterLab is published on every address of its "
                    "node (a swarm cannot publish on one address).",
                    advice="Say so with --bind 0.0.0.0 (JupyterLab keeps its token), or run "
                    "the seats behind the hub: `labkit hub up --engine swarm`.",
                )
            stack.require_manager(first.manager)
        if scenario is not None:
            load_scenario(first.home, scenario)  # unknown names fail before any work
        if first.missing_images():
            say("building images (once for every seat)")
            first.build(say=say)
        failed: dict[str, str] = {}

        def start(config: LabConfig) -> None:
            say(f"starting {config.project} on port {config.jupyter_port}")
            lab = self._lab(config)
            try:
                lab.up(scenario, build=False)
            except LabkitError as exc:
                failed[config.project] = exc.message
                say(f"{config.project} failed: {exc.message}")
                try:  # nothing half-started stays behind (its volumes are kept)
                    lab.down()
                except LabkitError as cleanup:
                    say(f"{config.project}: could not remove what started: {cleanup.message}")
            else:
                say(f"{config.project} is ready")

        # Side by side, one seat per core at a time: starting a seat is mostly the CPU
        # work of booting its services, so more at once only makes each one slower.
        with ThreadPoolExecutor(max_workers=max(1, min(parallel or _cores(), seats))) as pool:
            list(pool.map(start, configs))
        rows = {s.project: s for s in self.status()}
        for number, config in enumerate(configs, start=1):
            if config.project in failed:  # shown, with why, even though it was removed
                rows[config.project] = SeatStatus(
                    number,
                    config.project,
                    False,
                    None,
                    False,
                    None,
                    0.0,
                    0.0,
                    failed[config.project],
                )
        return sorted(rows.values(), key=lambda s: s.seat)

    def seats(self) -> list[LabConfig]:
        """The seats that exist now, rebuilt from their workstation containers (Compose's,
        and the tasks of seats on a swarm)."""
        first = Lab(LabConfig(), self.home)
        found: dict[int, LabConfig] = {}
        # A swarm seat keeps its replaced tasks' containers for a while: the one in use.
        tasks = by_project_and_service(first.manager.containers(stack=True))
        listed = [(c, "compose") for c in first.manager.containers(service="workstation")] + [
            (per_service["workstation"], "swarm")
            for per_service in tasks.values()
            if "workstation" in per_service
        ]
        for c, engine in listed:
            m = self._seat.match(c.project)
            if not m:
                continue
            # Its cable on the cafe network (P.211) lies in the seat's /24.
            address = c.addresses.get(f"{c.project}_cafe", "")
            published = c.port(8888)
            found[int(m.group(1))] = LabConfig(
                m.group(0),
                address.rsplit(".", 1)[0],
                published.host_port if published else 0,
                bind=(published.host_ip if published else "") or "127.0.0.1",
                engine=engine,
            )
        return [found[n] for n in sorted(found)]

    def status(self) -> list[SeatStatus]:
        configs = self.seats()
        with ThreadPoolExecutor(max_workers=8) as pool:
            return list(pool.map(self._seat_status, configs))

    def _seat_status(self, config: LabConfig) -> SeatStatus:
        number = int(self._seat.match(config.project).group(1))  # type: ignore[union-attr]
        lab = self._lab(config)
        try:
            st = lab.status()
            url = (
                f"http://{self.host}:{config.jupyter_port}/?token={lab.token()}"
                if st.running
                else None
            )
            if lab.on_swarm:
                url = st.url  # on its node's address
            earned, possible, tries = self._points(lab) if st.running else (0.0, 0.0, 0)
            scenario = st.scenario
            return SeatStatus(
                number,
                config.project,
                st.healthy,
                scenario.name if scenario else None,
                bool(scenario and scenario.modified),
                url,
                earned,
                possible,
                tries=tries,
            )
        except LabkitError as exc:
            return SeatStatus(
                number, config.project, False, None, False, None, 0.0, 0.0, exc.message
            )

    def _points(self, lab: Lab) -> tuple[float, float, int]:
        ws = lab.containers().get("workstation")
        if ws is None or not ws.running:
            return 0.0, 0.0, 0
        result = lab.engine.exec(ws, [WORKSTATION_LABKIT, "progress", "--json"], user="learner")
        try:
            data = json.loads(result.stdout or "{}")
        except ValueError:
            return 0.0, 0.0, 0
        notebooks = data.get("notebooks", [])
        return (
            float(sum(n.get("earned", 0) for n in notebooks)),
            float(sum(n.get("possible", 0) for n in notebooks)),
            int(sum(n.get("tries", 0) for n in notebooks)),
        )

    def apply(self, scenario: str) -> list[str]:
        """Put every seat into ``scenario`` (e.g. before an exercise everyone does)."""
        load_scenario(find_home(), scenario)  # unknown names fail before any work
        configs = self.seats()
        with ThreadPoolExecutor(max_workers=_cores()) as pool:
            list(pool.map(lambda config: self._lab(config).apply(scenario), configs))
        return [config.project for config in configs]

    def down(
        self, *, volumes: bool = False, say: Callable[[str], None] = lambda _: None
    ) -> list[str]:
        configs = self.seats()

        def stop(config: LabConfig) -> None:
            say(f"stopping {config.project}")
            self._lab(config).down(volumes=volumes)

        with ThreadPoolExecutor(max_workers=_cores()) as pool:
            list(pool.map(stop, configs))
        return [config.project for config in configs]
