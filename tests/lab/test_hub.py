"""The workshop hub's front door: the real JupyterHub image, logins bound to the roster.

The hub runs from its image (``lab/images/hub``) with the settings labkit writes from a
roster, published on 127.0.0.1 only; scripted users log in through the hub's own login
form and REST API. Names come from ``LABKIT_TEST_PROJECT`` so parallel sessions do not
collide. Each learner's lab behind the hub: tests/lab/test_hub_labs.py.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from labkit.hub.roster import parse_roster
from labkit.hub.settings import hub_settings
from labkit.lab import images

pytestmark = pytest.mark.lab

REPO = Path(__file__).resolve().parents[2]
NAME = os.environ.get("LABKIT_TEST_PROJECT", "labkit-test") + "-hub"
TAG = os.environ.get("LABKIT_IMAGE_TAG", "dev")
ROSTER = "username,role\nada,instructor\ngrace,learner\nlinus\n"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _docker(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check)


@dataclass
class Hub:
    url: str

    def login(self, user: str, password: str) -> tuple[requests.Session, requests.Response]:
        """Log in through the hub's login form, as a browser would (with its _xsrf)."""
        session = requests.Session()
        session.get(f"{self.url}/hub/login", timeout=10).raise_for_status()
        response = session.post(
            f"{self.url}/hub/login",
            data={"username": user, "password": password, "_xsrf": session.cookies["_xsrf"]},
            allow_redirects=False,
            timeout=30,
        )
        return session, response

    def api(self, session: requests.Session, path: str) -> requests.Response:
        headers = {"X-XSRFToken": session.cookies.get("_xsrf") or ""}
        return session.get(f"{self.url}/hub/api/{path}", headers=headers, timeout=10)

    def wait_up(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.url}/hub/api", timeout=2).ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.5)
        logs = _docker("logs", "--tail", "30", NAME, check=False)
        raise AssertionError(f"the hub did not answer:\n{logs.stdout}{logs.stderr}")


