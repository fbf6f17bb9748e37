"""The idle culler, for real: a server nobody uses is stopped, and so is its lab.

A hub of its own (one learner, ``--cull-idle 60``, the shortest the CLI allows): the
learner logs in, starts their server, writes a file and leaves. JupyterHub's idle
culler (jupyterhub-idle-culler, a hub service) stops the server after about a minute
without activity; the spawner stops the lab and keeps the learner's volume, so the file
is there at the next login.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests

pytestmark = pytest.mark.lab

REPO = Path(__file__).resolve().parents[2]
PROJECT = os.environ.get("LABKIT_TEST_PROJECT", "labkit-test") + "-hubcull"
NAME = "idler"


def _labkit(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, LABKIT_HUB_PROJECT=PROJECT, LABKIT_HOME=str(REPO), COLUMNS="300")
    return subprocess.run(
        ["labkit", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=1200
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _session(url: str) -> tuple[requests.Session, dict[str, str]]:
    s = requests.Session()
    s.get(f"{url}/hub/login", timeout=30).raise_for_status()
    r = s.post(
        f"{url}/hub/login",
        data={"username": NAME, "password": "idler-password", "_xsrf": s.cookies["_xsrf"]},
        allow_redirects=False,
        timeout=60,
    )
    assert r.status_code == 302, r.text[-300:]
    return s, {"X-XSRFToken": s.cookies.get("_xsrf") or ""}


def _labs(cwd: Path) -> dict[str, str]:
    return dict(json.loads(_labkit("hub", "status", "--json", cwd=cwd).stdout)["labs"])


def test_an_idle_server_is_culled_with_its_lab_and_the_work_stays(lab, tmp_path):
    (tmp_path / "roster.csv").write_text(f"username\n{NAME}\n")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    _labkit("hub", "down", "--volumes", cwd=tmp_path)  # a run that was killed
    up = _labkit(
        "hub", "up", "--roster", "roster.csv", "--port", str(port), "--cull-idle", "60",
        cwd=tmp_path,
    )  # fmt: skip
    try:
        assert up.returncode == 0, up.stdout[-2000:] + up.stderr[-2000:]
        s, headers = _session(url)
        r = s.post(f"{url}/hub/api/users/{NAME}/server", headers=headers, timeout=600)
        assert r.status_code in (201, 202), r.text
        workstation = f"{PROJECT}-{NAME}-workstation-1"
        mark = f"left at {time.time():.0f}"
        wrote = subprocess.run(
            ["docker", "exec", "-u", "learner", workstation, "sh", "-c",
             f"echo '{mark}' > ~/notebooks/left.txt"],
            capture_output=True, text=True,
        )  # fmt: skip
        assert wrote.returncode == 0, wrote.stderr
        assert _labs(tmp_path) == {f"{PROJECT}-{NAME}": "running"}
        # Nobody touches it now. The culler looks every 30 s at servers idle for 60 s.
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            user = s.get(f"{url}/hub/api/users/{NAME}", headers=headers, timeout=30).json()
            if not user.get("servers"):
                break
            time.sleep(5)
        assert not user.get("servers"), "the idle server was not culled within 240 s"
        deadline = time.monotonic() + 60
        while _labs(tmp_path) and time.monotonic() < deadline:
            time.sleep(2)
        assert _labs(tmp_path) == {}  # the lab's containers are gone
        # The next login finds the work again.
        r = s.post(f"{url}/hub/api/users/{NAME}/server", headers=headers, timeout=600)
        assert r.status_code in (201, 202), r.text
        back = subprocess.run(
            ["docker", "exec", "-u", "learner", workstation, "sh", "-c", "cat ~/*/left.txt"],
            capture_output=True, text=True,
        )  # fmt: skip
        assert back.stdout.strip() == mark
    finally:
        down = _labkit("hub", "down", "--volumes", cwd=tmp_path)
        assert down.returncode == 0, down.stderr
