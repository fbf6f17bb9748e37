"""How fast labkit's commands answer, timed as a user sees them: the whole process.

Each figure is the wall time of a complete command started from a shell (``sh -c``),
the median of ``--rounds`` runs (at least 5), printed beside its *floor*: the cheapest
thing that command cannot avoid, measured in the same run on the same machine (so a
busy machine shows as a higher floor, not as a slow labkit). Targets from issue 13:

==============================  ======  =============================================
command                         target  floor
==============================  ======  =============================================
``labkit --help``               0.25 s  ``python -c pass``
``labkit status --json``        0.35 s  ``python -c pass`` + ``docker ps``
``labkit scenario apply NAME``  0.8 s   ``postfix reload`` in mx (``docker exec``)
``labkit doctor`` (host)        1.0 s   a bare ``docker exec`` into the workstation
``labkit probe smtp`` (host)    0.5 s   a bare ``docker exec`` into the workstation
notebook setup cell, kept       0.2 s   ``python -c pass`` in the workstation
==============================  ======  =============================================

The lab must be running (``labkit up``); it is addressed like any labkit command, by
``LABKIT_PROJECT`` (default ``labkit``). Scenario runs leave the lab in the scenario
it was in. No pass/fail: the figures are printed (``--json`` for scripts).

    python benchmarks/bench_cli.py
    LABKIT_PROJECT=labkit-test python benchmarks/bench_cli.py --rounds 7
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from labkit.lab.lifecycle import Lab

#: A notebook's setup cell, in a process that has already imported IPython (as a
#: kernel has): first as the first cell of a fresh kernel (imports included), then
#: run again (what re-running it costs). Prints both durations.
SETUP_CELL = (
    "import time, IPython\n"
    "t = time.monotonic()\n"
    "from labkit.widgets.course import setup\n"
    "card = setup({scenario!r})\n"
    "first = time.monotonic() - t\n"
    "t = time.monotonic()\n"
    "card = setup({scenario!r})\n"
    "again = time.monotonic() - t\n"
    "assert card.preparation.action == 'kept', card.preparation\n"
    "print(f'{{first:.4f}} {{again:.4f}}')"
)


def wall(command: str, env: dict[str, str]) -> float:
    started = time.perf_counter()
    proc = subprocess.run(["sh", "-c", command], env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if proc.returncode not in (0, 1):  # 1: the doctor found failures, which is fine
        raise SystemExit(f"`{command}` failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return elapsed


def median(samples: list[float]) -> float:
    return statistics.median(samples)


def measure(command: str, env: dict[str, str], rounds: int) -> list[float]:
    wall(command, env)  # warm the page cache and the daemon
    return [wall(command, env) for _ in range(rounds)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rounds = max(5, args.rounds)

    # The script pip installed beside this interpreter, as a venv's PATH finds it; not a
    # version manager's shim (pyenv's is a bash script that costs 60 ms by itself).
    beside = Path(sys.executable).parent / "labkit"
    labkit = str(beside) if beside.is_file() else shutil.which("labkit")
    if labkit is None:
        raise SystemExit("labkit is not installed here (pip install -e .)")
    lab = Lab()
    found = lab.containers()
    if not all(s in found and found[s].running for s in ("mx", "dns", "workstation")):
        raise SystemExit(f"the lab {lab.config.project} is not running: `labkit up` first")
    scenario = lab.current().name or "blog"
    env = dict(os.environ, LABKIT_PROJECT=lab.config.project)
    env.pop("LABKIT_LOCAL", None)
    # A user's Python caches compiled modules (``__pycache__``); some sandboxes and CI
    # images turn that off, which would time compiling labkit's sources on every run.
    if env.pop("PYTHONDONTWRITEBYTECODE", None):
        print(
            "(PYTHONDONTWRITEBYTECODE is set here; unset for the commands, as a user has it)",
            file=sys.stderr,
        )
    mx, ws = found["mx"].name, found["workstation"].name
    py = shlex.quote(sys.executable)
    ws_exec = f"docker exec -u learner {ws}"

    rows: list[tuple[str, float, str, list[float], list[float]]] = []

    def row(label: str, target: float, command: str, floor_label: str, floor: str) -> None:
        floor_samples = measure(floor, env, rounds)
        samples = measure(command, env, rounds)
        rows.append((label, target, floor_label, samples, floor_samples))
        print(
            f"{label:34} {median(samples):6.3f} s  (target {target:.2f} s)   "
            f"floor {floor_label}: {median(floor_samples):.3f} s",
            file=sys.stderr,
        )

    row("labkit --help", 0.25, f"{labkit} --help", "python -c pass", f"{py} -c pass")
    row(
        "labkit status --json",
        0.35,
        f"{labkit} status --json",
        "python -c pass; docker ps",
        f"{py} -c pass; docker ps -q >/dev/null",
    )
    row(
        f"labkit scenario apply {scenario}",
        0.8,
        f"{labkit} scenario apply {scenario}",
        "docker exec mx postfix reload",
        f"docker exec {mx} postfix reload",
    )
    row(
        "labkit doctor (host)",
        1.0,
        f"{labkit} doctor",
        "docker exec workstation true",
        f"{ws_exec} true",
    )
    row(
        "labkit probe smtp (host)",
        0.5,
        f"{labkit} probe smtp mail.zimmerman.test",
        "docker exec workstation true",
        f"{ws_exec} true",
    )
    cell = SETUP_CELL.format(scenario=scenario)

    def setup_cell() -> tuple[float, float]:
        out = subprocess.run(
            ["docker", "exec", "-u", "learner", ws, "/opt/labkit/venv/bin/python", "-c", cell],
            capture_output=True,
            text=True,
        )
        if out.returncode != 0:
            raise SystemExit(f"setup cell failed:\n{out.stderr[-2000:]}")
        first, again = out.stdout.split()[-2:]
        return float(first), float(again)

    setup_cell()
    cells = [setup_cell() for _ in range(rounds)]
    floor_samples = [
        float(
            subprocess.run(
                [
                    "docker",
                    "exec",
                    ws,
                    "/opt/labkit/venv/bin/python",
                    "-c",
                    "import time,subprocess,sys; t=time.monotonic(); "
                    "subprocess.run([sys.executable,'-c','pass']); print(time.monotonic()-t)",
                ],
                capture_output=True,
                text=True,
            ).stdout
        )
        for _ in range(rounds)
    ]
    for label, samples in (
        ("setup cell, fresh kernel (kept)", [c[0] for c in cells]),
        ("setup cell, run again (kept)", [c[1] for c in cells]),
    ):
        rows.append((label, 0.2, "python -c pass in workstation", samples, floor_samples))
        print(
            f"{label:34} {median(samples):6.3f} s  (target 0.20 s)   "
            f"floor python -c pass in workstation: {median(floor_samples):.3f} s",
            file=sys.stderr,
        )

    if args.json:
        print(
            json.dumps(
                {
                    label: {
                        "median": round(median(s), 3),
                        "min": round(min(s), 3),
                        "target": target,
                        "floor": floor_label,
                        "floor_median": round(median(f), 3),
                        "rounds": len(s),
                    }
                    for label, target, floor_label, s, f in rows
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
