"""Offline-kit benchmark: its size, the time to make it, and an install with no index.

Prints figures (no pass/fail). Run it on a machine that reaches a package index (the
kit's wheels come from there) with the lab's images built:

    python benchmarks/bench_bundle.py            # in a labkit checkout

What it does, whole commands timed from here, each beside its floor:

1. the lab's current images get a throwaway tag (``kitbench``), so nothing a lab uses
   is removed;
2. ``labkit bundle -o KIT`` with that tag: sources, wheels, images; floor: the daemon's
   own ``docker save`` of the same images to /dev/null;
3. the throwaway tags are removed (``missing`` images, as on a fresh machine);
4. in a new venv, ``sh KIT/install.sh TARGET`` with pip pointed at nothing
   (``PIP_INDEX_URL`` a closed loopback port, ``PIP_NO_INDEX=1``, no pip config);
5. the installed labkit, from TARGET, reports no image to build;
6. that labkit brings the lab up from the kit's images (``labkit up``, a project and
   network of its own, pip and the index still pointed at nothing), says it is healthy,
   and takes it down again; floor: Docker starting and ending one container of each of
   the four images (``docker run --rm``, one after another).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TAG = "kitbench"
SERVICES = ("dns", "mx", "router", "workstation")


def run(argv: list[str], **kwargs) -> float:
    started = time.monotonic()
    subprocess.run(argv, check=True, **kwargs)
    return time.monotonic() - started


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main() -> None:
    home = Path(__file__).resolve().parents[1]
    base_tag = os.environ.get("LABKIT_IMAGE_TAG", "dev")
    names = [f"labkit/{s}:{TAG}" for s in SERVICES]
    for s in SERVICES:
        run(["docker", "tag", f"labkit/{s}:{base_tag}", f"labkit/{s}:{TAG}"])
    env = dict(os.environ, LABKIT_IMAGE_TAG=TAG)
    with tempfile.TemporaryDirectory(prefix="labkit-kit-") as tmp:
        work = Path(tmp)
        kit = work / "kit"
        try:
            floor = run(["sh", "-c", "docker save " + " ".join(names) + " > /dev/null"])
            made = run(["labkit", "bundle", "-o", str(kit)], env=env, cwd=home)
        finally:
            for name in names:
                subprocess.run(["docker", "rmi", name], capture_output=True)
        venv = work / "venv"
        run([sys.executable, "-m", "venv", str(venv)])
        offline = dict(
            env,
            PYTHON=str(venv / "bin" / "python"),
            PIP_INDEX_URL="http://127.0.0.1:9/simple",
            PIP_NO_INDEX="1",
            PATH=f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
        )
        offline.pop("LABKIT_HOME", None)
        # Nothing but the kit: no wheelhouse or index this machine's pip config names.
        offline.pop("PIP_FIND_LINKS", None)
        offline.pop("PIP_EXTRA_INDEX_URL", None)
        offline["PIP_CONFIG_FILE"] = os.devnull
        installed = run(
            ["sh", str(kit / "install.sh"), str(work / "target")], env=offline, cwd=work
        )
        check = subprocess.run(
            [
                str(venv / "bin" / "python"),
                "-c",
                "from labkit.lab import Lab; print(Lab().missing_images())",
            ],
            env=offline,
            cwd=work / "target",
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        # The lab, up from what the kit brought, by the labkit the kit installed.
        lab_env = dict(
            offline,
            LABKIT_PROJECT="labkit-kitbench",
            LABKIT_NET_PREFIX="10.125.77",
            LABKIT_JUPYTER_PORT=str(free_port()),
            LABKIT_HOME=str(work / "target"),
        )
        labkit = [str(venv / "bin" / "labkit")]
        try:
            up_floor = sum(
                run(["docker", "run", "--rm", "--entrypoint", "true", name], capture_output=True)
                for name in names
            )
            up = run([*labkit, "up", "--scenario", "fixed"], env=lab_env, cwd=work / "target",
                     capture_output=True)  # fmt: skip
            status = json.loads(
                subprocess.run(
                    [*labkit, "status", "--json"], env=lab_env, cwd=work / "target",
                    capture_output=True, text=True, check=True,
                ).stdout
            )  # fmt: skip
            healthy = all(svc["health"] == "healthy" for svc in status["services"])
        finally:
            subprocess.run([*labkit, "down", "--volumes"], env=lab_env, cwd=work / "target",
                           capture_output=True)  # fmt: skip
            for name in names:
                subprocess.run(["docker", "rmi", name], capture_output=True)
        wheels = kit / "wheels"
        rows = [
            ("kit, total", f"{size(kit) / 1e6:,.0f} MB", ""),
            ("  images.tar.zst", f"{(kit / 'images.tar.zst').stat().st_size / 1e6:,.0f} MB", ""),
            ("  wheels", f"{size(wheels) / 1e6:,.0f} MB ({len(list(wheels.iterdir()))})", ""),
            ("  sources", f"{(kit / 'labkit-src.tar.gz').stat().st_size / 1e6:,.1f} MB", ""),
            ("labkit bundle (whole command)", f"{made:.1f} s", f"docker save: {floor:.1f} s"),
            ("install.sh, no index (whole)", f"{installed:.1f} s", ""),
            ("images to build afterwards", check, "target: []"),
            (
                "labkit up from the kit (whole)",
                f"{up:.1f} s",
                f"4 x docker run --rm: {up_floor:.1f} s; all healthy: {healthy}",
            ),
        ]
        width = max(len(r[0]) for r in rows)
        for label, figure, floor_text in rows:
            print(f"{label:<{width}}  {figure:>16}  {floor_text}")


if __name__ == "__main__":
    main()
