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

    python benchmarks/bench_hub.py --learners 6 --warm 2
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
from bench_workshop import container_ids, cpu_seconds, memory_bytes  # noqa: E402

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


def idle_cost(interval: float) -> tuple[float, float, int]:
    """Per-lab CPU (% of one core) and memory (MiB) of the hub's labs, and how many."""
    names = subprocess.run(
        ["docker", "ps", "--format", '{{.Label "com.docker.compose.project"}}'],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    labs = sorted({n for n in names if n.startswith(f"{PROJECT}-")})
    ids = [cid for lab in labs for cid in container_ids(lab)]
    before = sum(cpu_seconds(c) for c in ids)
    time.sleep(interval)
    used = sum(cpu_seconds(c) for c in ids) - before
    memory = sum(memory_bytes(c) for c in ids)
    n = max(1, len(labs))
    return 100 * used / interval / n, memory / n / 2**20, len(labs)


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
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    learners = [f"l{n:02d}" for n in range(1, args.learners + 1)]
    folder = Path(tempfile.mkdtemp(prefix="bench-hub-"))
    (folder / "roster.csv").write_text(
        "username,role\nteach,instructor\n" + "".join(f"{u}\n" for u in learners)
    )
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    figures: dict[str, object] = {"learners": args.learners, "warm": args.warm}
    try:
        figures["hub_up_s"] = labkit(
            "hub", "up", "--roster", "roster.csv", "--port", str(port),
            "--seats-warm", str(args.warm), cwd=folder,
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
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    room = figures.get("room_at_once", {})
    idle = figures.get("idle", {})
    assert isinstance(room, dict) and isinstance(idle, dict)
    print(f"hub up ({args.warm} warm labs)           {figures['hub_up_s']:.1f} s")
    print(f"warm login to first page             {figures['warm_login_s']:.1f} s  (target 5 s)")
    print(f"cold login to first page             {figures['cold_login_s']:.1f} s")
    print(
        f"{room['learners']} learners at once: all ready      {room['all_ready_s']:.1f} s "
        f"(median {room['median_login_s']:.1f} s, slowest {room['slowest_login_s']:.1f} s)"
    )
    print(
        f"idle, {idle['labs']} labs over {args.interval:.0f} s          "
        f"{idle['cpu_percent_per_lab']:.2f} % of a core and "
        f"{idle['memory_mib_per_lab']:.0f} MiB per lab"
    )
    print(f"hub down --volumes                   {figures['hub_down_s']:.1f} s")


if __name__ == "__main__":
    main()
