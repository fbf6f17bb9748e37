"""Hub benchmark: how long a learner waits from login to a ready lab, and what the
hub's labs cost while they sit idle.

Prints figures (no pass/fail), with the issue's target beside the warm login (<= 5 s):

1. ``labkit hub up`` with ``--seats-warm W`` for a roster of ``--learners N``, timed whole
   (includes starting the W warm labs; images must exist, as after ``labkit build``);
2. one warm learner alone: login (form) to a ready server through the hub, then the
   first page of their server (the contents API) through the hub's proxy;
3. one cold learner alone, the same way;
4. every other learner at once (the room at 9:00): all ready, and the median and
   slowest login-to-ready;
5. after ``--settle`` seconds, all labs left idle for ``--interval`` seconds: CPU of
   every container of the hub's labs (cgroup accounting), per lab, and memory per lab;
6. ``labkit hub down --volumes``, timed.

``--engine swarm`` runs the learners' labs as stacks on a swarm (``labkit hub up --engine
swarm``; a single-node swarm on loopback is made for the run and left afterwards when
this machine is in none); ``--engine both`` runs the whole sequence once per engine and
prints them side by side. Beside them, the floor of each: Docker starting one container
of the lab's images and ending it (``docker run --rm``), and the swarm starting one
service until its task runs (``docker service create --detach=false``).

    python benchmarks/bench_hub.py --learners 6 --warm 2
    python benchmarks/bench_hub.py --learners 6 --warm 2 --engine both
    python benchmarks/bench_hub.py --learners 20 --warm 5 --interval 120 --json
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_workshop import cpu_seconds, memory_bytes  # noqa: E402

PROJECT = "labkit-bench-hub"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def labkit(*args: str, cwd: Path) -> float:
    env = dict(os.environ, LABKIT_HUB_PROJECT=PROJECT)
    started = time.monotonic()
    proc = subprocess.run(["labkit", *args], capture_output=True, text=True, env=env, cwd=cwd)
    if proc.returncode != 0:
        raise SystemExit(f"labkit {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return time.monotonic() - started


def arrive(url: str, name: str) -> float:
    """Seconds from the login form to the first page of the learner's own server."""
    started = time.monotonic()
    s = requests.Session()
    s.get(f"{url}/hub/login", timeout=30).raise_for_status()
    r = s.post(
        f"{url}/hub/login",
        data={"username": name, "password": f"{name}-password", "_xsrf": s.cookies["_xsrf"]},
        allow_redirects=False,
        timeout=60,
    )
    r.raise_for_status()
    headers = {"X-XSRFToken": s.cookies.get("_xsrf") or ""}
    s.post(f"{url}/hub/api/users/{name}/server", headers=headers, timeout=600)
    while True:
        server = s.get(f"{url}/hub/api/users/{name}", headers=headers, timeout=30).json()
        if server.get("servers", {}).get("", {}).get("ready"):
            break
        if time.monotonic() - started > 600:
            raise SystemExit(f"{name}'s server was not ready in 600 s")
        time.sleep(0.2)
    token = s.post(
        f"{url}/hub/api/users/{name}/tokens", headers=headers, json={"note": "bench"}, timeout=30
    ).json()["token"]
    page = requests.get(
        f"{url}/user/{name}/api/contents", headers={"Authorization": f"token {token}"}, timeout=60
    )
    page.raise_for_status()
    return time.monotonic() - started


def _docker(*args: str) -> str:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=True).stdout


def idle_cost(interval: float) -> tuple[float, float, int]:
    """Per-lab CPU (% of one core) and memory (MiB) of the hub's labs, and how many."""
    labs: set[str] = set()
    ids: list[str] = []
    for label in ("com.docker.compose.project", "com.docker.stack.namespace"):
        listed = _docker("ps", "--no-trunc", "--format", f'{{{{.ID}}}} {{{{.Label "{label}"}}}}')
        for line in listed.splitlines():
            cid, _, lab = line.partition(" ")
            if lab.startswith(f"{PROJECT}-"):
                labs.add(lab)
                ids.append(cid)
    before = sum(cpu_seconds(c) for c in ids)
    time.sleep(interval)
    used = sum(cpu_seconds(c) for c in ids) - before
    memory = sum(memory_bytes(c) for c in ids)
    n = max(1, len(labs))
    return 100 * used / interval / n, memory / n / 2**20, len(labs)


def floors() -> dict[str, float]:
    """What Docker itself takes: one container of the lab's images started and ended;
    on a swarm, one service created until its task runs (asked every 0.05 s), then removed."""
    started = time.monotonic()
    _docker("run", "--rm", "--entrypoint", "true", "labkit/router:dev")
    run = time.monotonic() - started
    found: dict[str, float] = {"docker_run_s": run}
    if _docker("info", "--format", "{{.Swarm.ControlAvailable}}").strip() == "true":
        name = f"{PROJECT}-floor"
        started = time.monotonic()
        _docker(
            "service", "create", "--detach", "--quiet", "--name", name,
            "--no-healthcheck", "--entrypoint", "sleep", "labkit/router:dev", "600",
        )  # fmt: skip
        while not _docker("service", "ps", name, "--format", "{{.CurrentState}}").startswith(
            "Running"
        ):
            time.sleep(0.05)
        found["service_create_s"] = time.monotonic() - started
        _docker("service", "rm", name)
    return found