@pytest.fixture(scope="module")
def hub(lab, tmp_path_factory) -> Iterator[Hub]:
    base = os.environ.get("LABKIT_BASE_IMAGE") or next(
        name
        for name in (images.UPSTREAM_BASE, images.LOCAL_BASE)
        if _docker("image", "inspect", name, check=False).returncode == 0
    )
    env = dict(
        os.environ,
        LABKIT_IMAGE_TAG=TAG,
        LABKIT_BASE_IMAGE=base,
        LABKIT_HOST_CA=images.host_ca_bundle(tmp_path_factory.mktemp("ca")),
    )
    build = subprocess.run(
        ["docker", "compose", "-f", str(REPO / "lab/hub/docker-compose.yml"), "build"],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    settings = tmp_path_factory.mktemp("hub") / "settings.json"
    settings.write_text(hub_settings(parse_roster(ROSTER), cull_idle_s=600))
    port = _free_port()
    _docker("rm", "-f", NAME, check=False)
    _docker(
        "run",
        "-d",
        "--name",
        NAME,
        "-p",
        f"127.0.0.1:{port}:8000",
        "-v",
        f"{settings}:/srv/hub/settings.json:ro",
        "-v",
        f"{NAME}-data:/srv/hub/data",
        # The spawner and the grid come from the checkout, as `labkit hub up` mounts it.
        "-v",
        f"{REPO}:/opt/labkit:ro",
        "-e",
        "PYTHONPATH=/opt/labkit",
        "-e",
        "LABKIT_HOME=/opt/labkit",
        f"labkit/hub:{TAG}",
    )
    handle = Hub(f"http://127.0.0.1:{port}")
    try:
        handle.wait_up()
        yield handle
    finally:
        _docker("rm", "-f", NAME, check=False)
        _docker("volume", "rm", f"{NAME}-data", check=False)


def test_roster_users_log_in_and_set_their_password_at_first_login(hub):
    session, response = hub.login("grace", "grace-first-pw")
    assert response.status_code == 302, response.text[:500]
    me = hub.api(session, "user").json()
    assert (me["name"], me["admin"]) == ("grace", False)

    ada, response = hub.login("ada", "ada-instructor-pw")
    assert response.status_code == 302
    assert hub.api(ada, "user").json()["admin"] is True  # an instructor on the roster


def test_someone_not_on_the_roster_cannot_log_in(hub):
    session, response = hub.login("eve", "eve-password-1")
    assert response.status_code == 403
    assert hub.api(session, "user").status_code in (401, 403)


def test_a_wrong_password_after_the_first_login_is_refused(hub):
    assert hub.login("linus", "linus-first-pw")[1].status_code == 302
    assert hub.login("linus", "not-linus-pw")[1].status_code == 403


def test_the_idle_culler_runs_as_a_hub_service(hub):
    admin, response = hub.login("ada", "ada-instructor-pw")
    assert response.status_code == 302
    services = hub.api(admin, "services").json()
    assert "idle-culler" in services, services
    top = _docker("top", NAME).stdout
    assert "jupyterhub_idle_culler --timeout=600" in top
    assert "configurable-http-proxy" in top  # Debian's proxy, started by the hub


def test_a_hub_restart_keeps_who_set_which_password(hub):
    assert hub.login("grace", "grace-first-pw")[1].status_code == 302
    _docker("restart", "-t", "5", NAME)
    hub.wait_up()
    # Wrong first: a hub that forgot grace would take any password as her first one.
    assert hub.login("grace", "someone-elses")[1].status_code == 403
    assert hub.login("grace", "grace-first-pw")[1].status_code == 302


# --------------------------------------------------------------------------- labkit hub


CLI_PROJECT = os.environ.get("LABKIT_TEST_PROJECT", "labkit-test") + "-hubcli"


def _labkit(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, LABKIT_HUB_PROJECT=CLI_PROJECT, LABKIT_HOME=str(REPO), COLUMNS="300")
    return subprocess.run(
        ["labkit", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=900
    )


def _left_behind() -> list[str]:
    label = f"label=com.docker.compose.project={CLI_PROJECT}"
    return _docker("ps", "-aq", "--filter", label).stdout.split()


def test_labkit_hub_up_status_down_on_loopback(hub, tmp_path):
    (tmp_path / "roster.csv").write_text(ROSTER)
    port = _free_port()
    try:
        up = _labkit("hub", "up", "--roster", "roster.csv", "--port", str(port), cwd=tmp_path)
        assert up.returncode == 0, up.stderr
        assert f"http://127.0.0.1:{port}/hub/login" in up.stdout
        status = json.loads(_labkit("hub", "status", "--json", cwd=tmp_path).stdout)
        assert (status["running"], status["users"], status["admins"]) == (True, 3, 1)
        published = _docker("port", _left_behind()[0], "8000").stdout.split()
        assert published == [f"127.0.0.1:{port}"]
        session, response = Hub(f"http://127.0.0.1:{port}").login("linus", "linus-first-pw")
        assert response.status_code == 302
    finally:
        down = _labkit("hub", "down", "--volumes", cwd=tmp_path)
    assert down.returncode == 0, down.stderr
    assert _left_behind() == []
    assert _labkit("hub", "status", cwd=tmp_path).returncode == 1


@pytest.mark.parametrize(
    "roster, args, needle",
    [
        ("username\nada\nada\n", [], "'ada' is already on line 2"),
        ("username\nAda Lovelace\n", [], "may only hold a-z"),
        (ROSTER, ["--bind", "0.0.0.0"], "without HTTPS"),
        (ROSTER, ["--port", "BUSY"], "already in use"),
    ],
)
def test_labkit_hub_up_refuses_bad_input_before_starting_anything(
    hub, tmp_path, roster, args, needle
):
    (tmp_path / "roster.csv").write_text(roster)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        args = [str(busy.getsockname()[1]) if a == "BUSY" else a for a in args]
        if "--port" not in args:
            args += ["--port", str(_free_port())]
        proc = _labkit("hub", "up", "--roster", "roster.csv", *args, cwd=tmp_path)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert needle in proc.stderr and "Traceback" not in proc.stderr
    assert _left_behind() == []


def test_a_hub_that_does_not_come_up_is_removed_again(hub, tmp_path):
    from labkit.errors import LabStateError
    from labkit.hub.service import HubService

    (tmp_path / "roster.csv").write_text(ROSTER)
    service = HubService(CLI_PROJECT, home=REPO, image_tag=TAG)
    with pytest.raises(LabStateError, match="Nothing of it was left running"):
        service.up(tmp_path / "roster.csv", port=_free_port(), timeout=0.01)
    assert _left_behind() == []
    service.down(volumes=True)
