"""A seat as a swarm stack, without a swarm: the stack labkit makes from the model
Compose resolves for a seat (the real lab file, through the real ``docker compose
config``), where seats are placed, and what the daemon's answers mean."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from labkit.errors import LabStateError, SetupError, UsageError
from labkit.hub.grid import LearnerRow, grid_json, render_grid
from labkit.hub.service import _node_certs_env
from labkit.lab.config import LabConfig
from labkit.lab.engine import NODE_CERTS_VARIABLE, Compose, Container, by_service, node_environment
from labkit.lab.stack import (
    SEAT_MEMORY,
    SwarmNode,
    _seconds,
    node_engine,
    place,
    require_manager,
    seat_node,
    seat_stack,
    service_spec,
    swarm_nodes,
)

REPO = Path(__file__).resolve().parents[2]
CONFIG = LabConfig(project="seat7", net_prefix="10.124.7")


def _model(config: LabConfig = CONFIG, **env: str) -> dict[str, Any]:
    env = {"LABKIT_JUPYTER_TOKEN": "t" * 32, "LABKIT_HOST_CA": os.devnull, **env}
    return Compose(config, REPO, env).model()


@pytest.fixture(scope="module")
def model() -> dict[str, Any]:
    """A learner's lab behind the hub (what Lab(behind_hub=True) hands Compose)."""
    return _model(LABKIT_PUBLIC_INTERNAL="true", LABKIT_HUB_MODE="1")


@pytest.fixture(scope="module")
def stack(model):
    return seat_stack(model, project="seat7", node="node-a")


def test_a_workshop_seat_publishes_jupyterlab_on_its_node_on_every_address():
    everywhere = LabConfig(
        project="seat7", net_prefix="10.124.7", bind="0.0.0.0", jupyter_port=8907
    )
    seat = seat_stack(_model(everywhere), project="seat7", node="n", publish=True)
    services = {s.service: s for s in seat.services}
    assert services["workstation"].ports == ((8907, 8888),)
    assert all(not s.ports for name, s in services.items() if name != "workstation")
    public = next(n for n in seat.networks if n.name == "seat7_public")
    assert not public.internal  # a published port needs a way in; the cables stay internal
    assert all(n.internal for n in seat.networks if n is not public)
    endpoint = service_spec(services["workstation"], seat)["EndpointSpec"]
    assert endpoint["Ports"] == [
        {"Protocol": "tcp", "TargetPort": 8888, "PublishedPort": 8907, "PublishMode": "host"}
    ]
    # A swarm cannot publish on one address: asking for loopback is a clear error.
    with pytest.raises(UsageError, match="every address") as caught:
        seat_stack(_model(), project="seat7", node="n", publish=True)
    assert "--bind 0.0.0.0" in (caught.value.advice or "")


def test_a_seat_is_four_services_of_its_own_on_its_cables(stack):
    services = {s.service: s for s in stack.services}
    assert sorted(services) == ["dns", "mx", "router", "workstation"]
    assert {s.name for s in stack.services} == {f"seat7_{s}" for s in services}
    assert stack.node == "node-a"
    # The cables keep their subnets (the lab's addresses depend on them), all internal.
    subnets = {n.name: n.subnet for n in stack.networks}
    assert subnets == {
        **{f"seat7_{cable}": subnet for cable, subnet in CONFIG.cables.items()},
        "seat7_public": "10.124.7.240/28",
    }
    assert all(n.internal for n in stack.networks)  # behind the hub: nothing published
    assert all(not s.ports for s in stack.services)
    # Each end of a cable is named after its role and link: what lab-links asks for.
    assert dict(services["router"].networks) == {
        "seat7_server": "router-lan",
        "seat7_cafe": "router-cafe",
        "seat7_hotspot": "router-hotspot",
    }
    assert dict(services["mx"].networks) == {"seat7_server": "mx-lan"}
    assert dict(services["workstation"].networks) == {
        "seat7_cafe": "workstation-cafe",
        "seat7_hotspot": "workstation-hotspot",
        "seat7_public": "",
    }
    for svc in stack.services:
        env = dict(svc.env)
        assert env["LAB_CABLES"] == "names" and env["LAB_NET_PREFIX"] == "10.124.7"
        assert svc.cap_add == ("NET_ADMIN",)
        assert svc.image == f"labkit/{svc.service}:dev"


