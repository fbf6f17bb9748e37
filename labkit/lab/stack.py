"""A learner's lab as a Docker Swarm stack: the same images and the same lab, on a cluster.

A Compose lab lives on one machine; a workshop that outgrows one machine runs its seats
on a swarm (``labkit hub up --engine swarm``). A seat is then a *stack*: four swarm
services (``PROJECT_mx``, ...), its cables as overlay networks and its volumes, all
labelled ``com.docker.stack.namespace=PROJECT`` as ``docker stack deploy`` labels
them, so ``docker stack ls|ps|rm`` show and remove seats too. labkit creates them with
the Engine API itself (the hub's image has no docker CLI), from the very model Compose
resolves for the seat (``docker compose config``):

* every service of a seat runs on **one node** (a placement constraint), so the path
  and its timings stay a laptop's, and the learner's volume stays where their work is;
  the node is chosen by free memory (:func:`place`) and kept for the seat's next start;
* the cables become **internal, attachable overlays** with the same subnets; swarm
  gives tasks no fixed addresses on them, so each container's end of a cable is
  *named* instead (``mx-lan``, ``router-cafe``: network aliases) and ``lab-links``
  finds its peers by those names (``LAB_CABLES=names``), at start and again after a
  peer's task is replaced. The lab's own addresses (``P.25`` for mx, ...) run on the
  VXLAN links on top, exactly as under Compose: zones, resolvers and the server's view
  need no change;
* no Docker health checks (swarm puts a task's names on its networks only once it is
  healthy, and ``lab-links`` needs its peers' names to become healthy); labkit checks
  readiness itself, as it does for Compose labs;
* behind the hub nothing is published: the hub reaches the learner's server on the
  seat's ``public`` overlay (internal too); a workshop seat (``labkit workshop up
  --engine swarm --bind 0.0.0.0``) publishes JupyterLab on its node, on every address.

What is pure (the stack from a model, the placement) is tested without Docker; what
talks to the daemon goes through :class:`~labkit.lab.engine.DockerEngine`'s swarm calls
(the one place that translates Docker's errors).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from labkit.errors import LabNotRunningError, LabStateError, SetupError, UsageError
from labkit.lab.engine import STACK_LABEL

if TYPE_CHECKING:
    from labkit.lab.engine import DockerEngine

__all__ = [
    "DOCKER_HOST_LABEL",
    "LINK_OF_CABLE",
    "SEAT_MEMORY",
    "SeatStack",
    "StackMount",
    "StackNetwork",
    "StackService",
    "SwarmNode",
    "deploy",
    "node_engine",
    "nodes_by_id",
    "place",
    "remove",
    "require_manager",
    "seat_node",
    "seat_stack",
    "service_spec",
    "stack_projects",
    "swarm_nodes",
    "wait_tasks",
]

#: Cable network -> the lab-links link that runs over it (an end's name: ROLE-LINK).
LINK_OF_CABLE = {"server": "lan", "cafe": "cafe", "hotspot": "hotspot"}

#: The node label that names how to reach a node's Docker daemon from the hub's machine.
DOCKER_HOST_LABEL = "org.labkit.docker-host"

#: Where a replaced task would lose what a learner changed: a Compose container keeps its
#: files when it restarts, a swarm task's replacement starts from the image. The mail
#: server's configuration (the scenario, its record and the learner's edits) is kept in
#: a volume of the seat's own (filled from the image the first time).
KEPT = {"mx": (("mx-postfix", "/etc/postfix"),)}

#: What one idle seat holds in memory (bench_workshop: 115 MB per seat), rounded up.
SEAT_MEMORY = 128 * 2**20


@dataclass(frozen=True)
class StackMount:
    volume: str  # the volume's full name (PROJECT_learner)
    target: str
    read_only: bool = False


@dataclass(frozen=True)
class StackNetwork:
    name: str  # full name (PROJECT_server)
    subnet: str
    internal: bool = True


@dataclass(frozen=True)
class StackService:
    name: str  # the swarm service: PROJECT_SERVICE
    service: str  # the lab's service: mx, dns, router, workstation
    image: str
    hostname: str
    env: tuple[tuple[str, str], ...]
    cap_add: tuple[str, ...]
    sysctls: tuple[tuple[str, str], ...]
    init: bool
    stop_grace_s: float
    mounts: tuple[StackMount, ...]
    #: (network's full name, this service's name on it or "" for none).
    networks: tuple[tuple[str, str], ...]
    #: (published, target) ports, published on every address of the seat's node.
    ports: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class SeatStack:
    project: str
    node: str  # the swarm node ID every service runs on
    services: tuple[StackService, ...]
    networks: tuple[StackNetwork, ...]

    @property
    def volumes(self) -> tuple[str, ...]:
        return tuple(sorted({m.volume for s in self.services for m in s.mounts}))


#: One part of a Go duration as Compose prints it (``1m30s``, ``500ms``).
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(h|ms|us|m|s)")
_UNIT_S = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001, "us": 1e-6}


def _seconds(text: object, default: float = 10.0) -> float:
    """Compose's durations as ``config`` prints them: ``2s``, ``1m30s``, ``500ms``
    (``default``, Docker's own grace period, for anything else)."""
    if isinstance(text, int | float):
        return float(text)
    parts = _DURATION.findall(str(text))
    if not parts or "".join(n + u for n, u in parts) != str(text):
        return default
    return sum(float(n) * _UNIT_S[u] for n, u in parts)


def seat_stack(
    model: Mapping[str, Any], *, project: str, node: str, publish: bool = False
) -> SeatStack:
    """The stack of one seat, from the Compose model resolved for it (``docker compose
    -p PROJECT config --format json``), every service pinned to ``node``. With
    ``publish`` (a seat participants open directly, not through a hub), the model's
    ports are published on the node, on every address: a swarm cannot publish on one
    (so the model must say ``0.0.0.0``)."""
    networks_of = model.get("networks") or {}
    volumes_of = model.get("volumes") or {}

    def full(kind: Mapping[str, Any], name: str) -> str:
        return str((kind.get(name) or {}).get("name") or f"{project}_{name}")

    services = []
    for name, svc in sorted((model.get("services") or {}).items()):
        env = {str(k): str(v) for k, v in (svc.get("environment") or {}).items() if v is not None}
        env["LAB_CABLES"] = "names"
        mounts = tuple(
            StackMount(
                full(volumes_of, str(v["source"])), str(v["target"]), bool(v.get("read_only"))
            )
            for v in svc.get("volumes") or ()
            if v.get("type") == "volume" and v.get("source")
        ) + tuple(StackMount(f"{project}_{vol}", target) for vol, target in KEPT.get(name, ()))
        attached = tuple(
            (full(networks_of, net), f"{name}-{LINK_OF_CABLE[net]}" if net in LINK_OF_CABLE else "")
            for net in sorted(svc.get("networks") or {})
        )
        services.append(
            StackService(
                name=f"{project}_{name}",
                service=name,
                image=str(svc["image"]),
                hostname=str(svc.get("hostname") or name),
                env=tuple(sorted(env.items())),
                cap_add=tuple(svc.get("cap_add") or ()),
                sysctls=tuple(
                    sorted((str(k), str(v)) for k, v in (svc.get("sysctls") or {}).items())
                ),
                init=bool(svc.get("init")),
                stop_grace_s=_seconds(svc.get("stop_grace_period") or "10s"),
                mounts=mounts,
                networks=attached,
                ports=_ports(name, svc) if publish else (),
            )
        )
    cables = []
    for name, net in sorted(networks_of.items()):
        pools = (net.get("ipam") or {}).get("config") or ()
        subnets = [c["subnet"] for c in pools if c.get("subnet")]
        if len(subnets) != 1:
            raise UsageError(
                f"The lab's network {name!r} has no single fixed subnet, which a swarm seat needs.",
                advice="Give it one in lab/docker-compose.yml (ipam.config[0].subnet), as the "
                "lab's own networks have.",
            )
        # As Compose has it: the cables internal, the publishing network internal too
        # behind a hub (which joins it), open where JupyterLab is published.
        internal = bool(net.get("internal"))
        cables.append(StackNetwork(full(networks_of, name), subnets[0], internal=internal))
    return SeatStack(project, node, tuple(services), tuple(cables))


def _ports(name: str, svc: Mapping[str, Any]) -> tuple[tuple[int, int], ...]:
    ports = []
    for port in svc.get("ports") or ():
        if str(port.get("host_ip") or "0.0.0.0") != "0.0.0.0":
            raise UsageError(
                f"On a swarm, {name}'s port {port.get('published')} is published on every "
                f"address of its node, not on {port['host_ip']} alone.",
                advice="Say so with --bind 0.0.0.0 (JupyterLab keeps its token), or run the "
                "seats behind the hub (`labkit hub up --engine swarm`), which publishes nothing.",
            )
        ports.append((int(port["published"]), int(port["target"])))
    return tuple(ports)


# --------------------------------------------------------------------------- placement


@dataclass(frozen=True)
class SwarmNode:
    id: str
    hostname: str
    memory: int  # bytes the node has
    ready: bool  # ready and active: it may take new tasks
    seats: int = 0  # seats (stacks) with tasks on it now
    #: How the hub reaches this node's Docker daemon (its DOCKER_HOST_LABEL), if set.
    docker_host: str = ""
    #: The node's address in the swarm (where its published ports are).
    address: str = ""

    @property
    def free(self) -> int:
        """Memory left for more seats, by the measured size of one."""
        return self.memory - self.seats * SEAT_MEMORY


def place(nodes: Sequence[SwarmNode], *, keep: str | None = None) -> SwarmNode:
    """The node a seat goes to: the one it ran on before (``keep``: its learner's work is
    in a volume there) if that node still takes tasks, else the one with the most free
    memory (the hostname breaks ties, so the choice is the same every time)."""
    usable = [n for n in nodes if n.ready]
    kept = next((n for n in usable if n.id == keep), None)
    if kept is not None:
        return kept
    if not usable:
        raise LabStateError(
            "No node of the swarm can take a seat (none is ready and active).",
            advice="`docker node ls` shows the nodes; `docker node update --availability "
            "active NODE` puts a drained one back.",
        )
    best = max(usable, key=lambda n: (n.free, n.hostname))
    if best.free < SEAT_MEMORY:
        raise LabStateError(
            f"The swarm is full: no node has {SEAT_MEMORY >> 20} MiB left for another seat "
            f"(the best, {best.hostname}, has {max(best.free, 0) >> 20} MiB).",
            advice="Add a node (`docker swarm join-token worker` on a manager says how), or "
            "stop idle learners' servers from the hub's admin page.",
        )
    return best


# --------------------------------------------------------------------------- the spec


def service_spec(svc: StackService, stack: SeatStack) -> dict[str, Any]:
    """The Engine API's ``ServiceSpec`` for one service of the seat (plain JSON)."""
    label = {STACK_LABEL: stack.project}
    container: dict[str, Any] = {
        "Image": svc.image,
        "Hostname": svc.hostname,
        "Env": [f"{k}={v}" for k, v in svc.env],
        "Labels": label,
        "Mounts": [
            {
                "Type": "volume",
                "Source": m.volume,
                "Target": m.target,
                "ReadOnly": m.read_only,
                "VolumeOptions": {"Labels": label},
            }
            for m in svc.mounts
        ],
        "StopGracePeriod": int(svc.stop_grace_s * 1e9),
        # labkit checks readiness itself (see the module's notes).
        "Healthcheck": {"Test": ["NONE"]},
        "Init": svc.init,
    }
    if svc.cap_add:
        container["CapabilityAdd"] = list(svc.cap_add)
    if svc.sysctls:
        container["Sysctls"] = dict(svc.sysctls)
    return {
        "Name": svc.name,
        "Labels": label,
        "TaskTemplate": {
            "ContainerSpec": container,
            "RestartPolicy": {"Condition": "any", "Delay": int(1e9)},
            "Placement": {"Constraints": [f"node.id=={stack.node}"]},
            "Networks": [
                {"Target": net, **({"Aliases": [alias]} if alias else {})}
                for net, alias in svc.networks
            ],
        },
        "Mode": {"Replicated": {"Replicas": 1}},
        # Names give the tasks' own addresses (what the VXLAN links need), not a VIP;
        # so ports are published on the node itself ("host" mode), not the routing mesh.
        "EndpointSpec": {
            "Mode": "dnsrr",
            **(
                {
                    "Ports": [
                        {
                            "Protocol": "tcp",
                            "TargetPort": t,
                            "PublishedPort": p,
                            "PublishMode": "host",
                        }
                        for p, t in svc.ports
                    ]
                }
                if svc.ports
                else {}
            ),
        },
    }


# --------------------------------------------------------------------------- the daemon


def require_manager(engine: DockerEngine) -> str:
    """This daemon's node ID, if it is a swarm manager; else a SetupError that says how
    to make one."""
    swarm = engine.swarm()
    if swarm.get("LocalNodeState") != "active":
        raise SetupError(
            "This Docker is not part of a swarm, so it cannot run seats with --engine swarm.",
            advice="Make this machine a swarm manager: `docker swarm init` (add "
            "`--advertise-addr ADDRESS` where it has several); other machines join with the "
            "command `docker swarm join-token worker` prints. Or leave --engine out: one "
            "machine runs seats with Compose.",
        )
    if not swarm.get("ControlAvailable"):
        raise LabStateError(
            "This Docker is a swarm worker; seats are started from a manager.",
            advice="Run the hub on a manager node (`docker node ls` there lists them).",
        )
    return str(swarm.get("NodeID", ""))


def _node(data: Mapping[str, Any]) -> SwarmNode:
    """One node as the Engine API describes it (no seats counted)."""
    described = data.get("Description") or {}
    spec = data.get("Spec") or {}
    status = data.get("Status") or {}
    return SwarmNode(
        id=str(data["ID"]),
        hostname=str(described.get("Hostname") or data["ID"][:12]),
        memory=int((described.get("Resources") or {}).get("MemoryBytes") or 0),
        ready=status.get("State") == "ready" and spec.get("Availability") == "active",
        docker_host=str((spec.get("Labels") or {}).get(DOCKER_HOST_LABEL, "")),
        address=str(status.get("Addr") or ""),
    )


def nodes_by_id(engine: DockerEngine) -> dict[str, SwarmNode]:
    """The swarm's nodes by ID (one call; seats not counted)."""
    return {n.id: n for n in map(_node, engine.swarm_nodes())}


def swarm_nodes(engine: DockerEngine) -> list[SwarmNode]:
    """The swarm's nodes, each with the number of seats that run on it now (two calls)."""
    seats: dict[str, set[str]] = {}
    for task in engine.swarm_tasks(desired_state="running"):
        labels = ((task.get("Spec") or {}).get("ContainerSpec") or {}).get("Labels") or {}
        if STACK_LABEL in labels and task.get("NodeID"):
            seats.setdefault(str(task["NodeID"]), set()).add(labels[STACK_LABEL])
    return [replace(n, seats=len(seats.get(n.id, ()))) for n in nodes_by_id(engine).values()]


def seat_node(engine: DockerEngine, project: str, *, kept: str | None = None) -> SwarmNode | None:
    """The node the seat ``project`` runs on: where its running tasks are, else the node
    it was placed on before (``kept``); None for a seat that never ran. Asks only for
    this seat's tasks (what the instructor's grid does for every learner, every round)."""
    nodes = nodes_by_id(engine)
    ids = [str(s["ID"]) for s in engine.swarm_services(label=f"{STACK_LABEL}={project}")]
    running = (
        {str(t.get("NodeID", "")) for t in engine.swarm_tasks(service=ids, desired_state="running")}
        if ids
        else set()
    )
    for node in nodes.values():
        if node.id in running:
            return node
    return nodes.get(kept) if kept else None


def node_engine(manager: DockerEngine, node: SwarmNode) -> DockerEngine:
    """The daemon that runs the node's containers, as labkit reaches it from here: the
    one its label names, this machine's own when it is this node, else a SetupError
    that says how to name it."""
    from labkit.lab.engine import DockerEngine

    if node.docker_host:
        return DockerEngine(host=node.docker_host)
    if node.id == manager.swarm().get("NodeID"):
        return manager
    raise SetupError(
        f"The seat runs on swarm node {node.hostname}, whose Docker daemon labkit cannot reach "
        "from here (docker exec, logs and volumes are each node's own).",
        advice="Name the node's daemon as this machine reaches it: `docker node update "
        f"--label-add {DOCKER_HOST_LABEL}=tcp://ADDRESS:2376 {node.hostname}` (with TLS "
        "as DOCKER_TLS_VERIFY and DOCKER_CERT_PATH say) or ssh://USER@ADDRESS. "
        "docs/swarm.md shows the whole setup.",
    )


def stack_projects(engine: DockerEngine) -> set[str]:
    """Stacks that have services (running or not) on this swarm; none off a manager."""
    if engine.swarm().get("ControlAvailable") is not True:
        return set()
    return {
        str(((s.get("Spec") or {}).get("Labels") or {}).get(STACK_LABEL, ""))
        for s in engine.swarm_services(label=STACK_LABEL)
    } - {""}


def deploy(engine: DockerEngine, stack: SeatStack) -> None:
    """Create the seat's networks and services (what exists already is kept, as
    ``docker compose up`` keeps running containers)."""
    label = {STACK_LABEL: stack.project}
    for net in stack.networks:
        found = engine.network(net.name)
        if found is None or found.driver != "overlay":
            engine.create_overlay(net.name, net.subnet, internal=net.internal, labels=label)
    have = {
        s["Spec"]["Name"] for s in engine.swarm_services(label=f"{STACK_LABEL}={stack.project}")
    }
    for svc in stack.services:
        if svc.name not in have:
            engine.create_service(service_spec(svc, stack))


def wait_tasks(
    engine: DockerEngine, project: str, services: Iterable[str], *, timeout: float = 180
) -> None:
    """Wait until every service of the seat has a running task; a task the swarm
    rejects (no such image on the node, a volume it cannot mount) fails at once, with
    the swarm's own words."""
    wanted = {f"{project}_{s}" for s in services}
    ids = {
        s["ID"]: s["Spec"]["Name"]
        for s in engine.swarm_services(label=f"{STACK_LABEL}={project}")
        if s["Spec"]["Name"] in wanted
    }
    missing = wanted - set(ids.values())
    if missing:
        raise LabStateError(
            f"The seat {project} has no swarm service {', '.join(sorted(missing))}.",
            advice="Start it again (`labkit down` then `labkit up`, or stop and start the "
            "learner's server on the hub).",
        )
    deadline = time.monotonic() + timeout
    while True:
        newest: dict[str, dict[str, Any]] = {}
        for task in engine.swarm_tasks(service=sorted(ids)):
            sid = str(task.get("ServiceID", ""))
            if str(task.get("CreatedAt", "")) >= str(newest.get(sid, {}).get("CreatedAt", "")):
                newest[sid] = task
        waiting = []
        for sid, name in sorted(ids.items(), key=lambda kv: kv[1]):
            status = newest.get(sid, {}).get("Status") or {}
            state = str(status.get("State", "new"))
            if state == "running":
                continue
            said = str(status.get("Err") or status.get("Message") or state)
            if state == "rejected":
                raise LabStateError(
                    f"The swarm could not start {name}: {said}", advice=_rejected_advice(said)
                )
            waiting.append(f"{name}: {said}")
        if not waiting:
            return
        if time.monotonic() > deadline:
            raise LabStateError(
                f"The seat {project}'s tasks were not running after {timeout:.0f} s.",
                advice=f"The swarm says: {'; '.join(waiting)}. `docker service ps "
                f"{project}_mx --no-trunc` shows more.",
            )
        time.sleep(0.25)


def _rejected_advice(said: str) -> str:
    if "image" in said.lower():
        return (
            "The node has no such image: copy labkit's images to every node with `labkit "
            "images export - | ssh NODE labkit images import -`, or `labkit images push "
            "--registry HOST:PORT` here and `labkit images pull --registry HOST:PORT` there."
        )
    return "`docker service ps --no-trunc` shows the swarm's view; `docker node ls` the nodes."


def remove(
    engine: DockerEngine,
    project: str,
    *,
    volumes: bool = False,
    node: DockerEngine | None = None,
    timeout: float = 60,
) -> None:
    """Remove the seat's services (``engine``: a manager), then, once their containers
    are gone from its ``node``'s daemon, its networks, and with ``volumes`` its volumes
    there (the learner's work)."""
    node = node or engine
    label = f"{STACK_LABEL}={project}"
    for svc in engine.swarm_services(label=label):
        engine.remove_service(str(svc["ID"]))
    deadline = time.monotonic() + timeout
    while node.containers(project=project, stack=True):
        if time.monotonic() > deadline:
            raise LabStateError(
                f"The seat {project}'s containers were still there {timeout:.0f} s after its "
                "services were removed.",
                advice=f"`docker ps -a --filter label={label}` shows them; remove them with "
                "`docker rm -f`, then run the same command again.",
            )
        time.sleep(0.25)
    pending = engine.networks(label=label)
    while pending:
        left = []
        for name in pending:
            try:
                engine.remove_network(name)
            except LabNotRunningError:
                pass  # gone already
            except LabStateError:
                left.append(name)  # an endpoint is still being detached: again shortly
        pending = left
        if pending and time.monotonic() > deadline:
            raise LabStateError(
                f"The seat {project}'s networks {', '.join(pending)} could not be removed.",
                advice="`docker network inspect NAME` shows what is still attached.",
            )
        if pending:
            time.sleep(0.25)
    if volumes:
        for name in node.volumes(label=label):
            node.remove_volume(name)
