"""The lab: its settings, its Docker/Compose lifecycle and its scenarios.

The public face, for notebooks, the CLI and tests::

    from labkit.lab import Lab, LabConfig, lab_target
    lab = Lab()                    # the lab named by LABKIT_PROJECT & co.
    lab.status(); lab.apply("fixed"); lab.current()
    lab_target()                   # where its mail server is, for probes and the doctor

Names are imported on first use, so ``import labkit.lab`` costs nothing: the Docker
SDK is only loaded by code that talks to Docker.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from labkit.lab.config import LabConfig, find_home, in_workstation, lab_target
    from labkit.lab.lifecycle import Lab, LabStatus, ServiceStatus
    from labkit.lab.scenarios import RenderedScenario, Scenario
    from labkit.lab.state import ApplyResult, ScenarioState, ScenarioSwitch

__all__ = [
    "ApplyResult",
    "Lab",
    "LabConfig",
    "LabStatus",
    "RenderedScenario",
    "Scenario",
    "ScenarioState",
    "ScenarioSwitch",
    "ServiceStatus",
    "find_home",
    "in_workstation",
    "lab_target",
]

_HOME = {
    "LabConfig": "config",
    "find_home": "config",
    "in_workstation": "config",
    "lab_target": "config",
    "ApplyResult": "state",
    "Lab": "lifecycle",
    "LabStatus": "lifecycle",
    "ScenarioState": "state",
    "ScenarioSwitch": "state",
    "ServiceStatus": "lifecycle",
    "RenderedScenario": "scenarios",
    "Scenario": "scenarios",
}


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module 'labkit.lab' has no attribute {name!r}")
    return getattr(importlib.import_module(f"labkit.lab.{module}"), name)