def test_what_compose_says_of_each_service_reaches_the_swarm(stack):
    services = {s.service: s for s in stack.services}
    assert dict(services["router"].sysctls) == {"net.ipv4.ip_forward": "1"}
    assert services["workstation"].init and not services["mx"].init
    assert (services["router"].stop_grace_s, services["mx"].stop_grace_s) == (2.0, 3.0)
    assert services["mx"].hostname == "metagross"
    mounts = {m.target: m for m in services["workstation"].mounts}
    assert mounts["/home/learner"].volume == "seat7_learner"  # the learner's work
    assert mounts["/lab/shared"].read_only and not mounts["/lab/zones"].read_only
    assert stack.volumes == (
        "seat7_learner",
        "seat7_mx-postfix",  # a replaced mx task keeps the scenario and the learner's edits
        "seat7_mx-secrets",
        "seat7_shared",
        "seat7_zones",
    )
    assert {m.target: m.volume for m in services["mx"].mounts}["/etc/postfix"] == "seat7_mx-postfix"


def test_a_network_without_its_own_subnet_cannot_be_a_seats_cable(model):
    broken = json.loads(json.dumps(model))
    broken["networks"]["cafe"].pop("ipam")
    with pytest.raises(UsageError, match="cafe"):
        seat_stack(broken, project="seat7", node="n")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("2s", 2.0), ("1m30s", 90.0), ("500ms", 0.5), ("1h", 3600.0), (3, 3.0), ("soon", 10.0)],
)
def test_compose_durations(text, seconds):
    assert _seconds(text) == pytest.approx(seconds)


def _node(name: str, gib: float, seats: int = 0, ready: bool = True) -> SwarmNode:
    return SwarmNode(f"id-{name}", name, int(gib * 2**30), ready, seats)


def test_a_seat_goes_where_most_memory_is_free_and_stays_there():
    nodes = [_node("a", 16, seats=60), _node("b", 16, seats=10), _node("c", 8)]
    assert place(nodes).hostname == "b"  # 16 GiB - 10 seats beats 8 GiB empty
    assert place(nodes, keep="id-a").hostname == "a"  # its learner's volume is there
    # A node that went away or was drained: placed afresh.
    drained = [_node("a", 16, ready=False), _node("c", 8)]
    assert place(drained, keep="id-a").hostname == "c"
    assert place([_node("y", 4), _node("x", 4)]).hostname == "y"  # ties: the same each time


def test_a_full_or_empty_swarm_says_what_to_do():
    full = [_node("a", 1, seats=int(2**30 / SEAT_MEMORY))]
    with pytest.raises(LabStateError, match="full") as caught:
        place(full)
    assert "join-token" in (caught.value.advice or "")
    with pytest.raises(LabStateError, match="No node") as caught:
        place([_node("a", 16, ready=False)])
    assert "docker node" in (caught.value.advice or "")


class FakeEngine:
    """A daemon's answers, as a swarm gives them (through the engine's swarm calls)."""

    def __init__(self, swarm: dict[str, Any], nodes=(), tasks=(), services=()) -> None:  # type: ignore[no-untyped-def]
        self._swarm, self._nodes, self._tasks = swarm, list(nodes), list(tasks)
        self._services = list(services)

    def swarm(self) -> dict[str, Any]:
        return self._swarm

    def swarm_nodes(self) -> list[dict[str, Any]]:
        return self._nodes

    def swarm_services(self, *, label: str) -> list[dict[str, Any]]:
        key, _, value = label.partition("=")
        return [s for s in self._services if s["Spec"]["Labels"].get(key) == value]

    def swarm_tasks(self, **filters: Any) -> list[dict[str, Any]]:
        wanted = filters.get("service")
        return [t for t in self._tasks if wanted is None or t.get("ServiceID") in wanted]


def test_only_a_manager_starts_seats():
    with pytest.raises(SetupError, match="not part of a swarm") as caught:
        require_manager(FakeEngine({"LocalNodeState": "inactive"}))  # type: ignore[arg-type]
    assert "docker swarm init" in (caught.value.advice or "")
    worker = FakeEngine({"LocalNodeState": "active", "ControlAvailable": False})
    with pytest.raises(LabStateError, match="worker"):
        require_manager(worker)  # type: ignore[arg-type]
    manager = FakeEngine({"LocalNodeState": "active", "ControlAvailable": True, "NodeID": "n1"})
    assert require_manager(manager) == "n1"  # type: ignore[arg-type]


