"""Which network the learner's laptop uses: the café's Wi-Fi or the phone's hotspot.

The blog's learner could have settled his mystery in a minute by tethering his laptop
to a phone: if STARTTLS appears on another network, the server is fine and something
on the first network rewrites SMTP. The lab lets the learner do exactly that. The
truth about the current network is the workstation's default route (``ip route``);
switching it needs root, which the workstation grants for ``lab-net`` alone.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from labkit.errors import LabStateError, UsageError
from labkit.netpath.rules import NETWORKS
from labkit.transport import Transport

__all__ = ["NetworkState", "UnknownNetworkError", "parse_default_route", "read_network"]

LAB_NET = "/usr/local/sbin/lab-net"


class UnknownNetworkError(UsageError):
    def __init__(self, name: str) -> None:
        super().__init__(
            f"There is no network {name!r} in the lab.",
            advice="Use one of: " + ", ".join(NETWORKS) + " (e.g. `labkit net use hotspot`).",
        )


@dataclass(frozen=True)
class NetworkState:
    """The laptop's way out: ``cafe``, ``hotspot``, ``none`` (no default route) or ``other``."""

    name: str
    route: str
    elapsed: float = 0.0

    @property
    def usable(self) -> bool:
        return self.name in NETWORKS

    def describe(self) -> str:
        if self.usable:
            return f"{self.name}: {NETWORKS[self.name]}"
        if self.name == "none":
            return (
                "no network: the laptop has no default route "
                "(`labkit net use cafe`, or `labkit reset` on the host)"
            )
        return f"an unknown way out ({self.route.strip()}); `labkit reset` restores the lab's"


def parse_default_route(text: str) -> NetworkState:
    """Read ``ip -4 route show default`` output."""
    for line in text.splitlines():
        words = line.split()
        if words[:1] == ["default"] and "dev" in words:
            dev = words[words.index("dev") + 1]
            return NetworkState(dev if dev in NETWORKS else "other", line.strip())
    return NetworkState("none", "")


def read_network(workstation: Transport) -> NetworkState:
    """The network in use, read from the workstation's routing table."""
    result = workstation.run(["ip", "-4", "route", "show", "default"], timeout=10)
    if not result.ok:
        raise LabStateError(
            f"Cannot read the laptop's routes: {result.stderr.strip()}",
            advice="Is the workstation running? `labkit status` shows it.",
        )
    return parse_default_route(result.stdout)


def use_network(workstation: Transport, name: str, *, sudo: bool = False) -> NetworkState:
    """Point the laptop's default route at ``name``'s router; return the new state."""
    if name not in NETWORKS:
        raise UnknownNetworkError(name)
    started = time.monotonic()
    argv = [LAB_NET, "use", name]
    result = workstation.run(["sudo", "-n", *argv] if sudo else argv, timeout=10)
    if not result.ok:
        raise LabStateError(
            f"Could not switch the laptop to {name}: {(result.stderr or result.stdout).strip()}",
            advice="On the host, `labkit reset` repairs the lab's routes.",
        )
    state = read_network(workstation)
    if state.name != name:
        raise LabStateError(
            f"The laptop's default route is still {state.route or 'missing'} after switching.",
            advice="On the host, `labkit reset` repairs the lab's routes.",
        )
    return NetworkState(state.name, state.route, time.monotonic() - started)
