"""Warm seats: the labs of the first learners on the roster, started before they log in.

A cold lab (four containers, readiness, the scenario) takes seconds to tens of seconds
when a room logs in at once; a warm one only has its workstation recreated with the
learner's server variables. ``labkit hub up --seats-warm N`` runs this module *inside
the hub's container* (``python -m labkit.hub.warm``), so the labs are started with the
very files and paths the spawner uses later. A warm lab's workstation waits for the hub
(see :mod:`labkit.hub.spawner`); at login nothing is recreated.
"""

from __future__ import annotations

import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from labkit.errors import LabkitError
from labkit.hub.seats import seat_from_settings
from labkit.lab.lifecycle import Lab

__all__ = ["warm"]


def warm(settings_file: Path, *, parallel: int | None = None) -> int:
    """Start the warm seats the settings name; print one line per seat; return how many
    failed."""
    settings = json.loads(settings_file.read_text())
    names: list[str] = list(settings.get("warm", []))
    scenario = settings.get("scenario", "blog")

    def start(name: str) -> str | None:
        started = time.monotonic()
        lab = Lab(seat_from_settings(settings, name), behind_hub=True)
        try:
            lab.up(scenario, build=False, timeout=240)
        except LabkitError as exc:
            print(f"{name}: failed: {exc.message}", flush=True)
            return exc.message
        print(f"{name}: warm in {time.monotonic() - started:.0f} s", flush=True)
        return None

    workers = parallel or max(1, os.cpu_count() or 1)
    with ThreadPoolExecutor(workers) as pool:
        errors = [e for e in pool.map(start, names) if e is not None]
    return len(errors)


if __name__ == "__main__":
    failed = warm(Path(os.environ.get("LABKIT_HUB_SETTINGS", "/srv/hub/settings.json")))
    sys.exit(1 if failed else 0)
