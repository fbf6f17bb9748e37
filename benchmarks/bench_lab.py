"""Lab benchmark: build, start, scenario switches, image sizes, idle memory.

Prints the figures (no pass/fail); targets from the lab issue are shown beside them:
warm up <= 5 s, switch <= 1 s, mx image <= 150 MB, lab without JupyterLab <= 80 MB RAM.

    python benchmarks/bench_lab.py            # uses the build cache
    python benchmarks/bench_lab.py --cold     # also times a --no-cache build (minutes)
    python benchmarks/bench_lab.py --json

It runs its own lab (project ``labkit-bench``), so a lab you have up is not touched.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import time

from rich.console import Console
from rich.table import Table

from labkit.lab.config import LabConfig
from labkit.lab.engine import WORKSTATION_LABKIT
from labkit.lab.lifecycle import Lab

SWITCH_ROUNDS = 3


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(lab: Lab, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if lab.status().healthy:
            return
        time.sleep(0.1)
    raise SystemExit("lab did not become healthy")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold", action="store_true", help="also time a --no-cache build")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--keep", action="store_true", help="leave the bench lab running")
    args = parser.parse_args()
    console = Console(stderr=True)

    config = LabConfig.from_env(
        project="labkit-bench", net_prefix="10.125.98", jupyter_port=free_port()
    )
    lab = Lab(config)
    figures: dict[str, object] = {}

    if args.cold:
        console.print("cold build (--no-cache) ...")
        figures["cold_build_s"] = round(lab.build(no_cache=True), 1)
    console.print("cached build ...")
    figures["cached_build_s"] = round(lab.build(), 1)

    console.print("first up (creates containers and volumes) ...")
    lab.down(volumes=True)
    t = time.monotonic()
    lab.up("fixed")
    figures["first_up_s"] = round(time.monotonic() - t, 2)

    console.print("warm up (containers removed, images and volumes kept) ...")
    lab.down()
    t = time.monotonic()
    lab.up("fixed")
    figures["warm_up_s"] = round(time.monotonic() - t, 2)
    wait_healthy(lab)

    console.print("scenario switches ...")
    switches: dict[str, float] = {}
    names = [s.name for s in lab.scenarios()]
    for name in names:
        times = []
        for _ in range(SWITCH_ROUNDS):
            lab.apply("fixed" if name != "fixed" else "blog")
            times.append(lab.apply(name).elapsed)
        switches[name] = round(statistics.median(times), 3)
    figures["switch_s"] = switches

    console.print("doctor runs (inside the workstation) ...")
    doctor: dict[str, float] = {}
    ws = lab.containers()["workstation"]
    for name in names:
        lab.apply(name)
        runs = []
        for _ in range(SWITCH_ROUNDS):
            out = lab.engine.exec(
                ws, [WORKSTATION_LABKIT, "doctor", "--json"], user="learner", timeout=60
            )
            runs.append(json.loads(out.stdout)["elapsed"])
        doctor[name] = round(statistics.median(runs), 3)
    figures["doctor_s"] = doctor

    sizes = {}
    for svc in ("dns", "mx", "workstation"):
        image = lab.engine.client.api.inspect_image(f"labkit/{svc}:{config.image_tag}")
        sizes[svc] = round(image["Size"] / 1e6, 1)
    figures["image_mb"] = sizes

    console.print("idle memory (after 10 s) ...")
    time.sleep(10)
    memory = {}
    for svc, c in lab.containers().items():
        stats = lab.engine.client.api.stats(c.id, stream=False)
        mem = stats["memory_stats"]
        cache = mem.get("stats", {}).get("cache", 0) or mem.get("stats", {}).get("inactive_file", 0)
        memory[svc] = round((mem.get("usage", 0) - cache) / 2**20, 1)
    figures["idle_mib"] = memory
    figures["lab_without_jupyter_mib"] = round(memory.get("dns", 0) + memory.get("mx", 0), 1)

    if not args.keep:
        lab.down(volumes=True)

    if args.json:
        print(json.dumps(figures, indent=2))
        return
    table = Table(title="labkit lab benchmark", title_justify="left")
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_column("target", justify="right")
    if "cold_build_s" in figures:
        table.add_row("cold build (no cache)", f"{figures['cold_build_s']} s", "< 20 min CI")
    table.add_row("cached build", f"{figures['cached_build_s']} s", "")
    table.add_row("first up (new volumes)", f"{figures['first_up_s']} s", "")
    table.add_row("warm up to healthy + scenario", f"{figures['warm_up_s']} s", "≤ 5 s")
    for name, secs in switches.items():
        table.add_row(f"switch to {name} (median of {SWITCH_ROUNDS})", f"{secs:.3f} s", "≤ 1 s")
    for name, secs in doctor.items():
        table.add_row(f"doctor in {name} (median of {SWITCH_ROUNDS})", f"{secs:.3f} s", "≤ 2 s")
    for svc, mb in sizes.items():
        table.add_row(f"image {svc}", f"{mb} MB", "≤ 150 MB" if svc == "mx" else "")
    for svc, mib in memory.items():
        table.add_row(f"idle memory {svc}", f"{mib} MiB", "")
    table.add_row(
        "lab without JupyterLab (dns + mx)", f"{figures['lab_without_jupyter_mib']} MiB", "≤ 80 MiB"
    )
    Console().print(table)


if __name__ == "__main__":
    main()
