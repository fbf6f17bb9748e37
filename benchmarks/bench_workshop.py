"""Workshop benchmark: what idle seats cost, and what they do to the lab next to them.

Prints figures (no pass/fail), with the issue's targets beside them (for 40 seats):
all seats ready from existing images in <= 180 s; an idle seat <= 0.5 % of one core;
``labkit doctor`` and a scenario switch in one lab within 1.2x of their times with
no seats running.

    python benchmarks/bench_workshop.py --seats 4              # quick
    python benchmarks/bench_workshop.py --seats 40 --interval 240 --json

What it does, in one run:

1. floors: ``labkit --help`` (Python and the CLI starting) and ``docker exec WS true``
   (the exec every delegated command pays), whole processes timed from here;
2. ``labkit doctor -p LAB`` and ``labkit scenario apply -p LAB`` in the reference lab
   (``--lab``, started if needed) with no seats, median of ``--rounds``;
3. the cost of one ``docker exec`` to the Docker daemons (dockerd, containerd, shims),
   measured against their idle rate, and that idle rate itself;
4. ``labkit workshop up --seats N`` from existing images, timed whole;
5. the seats left idle for ``--interval`` seconds: their containers' CPU (cgroup
   accounting, exact), the daemons' CPU above their idle rate (noisy: other labs on the
   machine add to it), host load; memory per seat (cgroup, without page cache);
6. step 2 again with the seats idle; then ``labkit workshop down --volumes``, timed.

Seats are ``<seat-prefix>1..N`` on ``<seat-net>.N.0/24`` (defaults chosen not to touch
a real workshop's ``labkit-seat*``). Other engineers' labs on a shared machine add load;
the figures print the load average so a reader can judge.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.table import Table

HZ = os.sysconf("SC_CLK_TCK")
DAEMONS = ("dockerd", "containerd", "containerd-shim", "containerd-shim-runc-v2", "runc")
CGROUP = Path("/sys/fs/cgroup")


def labkit(*args: str, env: dict[str, str] | None = None, check: bool = True) -> float:
    """Seconds ``labkit ARGS`` took as a whole process (as a shell would time it)."""
    started = time.monotonic()
    proc = subprocess.run(
        ["labkit", *args], capture_output=True, text=True, env={**os.environ, **(env or {})}
    )
    took = time.monotonic() - started
    if check and proc.returncode not in (0, 1):
        raise SystemExit(f"labkit {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
    return took


def timed(argv: Sequence[str]) -> float:
    started = time.monotonic()
    subprocess.run(list(argv), capture_output=True, check=True)
    return time.monotonic() - started


def median_of(rounds: int, run: object) -> float:
    assert callable(run)
    return statistics.median(run() for _ in range(rounds))


def healthcheck_intervals(project: str) -> dict[str, float]:
    """Seconds between Docker's health checks, per container of ``project`` (from the
    images' HEALTHCHECK, as the containers run them)."""
    intervals = {}
    for cid in container_ids(project):
        out = subprocess.run(
            ["docker", "inspect", "--format", "{{json .Config.Healthcheck}}", cid],
            capture_output=True,
            text=True,
        ).stdout.strip()
        check = json.loads(out) if out and out != "null" else {}
        if check.get("Test") and check.get("Test") != ["NONE"]:
            intervals[cid] = int(check.get("Interval") or 30e9) / 1e9  # Docker: ns, 30 s
    return intervals


