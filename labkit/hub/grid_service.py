"""The grid as a JupyterHub service at ``/services/labkit/``, run by the hub itself.

Logged in through the hub (OAuth, as any JupyterHub service): instructors (the roster's
admins) see every learner and may act (a scenario for everyone or one, a reset, one
learner's doctor report, the gradebook as CSV); a learner sees their own row only. The
room is looked at again every ``LABKIT_GRID_REFRESH`` seconds (default 20) in the
background, and at once after an action.
"""

from __future__ import annotations

import asyncio
import html
import json
import os
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from jupyterhub.services.auth import HubOAuthCallbackHandler, HubOAuthenticated
from jupyterhub.utils import url_path_join
from tornado import web
from tornado.httpserver import HTTPServer
from tornado.ioloop import IOLoop

from labkit.errors import LabkitError
from labkit.exercises.gradebook import gradebook_csv
from labkit.hub.grid import Room, grades_of, grid_json, render_grid
from labkit.lab.engine import WORKSTATION_LABKIT

__all__ = ["main"]


class _Base(HubOAuthenticated, web.RequestHandler):
    room: Room

    def initialize(self, room: Room) -> None:
        self.room = room

    @property
    def viewer(self) -> str:
        user: dict[str, Any] = self.current_user
        return str(user["name"])

    @property
    def admin(self) -> bool:
        return self.viewer in set(self.room.settings.get("admins", []))

    def require_admin(self) -> None:
        if not self.admin:
            raise web.HTTPError(403, "instructors only")

    def learner(self, name: str) -> str:
        if name not in self.room.learners:
            raise web.HTTPError(404, f"no learner {name!r}")
        return name


class GridHandler(_Base):
    @web.authenticated
    async def get(self) -> None:
        await asyncio.to_thread(self.room.ensure_checked)
        ago = None if self.room.checked_at is None else time.monotonic() - self.room.checked_at
        self.write(
            render_grid(
                list(self.room.rows.values()),
                viewer=self.viewer,
                admin=self.admin,
                scenarios=self.room.scenarios(),
                xsrf=self.xsrf_token.decode(),
                checked_ago=ago,
            )
        )


class JsonHandler(_Base):
    @web.authenticated
    async def get(self) -> None:
        await asyncio.to_thread(self.room.ensure_checked)
        rows = list(self.room.rows.values())
        if not self.admin:
            rows = [r for r in rows if r.name == self.viewer]
        self.set_header("Content-Type", "application/json")
        self.write(json.dumps(grid_json(rows), indent=1))


class CsvHandler(_Base):
    @web.authenticated
    async def get(self) -> None:
        self.require_admin()
        await asyncio.to_thread(self.room.ensure_checked)
        self.set_header("Content-Type", "text/csv; charset=utf-8")
        self.set_header("Content-Disposition", 'attachment; filename="gradebook.csv"')
        self.write(gradebook_csv(grades_of(list(self.room.rows.values()))))


class ApplyHandler(_Base):
    @web.authenticated
    async def post(self) -> None:
        self.require_admin()
        scenario = self.get_argument("scenario", "")
        if scenario not in self.room.scenarios():
            raise web.HTTPError(400, f"no scenario {scenario!r}")
        who = self.get_argument("who", "*")
        if who != "*":
            self.learner(who)
        names = [n for n in self.room.learners if who in ("*", n)]
        running = [n for n in names if self.room.rows.get(n) and self.room.rows[n].running]

        def apply(name: str) -> None:
            try:
                self.room.lab(name).apply(scenario)
            except LabkitError as exc:
                raise web.HTTPError(409, f"{name}: {exc.message}") from exc

        await asyncio.gather(*(asyncio.to_thread(apply, n) for n in running))
        await asyncio.to_thread(lambda: self.room.refresh(force=True))
        self.redirect(os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/"))


class ResetHandler(_Base):
    @web.authenticated
    async def post(self, name: str) -> None:
        self.require_admin()
        lab = self.room.lab(self.learner(name))
        try:
            await asyncio.to_thread(lab.reset)
        except LabkitError as exc:
            raise web.HTTPError(409, exc.message) from exc
        await asyncio.to_thread(lambda: self.room.refresh(force=True))
        self.redirect(os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/"))


class DoctorHandler(_Base):
    @web.authenticated
    async def get(self, name: str) -> None:
        self.require_admin()
        lab = self.room.lab(self.learner(name))

        def doctor() -> str:
            ws = lab.containers().get("workstation")
            if ws is None or not ws.running:
                return f"{name}'s lab is not running."
            done = lab.engine.exec(
                ws,
                [WORKSTATION_LABKIT, "doctor"],
                user="learner",
                env={"COLUMNS": "110", "NO_COLOR": "1"},
                timeout=60,
            )
            return done.stdout + done.stderr

        report = await asyncio.to_thread(doctor)
        self.write(
            "<!doctype html><meta charset=utf-8><title>doctor</title>"
            f"<h2>labkit doctor in {html.escape(name)}'s lab</h2>"
            f"<pre>{html.escape(report)}</pre>"
        )


def _refresh_forever(room: Room, every: float) -> None:
    while True:
        try:
            room.refresh()
        except Exception as exc:  # a bad round must not stop the grid
            print(f"labkit grid: refresh failed: {exc}", flush=True)
        time.sleep(every)


def main() -> None:
    settings = json.loads(
        Path(os.environ.get("LABKIT_HUB_SETTINGS", "/srv/hub/settings.json")).read_text()
    )
    room = Room(settings)
    every = float(os.environ.get("LABKIT_GRID_REFRESH", "20"))
    threading.Thread(target=_refresh_forever, args=(room, every), daemon=True).start()
    prefix = os.environ["JUPYTERHUB_SERVICE_PREFIX"]
    kw = {"room": room}
    app = web.Application(
        [
            (prefix, GridHandler, kw),
            (url_path_join(prefix, "grid.json"), JsonHandler, kw),
            (url_path_join(prefix, "gradebook.csv"), CsvHandler, kw),
            (url_path_join(prefix, "apply"), ApplyHandler, kw),
            (url_path_join(prefix, r"reset/([a-z0-9_-]+)"), ResetHandler, kw),
            (url_path_join(prefix, r"doctor/([a-z0-9_-]+)"), DoctorHandler, kw),
            (url_path_join(prefix, "oauth_callback"), HubOAuthCallbackHandler),
        ],
        cookie_secret=os.urandom(32),
        xsrf_cookies=True,
    )
    url = urlparse(os.environ["JUPYTERHUB_SERVICE_URL"])
    HTTPServer(app).listen(url.port or 10101, url.hostname or "127.0.0.1")
    IOLoop.current().start()


if __name__ == "__main__":
    main()
