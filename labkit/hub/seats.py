"""Whose lab is whose behind the hub: one ordinary lab (Compose project) per learner.

A learner's lab is named after them (``labkit-hub-ada``), so their volumes (notebooks,
progress) are found again after a logout, a culled server or a hub restart; its network
is numbered by their place on the roster (``10.124.<n>.0/24``), so labs never overlap.
"""

from __future__ import annotations

from labkit.hub.roster import Roster
from labkit.lab.config import LabConfig

__all__ = ["HUB_NET", "HUB_PREFIX", "learner_lab"]

HUB_PREFIX = "labkit-hub-"
#: Beside the workshop seats' 10.126/16 and the test seats' 10.127/16.
HUB_NET = "10.124"


def learner_lab(
    roster: Roster,
    username: str,
    *,
    prefix: str = HUB_PREFIX,
    net: str = HUB_NET,
    first_port: int = 20001,
    image_tag: str = "dev",
) -> LabConfig:
    """The lab of ``username`` (who must be on the roster)."""
    n = roster.index(username) + 1
    config = LabConfig(
        project=f"{prefix}{username}",
        net_prefix=f"{net}.{n}",
        jupyter_port=first_port + n - 1,
        image_tag=image_tag,
    )
    config.validate()
    return config
