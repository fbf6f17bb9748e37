"""What one workshop's hub needs to know, as the JSON its configuration reads.

``lab/images/hub/jupyterhub_config.py`` is code and holds no data; this is the data:
who may log in, who the admins are, when an idle server is stopped, and each
learner's lab (name, addresses, image tag) with the scenario it starts in.
"""

from __future__ import annotations

import json

from labkit.errors import UsageError
from labkit.hub.roster import Roster
from labkit.hub.seats import HUB_NET, HUB_PREFIX, seats_for

__all__ = ["DEFAULT_CULL_IDLE_S", "hub_settings"]

DEFAULT_CULL_IDLE_S = 3600


def hub_settings(
    roster: Roster,
    *,
    cull_idle_s: int = DEFAULT_CULL_IDLE_S,
    scenario: str = "blog",
    image_tag: str = "dev",
    seat_prefix: str = HUB_PREFIX,
    seat_net: str = HUB_NET,
    warm: int = 0,
    engine: str = "compose",
) -> str:
    """The settings file's text for ``roster``: who logs in, whose lab is whose."""
    if not 60 <= cull_idle_s <= 7 * 24 * 3600:
        raise UsageError(
            f"An idle time of {cull_idle_s} s is out of range.",
            advice="Give from 60 s (one minute) to 604800 s (one week); the default is 3600.",
        )
    data = {
        "users": sorted(roster.usernames),
        "admins": sorted(roster.admins),
        "cull_idle_s": cull_idle_s,
        "scenario": scenario,
        # The learners whose labs start with the hub (roster order), before they log in.
        "warm": [e.username for e in roster.learners][: max(0, warm)],
        "engine": engine,
        "seats": seats_for(
            roster, prefix=seat_prefix, net=seat_net, image_tag=image_tag, engine=engine
        ),
    }
    return json.dumps(data, indent=2) + "\n"
