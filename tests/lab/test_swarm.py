"""Learners' labs on a Docker Swarm: ``labkit hub up --engine swarm``, on a single-node
swarm made for this module (and left again afterwards, unless this machine was already
in one).

Five learners log in at once (two warm seats, three started at login); each lab runs as
a stack (labkit.lab.stack) on the swarm. The scenario rows of ``fixed`` and ``blog``
(tests/lab/test_scenarios.py, real swaks, openssl, dig, nc) run against one of those
seats; one seat cannot reach another's servers; a replaced task (the router, killed)
comes back and the path works again; ``hub down --volumes`` leaves no service, network,
volume or container of the hub's.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
import test_scenarios as rows
from conftest import TEST_PROJECT, LabHandle, _free_port
from test_hub_labs import Learner, _log_in, _wait_ready

from labkit.hub.roster import parse_roster
from labkit.hub.seats import learner_lab
from labkit.lab.lifecycle import Lab
from labkit.lab.stack import DOCKER_HOST_LABEL
from labkit.testing.dockerproxy import DockerProxy

pytestmark = pytest.mark.lab

REPO = Path(__file__).resolve().parents[2]
PROJECT = TEST_PROJECT + "-swarm"
USERS = [f"learner{n:02d}" for n in range(1, 6)]
ADMIN = "teacher"
WARM = 2
STACK = "com.docker.stack.namespace"
ROSTER = "username,role\n" + f"{ADMIN},instructor\n" + "".join(f"{u}\n" for u in USERS)


def _docker(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=120)


def _labkit(*args: str, cwd: Path, timeout: float = 1200) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, LABKIT_HUB_PROJECT=PROJECT, LABKIT_HOME=str(REPO), COLUMNS="300")
    return subprocess.run(
        ["labkit", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout
    )


def _of_this_hub(kind: str, *args: str) -> list[str]:
    """Names of ``docker KIND ls`` objects that belong to this hub or its seats."""
    listed = _docker(kind, "ls", *args, "--format", "{{.Name}}").stdout.split()
    return sorted(n for n in listed if n.startswith(PROJECT))


def test_hub_up_off_a_swarm_says_how_to_make_one_and_starts_nothing(tmp_path):
    """Runs first, before this module makes its swarm."""
    if _docker("info", "--format", "{{.Swarm.LocalNodeState}}").stdout.strip() != "inactive":
        pytest.skip("this machine is in a swarm already")
    (tmp_path / "roster.csv").write_text(ROSTER)
    args = ("hub", "up", "--roster", "roster.csv", "--engine", "swarm")
    done = _labkit(*args, "--port", str(_free_port()), cwd=tmp_path)
    assert done.returncode == 2, done.stdout[-1000:] + done.stderr[-1000:]
    assert "Traceback" not in done.stderr
    assert "not part of a swarm" in done.stderr and "docker swarm init" in done.stderr
    assert _docker("ps", "-a", "--filter", f"name={PROJECT}", "-q").stdout.strip() == ""


@pytest.fixture(scope="module")
def swarm() -> Iterator[None]:
    """A single-node swarm on this machine's loopback; left again afterwards (with the
    bridge swarm makes) when this module made it."""
    state = _docker("info", "--format", "{{.Swarm.LocalNodeState}}").stdout.strip()
    made = state == "inactive"
    if made:
        init = _docker(
            "swarm", "init", "--advertise-addr", "127.0.0.1", "--default-addr-pool", "10.123.0.0/16"
        )
        assert init.returncode == 0, init.stderr
    yield
    if made:
        assert _docker("swarm", "leave", "--force").returncode == 0
        _docker("network", "rm", "docker_gwbridge")


@pytest.fixture(scope="module")
def hub(swarm, tmp_path_factory) -> Iterator[tuple[str, Path]]:
    folder = tmp_path_factory.mktemp("swarmhub")
    (folder / "roster.csv").write_text(ROSTER)
    port = _free_port()
    _labkit("hub", "down", "--volumes", cwd=folder)  # a run that was killed
    up = _labkit(
        "hub",
        "up",
        "--roster",
        "roster.csv",
        "--port",
        str(port),
        "--engine",
        "swarm",
        "--scenario",
        "fixed",
        "--seats-warm",
        str(WARM),
        cwd=folder,
    )
    try:
        assert up.returncode == 0, up.stdout[-3000:] + up.stderr[-3000:]
        yield f"http://127.0.0.1:{port}", folder
    finally:
        down = _labkit("hub", "down", "--volumes", cwd=folder)
        assert down.returncode == 0, down.stdout[-2000:] + down.stderr[-2000:]
        left = {
            "services": _of_this_hub("service"),
            "networks": _of_this_hub("network"),
            "volumes": _of_this_hub("volume"),
            "containers": sorted(
                n
                for n in _docker("ps", "-a", "--format", "{{.Names}}").stdout.split()
                if n.startswith(PROJECT)
            ),
        }
        assert left == {"services": [], "networks": [], "volumes": [], "containers": []}


@pytest.fixture(scope="module")
def learners(hub) -> dict[str, Learner]:
    """Everyone logs in and asks for their server at the same moment."""
    url, _ = hub

    def arrive(name: str) -> Learner:
        learner = _log_in(url, name)
        r = learner.api("POST", f"users/{name}/server")
        assert r.status_code in (201, 202), (name, r.status_code, r.text)
        _wait_ready(learner)
        return learner

    started = time.monotonic()
    with ThreadPoolExecutor(len(USERS)) as pool:
        arrived = list(pool.map(arrive, USERS))
    print(f"\n{len(USERS)} learners on the swarm: all ready in {time.monotonic() - started:.0f} s")
    return {learner.name: learner for learner in arrived}


def _seat(name: str) -> LabHandle:
    """``name``'s lab, as the hub's settings place it (the roster's order numbers it)."""
    config = learner_lab(parse_roster(ROSTER), name, prefix=f"{PROJECT}-", engine="swarm")
    return LabHandle(Lab(config, REPO, behind_hub=True), config)


def test_every_learner_gets_a_stack_on_the_swarm_through_the_hub(hub, learners):
    url, folder = hub
    status = json.loads(_labkit("hub", "status", "--json", cwd=folder).stdout)
    assert status["labs"] == {f"{PROJECT}-{u}": "running" for u in USERS}
    services = _of_this_hub("service")
    assert services == sorted(
        f"{PROJECT}-{u}_{s}" for u in USERS for s in ("dns", "mx", "router", "workstation")
    )
    # Each seat's services all run on one node, with nothing published.
    for u in USERS:
        tasks = _docker(
            "ps",
            "--filter",
            f"label={STACK}={PROJECT}-{u}",
            "--format",
            '{{.Label "com.docker.swarm.node.id"}} {{.Ports}}',
        ).stdout.split("\n")
        nodes = {line.split()[0] for line in tasks if line.strip()}
        assert len(nodes) == 1, (u, tasks)
        assert all(len(line.split()) == 1 for line in tasks if line.strip()), tasks
    # From inside a learner's laptop, labkit sees a working lab (real probes).
    seat = _seat(USERS[0])
    doctor = seat.ws("/opt/labkit/venv/bin/labkit doctor --json")
    report = json.loads(doctor.stdout)
    fails = [f for f in report["findings"] if f["status"] == "fail"]
    assert doctor.exit_code == 0 and fails == [], doctor.stdout[-2000:]


# The scenario rows, against a seat on the swarm: the same classes, another lab.
@pytest.fixture(scope="module")
def lab(learners) -> LabHandle:
    return _seat(USERS[0])


class TestFixedOnSwarm(rows.TestFixed):
    pass


class TestBlogOnSwarm(rows.TestBlog):
    pass


def test_another_seats_servers_cannot_be_reached(learners):
    a, b = _seat(USERS[1]), _seat(USERS[2])
    probe = "timeout 4 bash -c 'exec 3<>/dev/tcp/{ip}/{port} && echo open' 2>&1 || echo closed"
    own = a.config.mx_ip
    assert "open" in a.ws(probe.format(ip=own, port=25)).stdout  # it works
    # b's mail and DNS servers, at their lab addresses and at every address the swarm
    # gave their tasks: a's laptop reaches none.
    found = b.lab.containers()
    targets = {(b.config.mx_ip, 25), (b.config.dns_ip, 53)}
    for service, port in (("mx", 25), ("dns", 53)):
        targets |= {(ip, port) for ip in found[service].addresses.values() if ip}
    assert len(targets) >= 4
    for ip, port in sorted(targets):
        out = a.ws(probe.format(ip=ip, port=port)).stdout
        assert "open" not in out, (ip, port, out)


def test_a_replaced_router_task_is_found_again_by_its_peers(learners):
    seat = _seat(USERS[3])
    seat.scenario("fixed")
    before = seat.lab.containers()["router"]
    assert _docker("kill", before.id).returncode == 0
    # The swarm starts a new task (another container, another address on the cables);
    # mx and the laptop follow it by name (lab-links watch) and mail flows again.
    deadline = time.monotonic() + 90
    out = ""
    while time.monotonic() < deadline:
        now = seat.lab.containers().get("router")
        if now is not None and now.id != before.id and now.running:
            out = seat.ws(
                "swaks --server mail.zimmerman.test --quit-after EHLO 2>&1 | grep -c STARTTLS",
                timeout=30,
            ).stdout
            if out.strip() == "1":
                break
        time.sleep(2)
    assert out.strip() == "1", out


def test_a_node_whose_label_names_its_daemon_is_reached_through_it(learners):
    """On a cluster the hub reaches each node's daemon as its label says; here the one
    node's label names a proxy in front of this daemon, so the calls can be seen."""
    folder = Path(tempfile.mkdtemp(prefix="lk-", dir="/tmp"))
    node = _docker("info", "--format", "{{.Swarm.NodeID}}").stdout.strip()
    with DockerProxy(folder / "docker.sock") as proxy:
        label = f"{DOCKER_HOST_LABEL}={proxy.url}"
        assert _docker("node", "update", "--label-add", label, node).returncode == 0
        try:
            seat = _seat(USERS[4])
            assert seat.lab.engine.host == proxy.url
            assert seat.lab.check_service("mx").ready
            assert seat.ws("swaks --server mail.zimmerman.test --quit-after EHLO").exit_code == 0
            assert proxy.connections > 0
        finally:
            _docker("node", "update", "--label-rm", DOCKER_HOST_LABEL, node)


def test_labkit_commands_find_a_swarm_seat_by_its_project(learners):
    """Given only the seat's project (no LABKIT_ENGINE), labkit finds its stack."""
    seat = _seat(USERS[2])
    env = dict(
        os.environ,
        LABKIT_PROJECT=seat.config.project,
        LABKIT_NET_PREFIX=seat.config.net_prefix,
        LABKIT_HOME=str(REPO),
    )
    env.pop("LABKIT_ENGINE", None)
    done = subprocess.run(
        ["labkit", "status", "--json"], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stdout[-1500:] + done.stderr[-1500:]
    status = json.loads(done.stdout)
    hostname = _docker("info", "--format", "{{.Name}}").stdout.strip()
    assert status["healthy"] and status["node"] == hostname and status["url"] is None
    assert status["scenario"]["name"] == "fixed"
    # Its logs, gathered by the swarm from the node the task runs on.
    logs = subprocess.run(
        ["labkit", "logs", "mx", "--tail", "500"], capture_output=True, text=True, env=env,
        timeout=60,
    )  # fmt: skip
    assert logs.returncode == 0 and "labkit: ready" in logs.stdout, logs.stderr[-800:]


def test_a_workshop_on_the_swarm_publishes_each_seat_on_its_node(swarm, tmp_path):
    prefix, net, first = f"{PROJECT}-ws", "10.121", _free_port()
    args = ("workshop", "up", "--seats", "2", "--engine", "swarm", "--seat-prefix", prefix,
            "--seat-net", net, "--first-port", str(first))  # fmt: skip
    # A swarm publishes on every address of the node: only when asked to.
    refused = _labkit(*args, cwd=tmp_path)
    assert refused.returncode == 2 and "--bind 0.0.0.0" in refused.stderr, refused.stderr[-800:]
    try:
        up = _labkit(*args, "--bind", "0.0.0.0", "--scenario", "fixed", "--json", cwd=tmp_path)
        assert up.returncode == 0, up.stdout[-2000:] + up.stderr[-2000:]
        rows = json.loads(up.stdout)
        assert [(r["seat"], r["healthy"], r["scenario"]) for r in rows] == [
            (1, True, "fixed"),
            (2, True, "fixed"),
        ]
        for row in rows:  # on the node's address (this node: 127.0.0.1), with its token
            port = first + row["seat"] - 1
            assert row["url"].startswith(f"http://127.0.0.1:{port}/?token=")
            page = requests.get(row["url"], timeout=30)
            assert page.status_code == 200 and "JupyterLab" in page.text, page.text[:300]
    finally:
        down = _labkit("workshop", "down", "--volumes", "--seat-prefix", prefix, cwd=tmp_path)
        assert down.returncode == 0, down.stderr[-1000:]
    assert [s for s in _of_this_hub("service") if s.startswith(prefix)] == []
    assert [v for v in _of_this_hub("volume") if v.startswith(prefix)] == []


def test_a_replaced_mail_server_keeps_the_scenario_and_the_learners_edit(learners):
    seat = _seat(USERS[3])
    seat.scenario("fixed")
    mark = f"# edited by {USERS[3]} at {time.time():.0f}"
    assert seat.mx(f"echo '{mark}' >> /etc/postfix/main.cf").exit_code == 0
    before = seat.lab.containers()["mx"]
    assert _docker("kill", before.id).returncode == 0
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        now = seat.lab.containers().get("mx")
        if now is not None and now.id != before.id and seat.lab.check_service("mx").ready:
            break
        time.sleep(2)
    else:
        raise AssertionError("no new mx task became ready")
    assert mark in seat.mx("cat /etc/postfix/main.cf").stdout
    state = seat.lab.current()
    assert state.name == "fixed" and "main.cf" in " ".join(state.modified), state