def test_nodes_count_the_seats_that_run_on_them():
    def node(nid: str, state: str = "ready", availability: str = "active") -> dict[str, Any]:
        return {
            "ID": nid,
            "Description": {"Hostname": f"host-{nid}", "Resources": {"MemoryBytes": 2**34}},
            "Status": {"State": state},
            "Spec": {"Availability": availability},
        }

    def task(nid: str, seat: str | None) -> dict[str, Any]:
        labels = {"com.docker.stack.namespace": seat} if seat else {}
        return {"NodeID": nid, "Spec": {"ContainerSpec": {"Labels": labels}}}

    engine = FakeEngine(
        {},
        nodes=[node("n1"), node("n2", availability="drain"), node("n3", state="down")],
        tasks=[task("n1", "s1"), task("n1", "s1"), task("n1", "s2"), task("n2", None)],
    )
    found = {n.id: n for n in swarm_nodes(engine)}  # type: ignore[arg-type]
    assert (found["n1"].seats, found["n2"].seats, found["n3"].seats) == (2, 0, 0)
    assert [n.id for n in found.values() if n.ready] == ["n1"]
    assert found["n1"].hostname == "host-n1" and found["n1"].memory == 2**34


def _listed(name: str, state: str, created: int, labels: dict[str, str]) -> Container:
    return Container.from_listing(
        {"Id": name, "Names": [f"/{name}"], "State": state, "Created": created, "Labels": labels}
    )


def test_a_swarm_task_is_listed_as_its_seat_and_service():
    labels = {
        "com.docker.stack.namespace": "seat7",
        "com.docker.swarm.service.name": "seat7_mx",
        "com.docker.swarm.node.id": "node-a",
        # Compose's labels come along inside the image: the stack's win.
        "com.docker.compose.project": "labkit",
        "com.docker.compose.service": "mx",
    }
    c = _listed("seat7_mx.1.abc", "running", 5, labels)
    assert (c.project, c.service, c.node) == ("seat7", "mx", "node-a")
    compose = _listed(
        "labkit-mx-1",
        "running",
        5,
        {"com.docker.compose.project": "labkit", "com.docker.compose.service": "mx"},
    )
    assert (compose.project, compose.service, compose.node) == ("labkit", "mx", "")


def test_one_container_per_service_the_running_one_else_the_newest():
    labels = {"com.docker.stack.namespace": "s", "com.docker.swarm.service.name": "s_mx"}
    old = _listed("s_mx.1.old", "exited", 1, labels)
    new = _listed("s_mx.1.new", "running", 2, labels)
    newer_dead = _listed("s_mx.1.dead", "exited", 3, labels)
    assert by_service([old, newer_dead, new])["mx"] is new
    assert by_service([old, newer_dead])["mx"] is newer_dead


def test_the_engine_is_compose_or_swarm(monkeypatch):
    assert LabConfig.from_env().engine == "compose"
    monkeypatch.setenv("LABKIT_ENGINE", "swarm")
    assert LabConfig.from_env().engine == "swarm"
    monkeypatch.setenv("LABKIT_ENGINE", "kubernetes")
    with pytest.raises(UsageError, match="Unknown engine") as caught:
        LabConfig.from_env()
    assert "swarm" in (caught.value.advice or "")


def test_the_grid_shows_each_labs_node_only_on_a_swarm():
    on_swarm = [LearnerRow("ada", True, node="node-a"), LearnerRow("bob", False)]
    page = render_grid(on_swarm, viewer="teach", admin=True)
    assert "<th>node</th>" in page and '<td class="node">node-a</td>' in page
    assert grid_json(on_swarm)[0]["node"] == "node-a"
    one_machine = render_grid([LearnerRow("ada", True)], viewer="teach", admin=True)
    assert "<th>node</th>" not in one_machine


def test_each_service_is_one_task_pinned_to_the_seats_node_with_named_cable_ends(stack):
    router = next(s for s in stack.services if s.service == "router")
    spec = service_spec(router, stack)
    template = spec["TaskTemplate"]
    assert spec["Name"] == "seat7_router" and spec["Mode"] == {"Replicated": {"Replicas": 1}}
    assert spec["Labels"] == {"com.docker.stack.namespace": "seat7"}
    assert template["Placement"]["Constraints"] == ["node.id==node-a"]
    assert {"Target": "seat7_cafe", "Aliases": ["router-cafe"]} in template["Networks"]
    assert spec["EndpointSpec"] == {"Mode": "dnsrr"}  # names give the tasks' own addresses
    container = template["ContainerSpec"]
    assert container["Healthcheck"] == {"Test": ["NONE"]}
    assert container["CapabilityAdd"] == ["NET_ADMIN"]
    assert container["Sysctls"] == {"net.ipv4.ip_forward": "1"}
    assert container["StopGracePeriod"] == 2_000_000_000
    assert "LAB_CABLES=names" in container["Env"]
    # Its containers and volumes carry the seat's label: found, listed and removed by it.
    assert container["Labels"] == spec["Labels"]
    assert all(m["VolumeOptions"]["Labels"] == spec["Labels"] for m in container["Mounts"])
    workstation = next(s for s in stack.services if s.service == "workstation")
    assert {"Target": "seat7_public"} in service_spec(workstation, stack)["TaskTemplate"][
        "Networks"
    ]