def container_ids(project: str) -> list[str]:
    out = subprocess.run(
        [
            "docker",
            "ps",
            "-q",
            "--no-trunc",
            "--filter",
            f"label=com.docker.compose.project={project}",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return out.split()


def cpu_seconds(cid: str) -> float:
    """CPU time a container has used (cgroup v1 cpuacct, or v2 cpu.stat)."""
    v1 = CGROUP / "cpuacct" / "docker" / cid / "cpuacct.usage"
    if v1.exists():
        return int(v1.read_text()) / 1e9
    stat = CGROUP / "system.slice" / f"docker-{cid}.scope" / "cpu.stat"
    usage = dict(line.split() for line in stat.read_text().splitlines())
    return int(usage["usage_usec"]) / 1e6


def memory_bytes(cid: str) -> int:
    """Memory a container uses, without reclaimable page cache (as `docker stats`)."""
    v1 = CGROUP / "memory" / "docker" / cid
    if (v1 / "memory.usage_in_bytes").exists():
        used = int((v1 / "memory.usage_in_bytes").read_text())
        stat = dict(line.split() for line in (v1 / "memory.stat").read_text().splitlines())
        return used - int(stat.get("total_inactive_file", 0))
    v2 = CGROUP / "system.slice" / f"docker-{cid}.scope"
    stat = dict(line.split() for line in (v2 / "memory.stat").read_text().splitlines())
    return int((v2 / "memory.current").read_text()) - int(stat.get("inactive_file", 0))


def daemon_cpu_seconds() -> float:
    """CPU time of Docker's daemons and shims, with their reaped children (runc)."""
    total = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            comm = Path(f"/proc/{pid}/comm").read_text().strip()
            if comm not in DAEMONS and not comm.startswith("containerd"):
                continue
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
    return total / HZ


def host_busy_fraction(seconds: float) -> float:
    """Share of all cores busy over ``seconds`` (from /proc/stat)."""

    def sample() -> tuple[int, int]:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = values[3] + values[4]
        return sum(values), idle

    total0, idle0 = sample()
    time.sleep(seconds)
    total1, idle1 = sample()
    return 1 - (idle1 - idle0) / max(1, total1 - total0)


def free_block(n: int, start: int = 19001) -> int:
    for first in range(start, 60000, 100):
        try:
            for port in range(first, first + n):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", port))
            return first
        except OSError:
            continue
    raise SystemExit("no block of free ports")


def lab_timings(lab: str, rounds: int, env: dict[str, str]) -> dict[str, float]:
    names = iter(["fixed", "blog"] * rounds)
    return {
        "doctor_s": round(median_of(rounds, lambda: labkit("doctor", "-p", lab, env=env)), 2),
        "switch_s": round(
            median_of(rounds, lambda: labkit("scenario", "apply", next(names), "-p", lab, env=env)),
            2,
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seats", type=int, default=4)
    parser.add_argument("--interval", type=float, default=130.0, help="idle measuring window (s)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--lab", default=os.environ.get("LABKIT_PROJECT", "labkit"))
    parser.add_argument("--seat-prefix", default="labkit-benchseat")
    parser.add_argument("--seat-net", default="10.128")
    parser.add_argument("--parallel", type=int, default=None)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--keep", action="store_true", help="leave the seats running")
    args = parser.parse_args()
    console = Console(stderr=True)
    env = {k: v for k, v in os.environ.items() if k != "LABKIT_LOCAL"}
    env.pop("LABKIT_PROJECT", None)
    seat_env = {"LABKIT_SEAT_PREFIX": args.seat_prefix, "LABKIT_SEAT_NET": args.seat_net}
    fig: dict[str, object] = {"seats": args.seats, "cores": os.cpu_count()}

    console.print(f"reference lab {args.lab}: making sure it is up ...")
    if not container_ids(args.lab):
        labkit("up", "-p", args.lab, env=env)
    ws_name = subprocess.run(
        [
            "docker",
            "ps",
            "--filter",
            f"label=com.docker.compose.project={args.lab}",
            "--filter",
            "label=com.docker.compose.service=workstation",
            "--format",
            "{{.Names}}",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()[0]

    console.print("floors and the lab with no seats ...")
    fig["floor_cli_s"] = round(median_of(args.rounds, lambda: labkit("--help", env=env)), 2)
    fig["floor_exec_s"] = round(
        median_of(args.rounds, lambda: timed(["docker", "exec", ws_name, "true"])), 2
    )
    fig["no_seats"] = lab_timings(args.lab, args.rounds, env)

    console.print("Docker daemons: idle rate, then the cost of one exec ...")
    c0, t0 = daemon_cpu_seconds(), time.monotonic()
    time.sleep(20)
    idle_rate = (daemon_cpu_seconds() - c0) / (time.monotonic() - t0)
    fig["daemons_idle_core_pct"] = round(100 * idle_rate, 1)
    n_exec = 20
    c0, t0 = daemon_cpu_seconds(), time.monotonic()
    for _ in range(n_exec):
        timed(["docker", "exec", ws_name, "/usr/local/sbin/lab-health"])
    spent = daemon_cpu_seconds() - c0 - idle_rate * (time.monotonic() - t0)
    exec_cost = max(0.0, spent / n_exec)
    fig["daemon_cpu_per_exec_ms"] = round(1000 * exec_cost, 1)

    console.print(f"labkit workshop up --seats {args.seats} ...")
    first = free_block(args.seats)
    up_args = ["workshop", "up", "--seats", str(args.seats), "--first-port", str(first), "--json"]
    if args.parallel:
        up_args += ["--parallel", str(args.parallel)]
    started = time.monotonic()
    proc = subprocess.run(
        ["labkit", *up_args], capture_output=True, text=True, env={**env, **seat_env}
    )
    fig["seats_up_s"] = round(time.monotonic() - started, 1)
    fig["seats_up_per_seat_s"] = round(float(fig["seats_up_s"]) / args.seats, 2)
    try:
        seats = json.loads(proc.stdout)
    except ValueError:
        raise SystemExit(
            f"workshop up failed ({proc.returncode}):\n{proc.stderr[-3000:]}"
        ) from None
    fig["seats_healthy"] = sum(1 for s in seats if s["healthy"])
    projects = [s["project"] for s in seats]

    console.print("settling 15 s, then measuring the idle seats ...")
    time.sleep(15)
    ids = [cid for p in projects for cid in container_ids(p)]
    cpu0 = {cid: cpu_seconds(cid) for cid in ids}
    d0, t0 = daemon_cpu_seconds(), time.monotonic()
    loadavg_before = os.getloadavg()[0]
    busy = host_busy_fraction(args.interval)
    elapsed = time.monotonic() - t0
    containers_cpu = sum(cpu_seconds(cid) - cpu0[cid] for cid in ids) / elapsed
    daemons_extra = (daemon_cpu_seconds() - d0) / elapsed - idle_rate
    # Docker's HEALTHCHECKs, at the pace each image declares (one exec per check).
    checks_per_s = sum(1.0 / s for s in healthcheck_intervals(projects[0]).values() if s > 0)
    health_execs = checks_per_s * args.seats * elapsed
    fig["idle_window_s"] = round(elapsed)
    fig["idle_seat_containers_core_pct"] = round(100 * containers_cpu / args.seats, 3)
    fig["idle_seat_daemons_core_pct"] = round(100 * max(0.0, daemons_extra) / args.seats, 3)
    fig["idle_seat_health_exec_estimate_core_pct"] = round(
        100 * health_execs * exec_cost / elapsed / args.seats, 3
    )
    fig["host_busy_pct"] = round(100 * busy, 1)
    fig["loadavg_1min"] = round((loadavg_before + os.getloadavg()[0]) / 2, 2)
    mem = [sum(memory_bytes(c) for c in container_ids(p)) for p in projects]
    fig["memory_per_seat_mb"] = round(statistics.mean(mem) / 2**20, 1)

    console.print(f"the lab with {args.seats} idle seats ...")
    fig["with_seats"] = lab_timings(args.lab, args.rounds, env)

    if not args.keep:
        console.print("labkit workshop down --volumes ...")
        fig["seats_down_s"] = round(
            labkit("workshop", "down", "--volumes", env={**env, **seat_env}), 1
        )

    if args.json:
        print(json.dumps(fig, indent=2))
        return
    table = Table(title=f"workshop: {args.seats} seats on {os.cpu_count()} cores")
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_column("target (issue, 40 seats)")
    no, wi = fig["no_seats"], fig["with_seats"]
    assert isinstance(no, dict) and isinstance(wi, dict)
    idle_total = float(fig["idle_seat_containers_core_pct"]) + float(
        fig["idle_seat_health_exec_estimate_core_pct"]
    )
    rows = [
        ("floor: labkit --help", f"{fig['floor_cli_s']} s", ""),
        ("floor: docker exec WS true", f"{fig['floor_exec_s']} s", ""),
        ("workshop up (existing images)", f"{fig['seats_up_s']} s", "<= 180 s for 40"),
        ("  per seat", f"{fig['seats_up_per_seat_s']} s", "<= 4.5 s"),
        ("  healthy", f"{fig['seats_healthy']}/{args.seats}", "all"),
        ("idle seat: its containers", f"{fig['idle_seat_containers_core_pct']} % core", ""),
        ("idle seat: daemons above idle", f"{fig['idle_seat_daemons_core_pct']} % core", ""),
        (
            "idle seat: health execs (est.)",
            f"{fig['idle_seat_health_exec_estimate_core_pct']} % core",
            "",
        ),
        ("idle seat: total (containers + est.)", f"{idle_total:.3f} % core", "<= 0.5 % core"),
        ("memory per seat", f"{fig['memory_per_seat_mb']} MB", ""),
        ("daemon CPU per docker exec", f"{fig['daemon_cpu_per_exec_ms']} ms", ""),
        ("daemons idle (whole machine)", f"{fig['daemons_idle_core_pct']} % core", ""),
        (
            "host busy during idle window",
            f"{fig['host_busy_pct']} % (load {fig['loadavg_1min']})",
            "",
        ),
        ("labkit doctor, no seats", f"{no['doctor_s']} s", ""),
        (
            f"labkit doctor, {args.seats} idle seats",
            f"{wi['doctor_s']} s",
            f"<= {1.2 * no['doctor_s']:.2f} s (1.2x)",
        ),
        ("scenario switch, no seats", f"{no['switch_s']} s", ""),
        (
            f"scenario switch, {args.seats} idle seats",
            f"{wi['switch_s']} s",
            f"<= {1.2 * no['switch_s']:.2f} s (1.2x)",
        ),
    ]
    if "seats_down_s" in fig:
        rows.append(("workshop down --volumes", f"{fig['seats_down_s']} s", ""))
    for row in rows:
        table.add_row(*row)
    Console().print(table)


if __name__ == "__main__":
    main()
