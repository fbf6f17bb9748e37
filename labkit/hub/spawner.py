"""The hub's spawner: a learner's server is the workstation of their own, full lab.

JupyterHub calls :class:`LabSpawner` when a learner logs in. It is DockerSpawner (its
Docker client, its state kept in the hub's database, its ``poll`` of one container),
but what it starts is not one container: it drives labkit's own lab API
(:class:`labkit.lab.lifecycle.Lab`) to bring up the learner's lab (mx, dns, router,
workstation, their networks and volumes) as the Compose project named after them
(:func:`labkit.hub.seats.learner_lab`), with the hub's variables for this server in
hub mode: the workstation prepares the laptop and then waits, at no cost, for the hub's
variables for this learner's server, which the spawner hands over (``docker exec``,
:data:`labkit.hub.seats.HAND_OVER`); then it runs ``jupyterhub-singleuser`` instead of
a token-protected JupyterLab. A warm lab (:mod:`labkit.hub.warm`) is one that waits
already, so its login only costs the hand-over and the server's start. The hub joins
the lab's publishing network (internal: nothing reaches the host or beyond through it)
at a fixed address (:func:`labkit.hub.seats.hub_address`), where the learner's server
finds the hub's API and the hub's proxy finds the learner's server.

Stopping (logout of the server, the idle culler) stops the lab and keeps its volumes:
notebooks and progress are there again at the next login, after a hub restart too.

This module runs inside the hub image (``lab/images/hub``), which has JupyterHub and
DockerSpawner; the judgement it needs (which lab, which addresses, which variables) is
in :mod:`labkit.hub.seats`, tested without either.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
from pathlib import Path
from typing import Any

from dockerspawner import DockerSpawner
from traitlets import Integer, Unicode, default

from labkit.errors import LabkitError, LabStateError
from labkit.hub.seats import HAND_OVER, HUB_API_PORT, hub_address, seat_env_text, seat_from_settings
from labkit.lab.lifecycle import Lab

__all__ = ["LabSpawner"]

#: Labs that start at the same time, hub-wide (a login storm waits its turn).
_STARTING: asyncio.Semaphore | None = None


def _starting(limit: int) -> asyncio.Semaphore:
    global _STARTING
    if _STARTING is None:
        _STARTING = asyncio.Semaphore(limit)
    return _STARTING


class LabSpawner(DockerSpawner):
    """Each learner's server is the workstation of their own lab."""

    settings_file = Unicode(
        os.environ.get("LABKIT_HUB_SETTINGS", "/srv/hub/settings.json"),
        help="The settings labkit wrote (roster, seats, scenario).",
    ).tag(config=True)
    parallel_starts = Integer(
        max(1, os.cpu_count() or 1), help="Labs that may start from cold at the same time."
    ).tag(config=True)

    @default("object_name")
    def _object_name_default(self) -> str:
        """The learner's workstation: the container whose life is the server's."""
        return f"{self._lab().config.project}-workstation-1"

    def _settings(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(Path(self.settings_file).read_text())
        return data

    def _lab(self) -> Lab:
        return Lab(seat_from_settings(self._settings(), self.user.name), behind_hub=True)

    def _hub_container(self) -> str:
        """This hub's own container (its hostname is the container's short id)."""
        return socket.gethostname()

    def _join(self, lab: Lab) -> None:
        """Put the hub on the lab's publishing network, where the server will call it."""
        network = f"{lab.config.project}_public"
        lab.manager.connect(network, self._hub_container(), address=hub_address(lab.config))

    def _waiting(self, lab: Lab) -> bool:
        """Is the lab up, healthy, and its workstation waiting for the hub (warm)?"""
        found = lab.containers()
        if not all(s in found and found[s].running for s in ("mx", "dns", "router", "workstation")):
            return False
        check = lab.check_service("workstation", found)
        return check.ready and "waiting" in check.detail

    def _cold_start(self, lab: Lab, scenario: str) -> None:
        try:
            lab.up(scenario, build=False, started=lambda: self._join(lab), timeout=240)
        except LabkitError as exc:
            # Nothing half-started stays behind (the volumes, the learner's work, do).
            self.log.error("%s's lab did not start: %s", self.user.name, exc.describe())
            try:
                lab.manager.disconnect(f"{lab.config.project}_public", self._hub_container())
                lab.down(volumes=False)
            except LabkitError as cleanup:
                self.log.error("and could not be removed: %s", cleanup.message)
            raise

    def _hand_over(self, lab: Lab, env: dict[str, str]) -> tuple[str, int]:
        workstation = lab.containers()["workstation"]
        result = lab.engine.exec(
            workstation,
            ["sh", "-c", HAND_OVER],
            input=seat_env_text(env, self.user.name).encode(),
            timeout=20,
        )
        if not result.ok:
            raise LabStateError(
                f"{self.user.name}'s workstation did not take the hub's variables: "
                f"{(result.stdout + result.stderr).strip()}",
                advice="`labkit hub status` shows the learners' labs; stop this one's server "
                "from the hub's admin page and start it again.",
            )
        self.object_id = workstation.id
        self.object_name = workstation.name
        return lab.engine.addresses(workstation.id)[f"{lab.config.project}_public"], 8888

    async def start(self) -> tuple[str, int]:
        lab = self._lab()
        env = self.get_env()
        scenario = self._settings().get("scenario", "blog")
        if await asyncio.to_thread(self._waiting, lab):
            self.log.info("%s's lab is warm", self.user.name)
            await asyncio.to_thread(self._join, lab)
        else:
            async with _starting(self.parallel_starts):
                self.log.info("starting the lab %s for %s", lab.config.project, self.user.name)
                await asyncio.to_thread(self._cold_start, lab, scenario)
        ip, port = await asyncio.to_thread(self._hand_over, lab, env)
        await self._until_listening(ip, port)
        return ip, port

    async def _until_listening(self, ip: str, port: int, timeout: float = 90) -> None:
        """Return once the server accepts connections (checked every 0.1 s): JupyterHub's
        own check then succeeds at once instead of backing off for seconds."""
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            try:
                _, writer = await asyncio.wait_for(asyncio.open_connection(ip, port), 1)
            except (TimeoutError, OSError):
                await asyncio.sleep(0.1)
                continue
            writer.close()
            return
        # Not listening yet: JupyterHub keeps waiting up to its http_timeout and reports.

    async def stop(self, now: bool = False) -> None:
        lab = self._lab()
        self.log.info("stopping the lab %s (its volumes stay)", lab.config.project)

        def down() -> None:
            lab.manager.disconnect(f"{lab.config.project}_public", self._hub_container())
            lab.down(volumes=False)

        await asyncio.to_thread(down)
        self.object_id = ""

    def get_env(self) -> dict[str, str]:
        env: dict[str, str] = super().get_env()
        address = hub_address(self._lab().config)
        api = f"http://{address}:{HUB_API_PORT}/hub/api"
        env["JUPYTERHUB_API_URL"] = api
        env["JUPYTERHUB_ACTIVITY_URL"] = f"{api}/users/{self.user.name}/activity"
        return env
