"""The hub's spawner: a learner's server is the workstation of their own, full lab.

JupyterHub calls :class:`LabSpawner` when a learner logs in. It is DockerSpawner (its
Docker client, its state kept in the hub's database, its ``poll`` of one container),
but what it starts is not one container: it drives labkit's own lab API
(:class:`labkit.lab.lifecycle.Lab`) to bring up the learner's lab (mx, dns, router,
workstation, their networks and volumes) as the Compose project named after them
(:func:`labkit.hub.seats.learner_lab`), with the hub's variables for this server in
the workstation's environment, so that the workstation runs ``jupyterhub-singleuser``
instead of a token-protected JupyterLab. The hub joins the lab's publishing network at
a fixed address (:data:`labkit.hub.seats.HUB_HOST`), where the learner's server finds
the hub's API and the hub's proxy finds the learner's server.

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

from labkit.hub.seats import HUB_API_PORT, hub_address, seat_env_file, seat_from_settings
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
    seats_dir = Unicode(
        "/srv/hub/data/seats", help="Where each learner's server variables are written."
    ).tag(config=True)
    parallel_starts = Integer(
        max(1, os.cpu_count() or 1), help="Labs that may start at the same time."
    ).tag(config=True)

    @default("object_name")
    def _object_name_default(self) -> str:
        """The learner's workstation: the container whose life is the server's."""
        return f"{self._lab().config.project}-workstation-1"

    def _settings(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(Path(self.settings_file).read_text())
        return data

    def _lab(self) -> Lab:
        settings = self._settings()
        config = seat_from_settings(settings, self.user.name)
        env_file = Path(self.seats_dir) / f"{self.user.name}.env"
        return Lab(config, workstation_env=env_file, published=False)

    def _hub_container(self) -> str:
        """This hub's own container (its hostname is the container's short id)."""
        return socket.gethostname()

    def _start_lab(self, lab: Lab, scenario: str) -> tuple[str, int]:
        network = f"{lab.config.project}_public"

        def join() -> None:  # the network exists now; the server will soon call the hub
            lab.engine.connect(network, self._hub_container(), address=hub_address(lab.config))

        lab.up(scenario, build=False, started=join, timeout=240)
        workstation = lab.containers()["workstation"]
        self.object_id = workstation.id
        self.object_name = workstation.name
        return lab.engine.addresses(workstation.id)[network], 8888

    async def start(self) -> tuple[str, int]:
        lab = self._lab()
        settings = self._settings()
        env = self.get_env()
        seat_env_file(env, lab.config, self.user.name, Path(self.seats_dir))
        async with _starting(self.parallel_starts):
            self.log.info("starting the lab %s for %s", lab.config.project, self.user.name)
            return await asyncio.to_thread(self._start_lab, lab, settings.get("scenario", "blog"))

    async def stop(self, now: bool = False) -> None:
        lab = self._lab()
        self.log.info("stopping the lab %s (its volumes stay)", lab.config.project)

        def down() -> None:
            lab.engine.disconnect(f"{lab.config.project}_public", self._hub_container())
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
