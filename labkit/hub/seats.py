"""Whose lab is whose behind the hub: one ordinary lab (Compose project) per learner.

A learner's lab is named after them (``labkit-hub-ada``), so their volumes (notebooks,
progress) are found again after a logout, a culled server or a hub restart; its network
is numbered by their place on the roster (``10.124.<n>.0/24``), so labs never overlap.

The hub joins each running lab's publishing network at a fixed address
(:func:`hub_address`, ``P.254``, the last of the network's ``P.240/28``; Docker gives
containers the lowest free ones), so the learner's server is told where the hub's API is
before its lab exists. What the spawner (:mod:`labkit.hub.spawner`) decides is here,
tested without JupyterHub.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from labkit.errors import LabStateError
from labkit.hub.roster import Roster
from labkit.lab.config import LabConfig

__all__ = [
    "HUB_API_PORT",
    "HUB_NET",
    "HUB_PREFIX",
    "hub_address",
    "learner_lab",
    "HAND_OVER",
    "seat_env_text",
    "seat_from_settings",
    "seats_for",
]

HUB_PREFIX = "labkit-hub-"
#: Beside the workshop seats' 10.126/16 and the test seats' 10.127/16.
HUB_NET = "10.124"
#: Where JupyterHub serves its API to the single-user servers (its default).
HUB_API_PORT = 8081


def learner_lab(
    roster: Roster,
    username: str,
    *,
    prefix: str = HUB_PREFIX,
    net: str = HUB_NET,
    first_port: int = 20001,
    image_tag: str = "dev",
    engine: str = "compose",
) -> LabConfig:
    """The lab of ``username`` (who must be on the roster); ``engine``: Compose on the
    hub's machine, or a stack on the swarm the hub's machine manages."""
    n = roster.index(username) + 1
    config = LabConfig(
        project=f"{prefix}{username}",
        net_prefix=f"{net}.{n}",
        jupyter_port=first_port + n - 1,
        image_tag=image_tag,
        engine=engine,
    )
    config.validate()
    return config


def seats_for(roster: Roster, **options: Any) -> dict[str, dict[str, Any]]:
    """Every learner's lab, as the settings file carries it."""
    seats = {}
    for username in sorted(roster.usernames):
        config = learner_lab(roster, username, **options)
        seats[username] = {
            "project": config.project,
            "net_prefix": config.net_prefix,
            "jupyter_port": config.jupyter_port,
            "image_tag": config.image_tag,
            "engine": config.engine,
        }
    return seats


def seat_from_settings(settings: Mapping[str, Any], username: str) -> LabConfig:
    """The lab of ``username`` from the hub's settings file."""
    seat = settings.get("seats", {}).get(username)
    if seat is None:
        raise LabStateError(
            f"{username!r} has no lab in this hub's settings.",
            advice="Add them to the roster and run `labkit hub up --roster ...` again.",
        )
    config = LabConfig(
        project=seat["project"],
        net_prefix=seat["net_prefix"],
        jupyter_port=int(seat["jupyter_port"]),
        image_tag=seat.get("image_tag", "dev"),
        engine=seat.get("engine", "compose"),
    )
    config.validate()
    return config


def hub_address(config: LabConfig) -> str:
    """The hub's address on the publishing network of the lab ``config``."""
    return f"{config.net_prefix}.254"


_NAME = re.compile(r"[A-Z_][A-Z0-9_]*")


def seat_env_text(env: Mapping[str, str], username: str) -> str:
    """The variables of ``username``'s server as a shell reads them with ``set -a; .``
    (single quotes: taken literally), which the workstation does at the hub's word."""
    lines = []
    for key, value in sorted(env.items()):
        if not _NAME.fullmatch(key) or "'" in value or "\n" in value or "\r" in value:
            raise LabStateError(
                f"The variable {key!r} for {username}'s server cannot be passed on safely.",
                advice="This is a bug in labkit's hub: please report it with the hub's log.",
            )
        lines.append(f"{key}='{value}'")
    return "\n".join(lines) + "\n"


#: Run as root in the learner's waiting workstation, with the variables on stdin: store
#: them where only root reads, then say "go" (lab-workstation-init waits on that pipe).
HAND_OVER = (
    "[ -p /run/labkit-hub/go ] || { echo 'the workstation is not waiting for the hub'; exit 3; }; "
    "umask 077 && cat > /run/labkit-hub/env.tmp && mv /run/labkit-hub/env.tmp /run/labkit-hub/env "
    "&& timeout 10 sh -c 'echo go > /run/labkit-hub/go'"
)