def one_engine(engine: str, args: argparse.Namespace) -> dict[str, object]:
    """The whole sequence for the learners' labs on ``engine``."""
    learners = [f"l{n:02d}" for n in range(1, args.learners + 1)]
    folder = Path(tempfile.mkdtemp(prefix="bench-hub-"))
    (folder / "roster.csv").write_text(
        "username,role\nteach,instructor\n" + "".join(f"{u}\n" for u in learners)
    )
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    figures: dict[str, object] = {"engine": engine, "learners": args.learners, "warm": args.warm}
    try:
        figures["hub_up_s"] = labkit(
            "hub", "up", "--roster", "roster.csv", "--port", str(port),
            "--seats-warm", str(args.warm), "--engine", engine, cwd=folder,
        )  # fmt: skip
        warm, cold, rest = learners[0], learners[args.warm], learners[args.warm + 1 :]
        figures["warm_login_s"] = arrive(url, warm)
        figures["cold_login_s"] = arrive(url, cold)
        started = time.monotonic()
        with ThreadPoolExecutor(max(1, len(rest))) as pool:
            took = list(pool.map(lambda n: arrive(url, n), rest))
        figures["room_at_once"] = {
            "learners": len(rest),
            "all_ready_s": time.monotonic() - started,
            "median_login_s": statistics.median(took) if took else None,
            "slowest_login_s": max(took) if took else None,
        }
        time.sleep(args.settle)
        cpu, mib, labs = idle_cost(args.interval)
        figures["idle"] = {"labs": labs, "cpu_percent_per_lab": cpu, "memory_mib_per_lab": mib}
    finally:
        figures["hub_down_s"] = labkit("hub", "down", "--volumes", cwd=folder)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=6)
    parser.add_argument("--warm", type=int, default=2)
    parser.add_argument("--interval", type=float, default=60)
    parser.add_argument(
        "--settle",
        type=float,
        default=60,
        help="seconds to wait after the logins before measuring idle cost (the grid's "
        "first full check of each new lab happens then)",
    )
    parser.add_argument("--engine", choices=("compose", "swarm", "both"), default="compose")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    engines = ["compose", "swarm"] if args.engine == "both" else [args.engine]
    made_swarm = False
    if (
        "swarm" in engines
        and _docker("info", "--format", "{{.Swarm.LocalNodeState}}").strip() == "inactive"
    ):
        _docker(
            "swarm", "init", "--advertise-addr", "127.0.0.1", "--default-addr-pool", "10.123.0.0/16"
        )
        made_swarm = True
    try:
        floor = floors()
        runs = [one_engine(engine, args) for engine in engines]
    finally:
        if made_swarm:
            _docker("swarm", "leave", "--force")
            subprocess.run(["docker", "network", "rm", "docker_gwbridge"], capture_output=True)
    if args.json:
        print(json.dumps({"floors": floor, "runs": runs}, indent=2))
        return

    def row(label: str, pick) -> None:  # type: ignore[no-untyped-def]
        print(f"{label:<38}" + "".join(f"{pick(r):>16}" for r in runs))

    print(f"{'':<38}" + "".join(f"{r['engine']:>16}" for r in runs))
    row(f"hub up ({args.warm} warm labs)", lambda r: f"{r['hub_up_s']:.1f} s")
    row("warm login to first page (target 5)", lambda r: f"{r['warm_login_s']:.1f} s")
    row("cold login to first page", lambda r: f"{r['cold_login_s']:.1f} s")
    row(
        f"{args.learners - args.warm - 1} learners at once: all ready",
        lambda r: f"{r['room_at_once']['all_ready_s']:.1f} s",
    )
    row("  median / slowest login", lambda r: (
        f"{r['room_at_once']['median_login_s']:.1f}/{r['room_at_once']['slowest_login_s']:.1f} s"
    ))  # fmt: skip
    row(
        f"idle over {args.interval:.0f} s: CPU per lab",
        lambda r: f"{r['idle']['cpu_percent_per_lab']:.2f} %",
    )
    row("idle: memory per lab", lambda r: f"{r['idle']['memory_mib_per_lab']:.0f} MiB")
    row("hub down --volumes", lambda r: f"{r['hub_down_s']:.1f} s")
    print(
        f"floors: docker run --rm (one container) {floor['docker_run_s']:.2f} s"
        + (
            f"; docker service create (one task running) {floor['service_create_s']:.2f} s"
            if "service_create_s" in floor
            else ""
        )
    )


if __name__ == "__main__":
    main()
