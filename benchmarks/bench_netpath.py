"""Network-path benchmark: path switch, inspector latency, doctor per scenario, router cost.

Prints figures (no pass/fail), with the issue's targets beside them: a path switch
<= 1 s, the inspector adds <= 5 ms per reply, the doctor <= 1 s in the workstation.

    python benchmarks/bench_netpath.py           # against the running lab (LABKIT_PROJECT)
    python benchmarks/bench_netpath.py --json

Commands are timed as whole processes inside the workstation (where a learner types
them), each beside its floor in the same run: ``labkit --help`` (Python start-up and
labkit's import). The inspector's latency is measured twice: in-process against a
local aiosmtpd server (direct vs through the inspector), and in the lab as SMTP NOOP
round trips from the laptop on the inspected cafe path vs the uninspected hotspot
(same router hop, so the difference is the inspector). The lab is left in the
scenario and on the network it was in.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import time

from rich.console import Console
from rich.table import Table

from labkit.lab.lifecycle import Lab
from labkit.testing.middlebox import RunningInspector
from labkit.testing.smtpd import FakeMailServer

ROUNDS = 5
NOOPS = 200
SCENARIOS = ("fixed", "blog", "middlebox", "firewall-drop", "firewall-reject", "isp-blocks-25")

#: Runs in the workstation: time whole commands (each beside the floor) N times.
_TIMER = """
import json, subprocess, sys, time
def run(argv):
    t = time.monotonic()
    p = subprocess.run(argv, capture_output=True, text=True)
    return time.monotonic() - t, p.returncode
out = {}
for name, argv in json.loads(sys.argv[1]).items():
    out[name] = [run(argv) for _ in range(int(sys.argv[2]))]
print(json.dumps(out))
"""

#: Runs in the workstation: seconds per NOOP round trip on port 25 of the mail server,
#: 50 per connection (Postfix ends a session after 100 "junk" commands such as NOOP).
_NOOP = """
import socket, sys, time
times = []
for _ in range(int(sys.argv[1]) // 50):
    s = socket.create_connection(("mail.zimmerman.test", 25), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    f = s.makefile("rb")
    def reply():
        while True:
            line = f.readline()
            if line[3:4] != b"-":
                return line
    reply()
    s.sendall(b"EHLO bench\\r\\n")
    reply()
    for _ in range(50):
        t = time.perf_counter()
        s.sendall(b"NOOP\\r\\n")
        reply()
        times.append(time.perf_counter() - t)
    s.sendall(b"QUIT\\r\\n")
    reply()
    s.close()
times.sort()
print(times[len(times) // 2])
"""


def in_workstation(lab: Lab, code: str, *args: str) -> str:
    name = lab.containers()["workstation"].name
    argv = ["docker", "exec", "-u", "learner", name, "/opt/labkit/venv/bin/python", "-c", code]
    proc = subprocess.run([*argv, *args], capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise SystemExit(proc.stderr)
    return proc.stdout


def timed(lab: Lab, commands: dict[str, list[str]], rounds: int) -> dict[str, list[float]]:
    raw = json.loads(in_workstation(lab, _TIMER, json.dumps(commands), str(rounds)))
    return {name: [t for t, _ in runs] for name, runs in raw.items()}


def local_inspector_latency(n: int = 500) -> tuple[float, float]:
    """Median seconds per NOOP reply: straight to aiosmtpd, and through the inspector."""

    def median_rtt(port: int) -> float:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            f = s.makefile("rb")
            f.readline()
            times = []
            for _ in range(n):
                t = time.perf_counter()
                s.sendall(b"NOOP\r\n")
                f.readline()
                times.append(time.perf_counter() - t)
            return statistics.median(times)

    with FakeMailServer() as server, RunningInspector((server.host, server.port)) as box:
        return median_rtt(server.port), median_rtt(box.port)


def router_stats(lab: Lab) -> tuple[str, str]:
    name = lab.containers()["router"].name
    fmt = "{{.CPUPerc}} {{.MemUsage}}"
    out = subprocess.run(
        ["docker", "stats", "--no-stream", "--format", fmt, name], capture_output=True, text=True
    ).stdout.split(maxsplit=1)
    return (out[0], out[1].strip()) if len(out) == 2 else ("?", "?")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    console = Console(stderr=True)
    lab = Lab()
    before_scenario = lab.current().name or "blog"
    before_network = lab.network().name
    figures: dict[str, object] = {}
    rows: list[tuple[str, str, str]] = []

    console.print("router idle (10 s after the last change)")
    time.sleep(10)
    cpu, mem = router_stats(lab)
    figures["router_idle"] = {"cpu": cpu, "memory": mem}
    rows.append(("router idle CPU / memory", f"{cpu} / {mem}", "-"))

    console.print("path switch, as whole commands in the workstation")
    lab.apply("blog")
    runs = timed(
        lab,
        {
            "floor (labkit --help)": ["labkit", "--help"],
            "labkit net use hotspot": ["labkit", "net", "use", "hotspot"],
            "labkit net use cafe": ["labkit", "net", "use", "cafe"],
        },
        ROUNDS,
    )
    for name, times in runs.items():
        figures[name] = times
        target = "<= 1 s" if name.startswith("labkit net") else "-"
        rows.append((name, f"median {statistics.median(times):.3f} s", target))

    console.print("inspector latency")
    direct, inspected = local_inspector_latency()
    figures["inspector_local"] = {"direct": direct, "inspected": inspected}
    rows.append(
        (
            "inspector, in-process (NOOP reply)",
            f"{direct * 1000:.3f} ms direct, {inspected * 1000:.3f} ms inspected "
            f"(+{(inspected - direct) * 1000:.3f} ms)",
            "<= 5 ms added",
        )
    )
    lab.use_network("hotspot")
    plain = float(in_workstation(lab, _NOOP, str(NOOPS)))
    lab.use_network("cafe")
    through = float(in_workstation(lab, _NOOP, str(NOOPS)))
    figures["inspector_lab"] = {"hotspot": plain, "cafe_inspected": through}
    rows.append(
        (
            "inspector, in the lab (NOOP reply, median)",
            f"{plain * 1000:.3f} ms hotspot, {through * 1000:.3f} ms cafe "
            f"(+{(through - plain) * 1000:.3f} ms)",
            "<= 5 ms added",
        )
    )

    console.print("doctor per scenario, on the cafe path")
    for scenario in SCENARIOS:
        applied = lab.apply(scenario)
        doctor = timed(lab, {"doctor": ["labkit", "doctor", "--json"]}, 3)["doctor"]
        figures[f"doctor {scenario}"] = doctor
        figures[f"switch {scenario}"] = applied.elapsed
        rows.append(
            (
                f"scenario {scenario}",
                f"switch {applied.elapsed:.2f} s (path {applied.steps.get('path', 0):.2f} s); "
                f"doctor median {statistics.median(doctor):.2f} s",
                "switch <= 1 s; doctor <= 1 s",
            )
        )

    lab.apply(before_scenario)
    if before_network in ("cafe", "hotspot"):
        lab.use_network(before_network)
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    table = Table(title="labkit network path")
    for col in ("what", "figure", "target"):
        table.add_column(col)
    for row in rows:
        table.add_row(*row)
    Console().print(table)


if __name__ == "__main__":
    main()
