"""Behind the hub, each learner gets their own full lab, started when they log in.

One hub (``labkit hub up``, the real JupyterHub image with labkit's spawner) for a
roster of scripted learners, who all log in and ask for their server at once through
the hub's REST API, as a room does at 9:00. Each gets their own lab (mx, dns, router,
workstation), reached through the hub; one learner's laptop cannot reach another's
servers (real connection attempts); stopping a server (what the idle culler does) stops
the lab and keeps the learner's files; a hub restart loses nothing.

The number of learners is ``LABKIT_HUB_TEST_USERS`` (default 10).
"""

from __future__ import annotations

import html
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

pytestmark = pytest.mark.lab

REPO = Path(__file__).resolve().parents[2]
PROJECT = os.environ.get("LABKIT_TEST_PROJECT", "labkit-test") + "-hubseats"
USERS = [
    f"learner{n:02d}" for n in range(1, int(os.environ.get("LABKIT_HUB_TEST_USERS", "10")) + 1)
]
ADMIN = "teacher"
WARM = 2  # the first learners' labs start with the hub


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _docker(*args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check)


def _labkit(*args: str, cwd: Path, timeout: float = 1200) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, LABKIT_HUB_PROJECT=PROJECT, LABKIT_HOME=str(REPO), COLUMNS="300")
    return subprocess.run(
        ["labkit", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout
    )


def _everything_of_this_hub() -> list[str]:
    """Every container of the hub and of the labs it started."""
    names = _docker("ps", "-a", "--format", "{{.Names}}").stdout.split()
    return [n for n in names if n.startswith(PROJECT)]


@dataclass
class Learner:
    name: str
    session: requests.Session
    url: str

    def api(self, method: str, path: str, **kw) -> requests.Response:  # type: ignore[no-untyped-def]
        headers = {"X-XSRFToken": self.session.cookies.get("_xsrf") or ""}
        return self.session.request(
            method, f"{self.url}/hub/api/{path}", headers=headers, timeout=30, **kw
        )

    def server(self) -> dict:  # type: ignore[type-arg]
        return self.api("GET", f"users/{self.name}").json().get("servers", {}).get("", {})

    def token(self) -> str:
        r = self.api("POST", f"users/{self.name}/tokens", json={"note": "test"})
        r.raise_for_status()
        return str(r.json()["token"])


def _log_in(url: str, name: str) -> Learner:
    session = requests.Session()
    session.get(f"{url}/hub/login", timeout=30).raise_for_status()
    r = session.post(
        f"{url}/hub/login",
        data={"username": name, "password": f"{name}-password", "_xsrf": session.cookies["_xsrf"]},
        allow_redirects=False,
        timeout=60,
    )
    assert r.status_code == 302, (name, r.status_code, r.text[-500:])
    return Learner(name, session, url)


def _wait_ready(learner: Learner, timeout: float = 600) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        server = learner.server()
        if server.get("ready"):
            return time.monotonic() - started
        if not server.get("pending") and not server.get("ready") and time.monotonic() - started > 5:
            raise AssertionError(f"{learner.name}'s server stopped: {server}")
        time.sleep(1)
    raise AssertionError(f"{learner.name}'s server was not ready within {timeout:.0f} s")


def _exec(container: str, cmd: str, user: str = "learner") -> subprocess.CompletedProcess[str]:
    return _docker("exec", "-u", user, container, "sh", "-c", cmd)


@pytest.fixture(scope="module")
def hub(lab, tmp_path_factory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("hubseats")
    roster = "username,role\n" + f"{ADMIN},instructor\n" + "".join(f"{u}\n" for u in USERS)
    (folder / "roster.csv").write_text(roster)
    port = _free_port()
    _labkit("hub", "down", "--volumes", cwd=folder)  # a run that was killed
    up = _labkit(
        "hub",
        "up",
        "--roster",
        "roster.csv",
        "--port",
        str(port),
        "--scenario",
        "fixed",
        "--seats-warm",
        str(WARM),
        cwd=folder,
    )
    try:
        assert up.returncode == 0, up.stdout[-3000:] + up.stderr[-3000:]
        yield f"http://127.0.0.1:{port}"
    finally:
        down = _labkit("hub", "down", "--volumes", cwd=folder)
        assert down.returncode == 0, down.stderr
        assert _everything_of_this_hub() == []


def test_warm_seats_run_before_anyone_logs_in(hub):
    status = json.loads(_labkit("hub", "status", "--json", cwd=REPO).stdout)
    assert status["labs"] == {f"{PROJECT}-{u}": "running" for u in USERS[:WARM]}
    # Warm, but nobody's server yet: the workstation serves no hub, publishes nothing.
    assert _docker("port", _workstation(USERS[0])).stdout.strip() == ""


@pytest.fixture(scope="module")
def learners(hub) -> dict[str, Learner]:
    """Everyone logs in and asks for their server at the same moment."""

    def arrive(name: str) -> tuple[Learner, float]:
        started = time.monotonic()
        learner = _log_in(hub, name)
        r = learner.api("POST", f"users/{name}/server")
        assert r.status_code in (201, 202), (name, r.status_code, r.text)
        _wait_ready(learner)
        return learner, time.monotonic() - started

    started = time.monotonic()
    with ThreadPoolExecutor(len(USERS)) as pool:
        arrived = list(pool.map(arrive, USERS))
    took = [t for _, t in arrived]
    print(
        f"\n{len(USERS)} learners at once: all ready in {time.monotonic() - started:.0f} s; "
        f"login to ready: warm {', '.join(f'{t:.1f}' for t in took[:WARM])} s, "
        f"cold median {sorted(took[WARM:])[len(took[WARM:]) // 2]:.1f} s"
    )
    return {learner.name: learner for learner, _ in arrived}


def _workstation(name: str) -> str:
    return f"{PROJECT}-{name}-workstation-1"


def test_every_learner_gets_a_healthy_lab_of_their_own_through_the_hub(hub, learners):
    for name, learner in learners.items():
        # Their server, through the hub's proxy, with a token of their own.
        token = learner.token()
        r = requests.get(
            f"{hub}/user/{name}/api/contents",
            headers={"Authorization": f"token {token}"},
            timeout=30,
        )
        assert r.status_code == 200, (name, r.status_code, r.text[:300])
        assert "00-welcome.ipynb" in {item["name"] for item in r.json()["content"]}
        # Their own lab, all four services running, in the scenario the hub was given.
        ps = _docker(
            "ps",
            "--filter",
            f"label=com.docker.compose.project={PROJECT}-{name}",
            "--format",
            '{{.Label "com.docker.compose.service"}} {{.State}}',
        ).stdout.split("\n")
        assert sorted(line for line in ps if line) == [
            "dns running",
            "mx running",
            "router running",
            "workstation running",
        ]
    # From inside one learner's laptop, labkit itself sees a working lab (real probes).
    first = USERS[0]
    doctor = _exec(_workstation(first), "/opt/labkit/venv/bin/labkit doctor --json")
    report = json.loads(doctor.stdout)
    fails = [f for f in report["findings"] if f["status"] == "fail"]
    assert doctor.returncode == 0 and fails == [], doctor.stdout[-2000:]


def test_another_learners_servers_cannot_be_reached(learners):
    a, b = USERS[0], USERS[1]

    def mx_of(name: str) -> str:
        out = _exec(_workstation(name), "getent hosts mail.zimmerman.test | cut -d' ' -f1")
        return out.stdout.strip()

    own, other = mx_of(a), mx_of(b)
    assert own and other and own != other
    probe = "timeout 4 bash -c 'exec 3<>/dev/tcp/{ip}/{port} && echo open' 2>&1 || echo closed"
    assert "open" in _exec(_workstation(a), probe.format(ip=own, port=25)).stdout  # it works
    # b's mail and DNS servers, at their lab addresses and at every address Docker gave
    # them: a's laptop reaches none.
    targets = {(other, 25), (other.rsplit(".", 1)[0] + ".53", 53)}
    for service, port in (("mx", 25), ("dns", 53)):
        info = json.loads(_docker("inspect", f"{PROJECT}-{b}-{service}-1").stdout)[0]
        for network in info["NetworkSettings"]["Networks"].values():
            targets.add((network["IPAddress"], port))
    for ip, port in sorted(targets):
        out = _exec(_workstation(a), probe.format(ip=ip, port=port)).stdout
        assert "open" not in out, (ip, port, out)


def test_stopping_a_server_stops_the_lab_and_keeps_the_learners_work(hub, learners):
    name = USERS[-1]
    learner = learners[name]
    mark = f"written by {name} at {time.time():.0f}"
    r = _exec(_workstation(name), f"echo {shlex.quote(mark)} > ~/notebooks/mine.txt")
    assert r.returncode == 0, r.stderr
    # What the idle culler does: DELETE the server through the API.
    r = learner.api("DELETE", f"users/{name}/server")
    assert r.status_code in (202, 204), r.text
    deadline = time.monotonic() + 120
    while learner.server() and time.monotonic() < deadline:
        time.sleep(1)
    assert not learner.server()
    status = json.loads(_labkit("hub", "status", "--json", cwd=REPO).stdout)
    assert f"{PROJECT}-{name}" not in status["labs"]  # its containers are gone
    assert status["labs"][f"{PROJECT}-{USERS[0]}"] == "running"  # the others' are not
    # Back again: the same files.
    r = learner.api("POST", f"users/{name}/server")
    assert r.status_code in (201, 202), r.text
    _wait_ready(learner)
    assert _exec(_workstation(name), "cat ~/notebooks/mine.txt").stdout.strip() == mark


def test_a_hub_restart_loses_no_learner(hub, learners):
    name = USERS[0]
    before = _exec(
        _workstation(name), "cat ~/.labkit/progress.json 2>/dev/null; ls ~/notebooks"
    ).stdout
    hub_container = next(n for n in _everything_of_this_hub() if n.startswith(f"{PROJECT}-hub-"))
    assert _docker("restart", hub_container).returncode == 0
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{hub}/hub/api", timeout=2).ok:
                break
        except requests.RequestException:
            pass
        time.sleep(1)
    learner = _log_in(hub, name)  # the same password as before: the hub remembers it
    assert learner.server().get("ready"), learner.server()
    token = learner.token()
    r = requests.get(
        f"{hub}/user/{name}/api/status", headers={"Authorization": f"token {token}"}, timeout=30
    )
    assert r.status_code == 200, r.text[:300]
    after = _exec(
        _workstation(name), "cat ~/.labkit/progress.json 2>/dev/null; ls ~/notebooks"
    ).stdout
    assert after == before


# --------------------------------------------------------------------------- the grid


def _grid(session: requests.Session, hub: str, path: str = "grid.json") -> requests.Response:
    """A page of the grid service, through the hub's OAuth (redirects followed)."""
    return session.get(f"{hub}/services/labkit/{path}", timeout=120)


def _instructor(hub: str) -> Learner:
    return _log_in(hub, ADMIN)


def test_the_grid_shows_instructors_everyone_and_learners_only_themselves(hub, learners):
    teacher = _instructor(hub)
    rows = _grid(teacher.session, hub).json()
    assert {r["learner"] for r in rows} == set(USERS)
    assert all(r["running"] for r in rows if r["learner"] != USERS[-1])
    csv = _grid(teacher.session, hub, "gradebook.csv")
    assert csv.status_code == 200 and csv.text.startswith("seat,nb02.fix-submission")
    mine = _grid(learners[USERS[1]].session, hub).json()
    assert [r["learner"] for r in mine] == [USERS[1]]
    page = _grid(learners[USERS[1]].session, hub, "")
    assert USERS[1] in page.text and USERS[2] not in page.text
    assert _grid(learners[USERS[1]].session, hub, "gradebook.csv").status_code == 403


def _apply(teacher: Learner, hub: str, who: str, scenario: str) -> requests.Response:
    page = _grid(teacher.session, hub, "")
    xsrf = re.search(r'name="_xsrf" value="([^"]+)"', page.text)  # learners get no form
    data = {"who": who, "scenario": scenario}
    if xsrf:
        data["_xsrf"] = html.unescape(xsrf.group(1))
    return teacher.session.post(f"{hub}/services/labkit/apply", data=data, timeout=300)


def test_a_fix_in_one_learners_lab_turns_their_task_green(hub, learners):
    teacher, name = _instructor(hub), USERS[1]

    def task(row_name: str) -> dict:  # type: ignore[type-arg]
        rows = {r["learner"]: r for r in _grid(teacher.session, hub).json()}
        return rows[row_name]["tasks"]["nb02.fix-submission"]

    r = _apply(teacher, hub, name, "no-submission")  # break it, in this lab only
    assert r.status_code == 200, r.text[:500]
    assert task(name)["passed"] is False
    assert task(USERS[0])["passed"] is True  # the others keep theirs
    # The fix, as the learner would make it: the submission service back in master.cf.
    mx = f"{PROJECT}-{name}-mx-1"
    fix = (
        "postconf -M submission/inet='submission inet n - n - - smtpd' "
        "smtps/inet='smtps inet n - n - - smtpd' && postconf -P "
        "submission/inet/smtpd_tls_security_level=encrypt "
        "submission/inet/smtpd_sasl_auth_enable=yes submission/inet/smtpd_tls_auth_only=yes "
        "submission/inet/smtpd_relay_restrictions=permit_sasl_authenticated,reject "
        "smtps/inet/smtpd_tls_wrappermode=yes smtps/inet/smtpd_sasl_auth_enable=yes "
        "smtps/inet/smtpd_relay_restrictions=permit_sasl_authenticated,reject "
        "&& postfix reload"
    )
    assert _docker("exec", mx, "sh", "-c", fix).returncode == 0
    deadline = time.monotonic() + 90  # the grid looks again on its own
    while time.monotonic() < deadline and not task(name)["passed"]:
        time.sleep(3)
    assert task(name)["passed"] is True
    assert _apply(teacher, hub, name, "fixed").status_code == 200
    # A learner cannot act on the room.
    assert _apply(learners[name], hub, "*", "blog").status_code == 403


def test_the_grid_in_a_browser(hub, learners):
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).exists():
        pytest.skip("chromium is not installed")
    sync_api = pytest.importorskip("playwright.sync_api")
    shots = Path(os.environ.get("LABKIT_SCREENSHOTS", "test-artifacts/screenshots"))
    shots.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            for who, shot in ((ADMIN, "hub-grid-instructor"), (USERS[0], "hub-grid-learner")):
                page = browser.new_page(viewport={"width": 1400, "height": 800})
                page.goto(f"{hub}/hub/login")
                page.fill("#username_input", who)
                page.fill("#password_input", f"{who}-password")
                page.click("#login_submit")
                if who != ADMIN:  # a learner lands in the course, in their own lab
                    page.wait_for_selector(".jp-LabShell", timeout=120_000)
                    tab = page.get_by_role("tab", name="00-welcome.ipynb")
                    tab.wait_for(timeout=60_000)
                    page.locator(".jp-Notebook:visible .jp-Cell").first.wait_for(timeout=60_000)
                    page.screenshot(path=str(shots / "hub-learner-lands-in-course.png"))
                    assert f"/user/{who}/lab" in page.url
                page.wait_for_load_state("networkidle")
                page.goto(f"{hub}/services/labkit/")
                page.wait_for_selector("table")
                page.screenshot(path=str(shots / f"{shot}.png"), full_page=True)
                text = page.inner_text("body")
                if who == ADMIN:
                    assert "The room" in text and all(u in text for u in USERS)
                else:
                    assert USERS[0] in text and USERS[1] not in text
                page.close()
        finally:
            browser.close()