def test_a_seat_on_another_node_is_reached_through_the_daemon_its_label_names():
    manager = FakeEngine({"LocalNodeState": "active", "ControlAvailable": True, "NodeID": "me"})
    here = SwarmNode("me", "hub-host", 2**34, True)
    assert node_engine(manager, here) is manager  # type: ignore[arg-type]
    labelled = SwarmNode("n2", "node2", 2**34, True, docker_host="tcp://10.0.0.12:2376")
    reached = node_engine(manager, labelled)  # type: ignore[arg-type]
    assert reached is not manager and reached.host == "tcp://10.0.0.12:2376"
    with pytest.raises(SetupError, match="node3") as caught:
        node_engine(manager, SwarmNode("n3", "node3", 2**34, True))  # type: ignore[arg-type]
    assert "docker node update --label-add org.labkit.docker-host=" in (caught.value.advice or "")


def test_a_seat_is_found_on_the_node_its_tasks_run_on_else_where_it_was_placed():
    def node(nid: str) -> dict[str, Any]:
        return {
            "ID": nid,
            "Description": {"Hostname": nid},
            "Status": {"State": "ready"},
            "Spec": {
                "Availability": "active",
                "Labels": {"org.labkit.docker-host": f"tcp://{nid}:2376"},
            },
        }

    seat = {"com.docker.stack.namespace": "s1"}
    task = {"NodeID": "n2", "ServiceID": "v1", "Spec": {"ContainerSpec": {"Labels": seat}}}
    other = {"NodeID": "n1", "ServiceID": "v2", "Spec": {"ContainerSpec": {"Labels": {}}}}
    services = [{"ID": "v1", "Spec": {"Labels": seat}}]
    engine = FakeEngine({}, nodes=[node("n1"), node("n2")], tasks=[other, task], services=services)
    found = seat_node(engine, "s1")  # type: ignore[arg-type]
    assert found is not None and found.id == "n2" and found.docker_host == "tcp://n2:2376"
    assert seat_node(engine, "s9", kept="n1").id == "n1"  # type: ignore[arg-type,union-attr]
    assert seat_node(engine, "s9") is None  # type: ignore[arg-type]


def _tls_folder(tmp_path: Path, files: tuple[str, ...] = ("ca.pem", "cert.pem", "key.pem")) -> Path:
    for name in files:
        (tmp_path / name).write_text("x")
    return tmp_path


def test_other_nodes_daemons_are_reached_with_tls_when_the_hub_has_the_files(tmp_path):
    certs = _tls_folder(tmp_path)
    env = {NODE_CERTS_VARIABLE: str(certs), "PATH": "/bin"}
    tls = node_environment("tcp://10.0.0.12:2376", env)
    assert tls["DOCKER_HOST"] == "tcp://10.0.0.12:2376"
    assert (tls["DOCKER_TLS_VERIFY"], tls["DOCKER_CERT_PATH"]) == ("1", str(certs))
    ssh = node_environment("ssh://labkit@node2", env)  # SSH brings its own security
    assert "DOCKER_TLS_VERIFY" not in ssh and ssh["DOCKER_HOST"] == "ssh://labkit@node2"
    plain = node_environment("tcp://10.0.0.12:2375", {NODE_CERTS_VARIABLE: ""})
    assert "DOCKER_TLS_VERIFY" not in plain


def test_incomplete_tls_files_are_a_clear_error_before_anything_starts(tmp_path):
    half = _tls_folder(tmp_path, ("ca.pem",))
    with pytest.raises(SetupError, match="cert.pem, key.pem"):
        node_environment("tcp://10.0.0.12:2376", {NODE_CERTS_VARIABLE: str(half)})
    with pytest.raises(UsageError, match="cert.pem, key.pem") as caught:
        _node_certs_env(half)
    assert "--node-certs" in (caught.value.advice or "")
    whole = _tls_folder(tmp_path)
    assert _node_certs_env(whole) == {
        "LABKIT_NODE_CERTS": str(whole.resolve()),
        "LABKIT_NODE_CERT_PATH": "/srv/hub/node-certs",
    }
    assert _node_certs_env(None) == {}
