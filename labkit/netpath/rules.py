"""A scenario's network path: which networks inspect SMTP, which ports a firewall stops.

The ``[path]`` table of a scenario file says it declaratively::

    [path]
    inspect = ["cafe"]            # port 25 from these networks goes through the inspector

    [[path.rules]]                # a firewall on the path (the router), per port
    port = 587
    action = "drop"               # drop | reject-tcp-reset | reject-admin-prohibited
    networks = ["cafe", "hotspot"]
    why = "the hoster's firewall only lets 25 and 465 through"

:func:`render_nft` turns it into the router's whole nftables table, so applying a
scenario (or resetting to it) always gives the same rules. The three actions are the
three things a client can experience at a firewall:

``drop``
    nothing comes back: the client waits for its timeout (``Connection timed out``);
``reject-tcp-reset``
    a TCP reset in the server's name: "refused", exactly like a port where nothing
    listens, so only the server's own view (``ss -ltn``) tells them apart;
``reject-admin-prohibited``
    an ICMP "communication administratively prohibited" from the router: Linux
    clients report ``No route to host`` (EHOSTUNREACH).

Rules sit in the router's ``forward`` chain, so a ``traceroute`` still sees the router
as hop 1 and the packets die after it. Inspection is a ``redirect`` of port 25 to the
inspector (:mod:`labkit.netpath.inspector`) on the router itself.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from labkit.errors import UsageError

__all__ = ["INSPECTOR_PORT", "NETWORKS", "Action", "PathRule", "PathSpec", "parse_path"]

#: The laptop's networks, as the router's links are named.
NETWORKS: dict[str, str] = {
    "cafe": "the café's Wi-Fi (its router inspects SMTP when a scenario says so)",
    "hotspot": "the phone's hotspot (a plain router: nothing inspected)",
}
#: Where the router's SMTP inspector listens.
INSPECTOR_PORT = 10025


class Action(enum.StrEnum):
    DROP = "drop"
    REJECT_TCP_RESET = "reject-tcp-reset"
    REJECT_ADMIN_PROHIBITED = "reject-admin-prohibited"


_NFT_VERDICT = {
    Action.DROP: "drop",
    Action.REJECT_TCP_RESET: "reject with tcp reset",
    Action.REJECT_ADMIN_PROHIBITED: "reject with icmp type admin-prohibited",
}


@dataclass(frozen=True)
class PathRule:
    """One firewall rule on the path: what happens to ``port`` from ``networks``."""

    port: int
    action: Action
    networks: tuple[str, ...] = tuple(NETWORKS)
    why: str = ""

    def describe(self) -> str:
        where = " and ".join(self.networks)
        text = f"port {self.port} from {where}: {self.action}"
        return f"{text} ({self.why})" if self.why else text


@dataclass(frozen=True)
class PathSpec:
    """Everything a scenario says about the network between laptop and server."""

    inspect: tuple[str, ...] = ()
    rules: tuple[PathRule, ...] = ()

    def rules_for(self, network: str, port: int) -> PathRule | None:
        for rule in self.rules:
            if rule.port == port and network in rule.networks:
                return rule
        return None

    def inspected(self, network: str) -> bool:
        """True when port 25 from ``network`` really reaches the inspector."""
        return network in self.inspect and self.rules_for(network, 25) is None

    def describe(self) -> list[str]:
        """One line per fact, for ``labkit scenario show`` and its diff."""
        lines = [
            f"{net}: port 25 "
            + ("inspected (ASA-style SMTP inspection)" if self.inspected(net) else "not inspected")
            for net in NETWORKS
        ]
        return lines + [f"firewall: {rule.describe()}" for rule in self.rules]

    def render_nft(self, inspector_port: int = INSPECTOR_PORT) -> str:
        """The router's ``ip labkit`` table for this path (the whole of it)."""
        redirects = [
            f'        iifname "{net}" tcp dport 25 redirect to :{inspector_port} '
            f'comment "SMTP inspection on {net}"'
            for net in NETWORKS
            if self.inspected(net)
        ]
        filters = []
        for rule in self.rules:
            nets = ", ".join(f'"{n}"' for n in rule.networks)
            comment = (rule.why or f"{rule.action} {rule.port}").replace('"', "'")
            filters.append(
                f"        iifname {{ {nets} }} tcp dport {rule.port} "
                f'{_NFT_VERDICT[rule.action]} comment "{comment}"'
            )
        return "\n".join(
            [
                "table ip labkit {",
                "    chain prerouting {",
                "        type nat hook prerouting priority dstnat; policy accept;",
                *redirects,
                "    }",
                "    chain forward {",
                "        type filter hook forward priority filter; policy accept;",
                *filters,
                "    }",
                "}",
                "",
            ]
        )


def _networks(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UsageError(f"{where} must be a list of network names.")
    unknown = [v for v in value if v not in NETWORKS]
    if unknown:
        raise UsageError(
            f"{where} names unknown networks {unknown}.", advice="Use: " + ", ".join(NETWORKS)
        )
    return tuple(value)


def parse_path(data: Mapping[str, Any] | None, scenario: str) -> PathSpec:
    """The ``[path]`` table of scenario ``scenario`` (absent: nothing on the path)."""
    if not data:
        return PathSpec()
    where = f"Scenario {scenario}: [path]"
    unknown_keys = set(data) - {"inspect", "rules"}
    if unknown_keys:
        raise UsageError(f"{where} has unknown keys {sorted(unknown_keys)}.")
    inspect = _networks(data.get("inspect", []), f"{where} inspect")
    rules = []
    for i, raw in enumerate(data.get("rules", [])):
        here = f"{where} rule {i + 1}"
        if not isinstance(raw, Mapping):
            raise UsageError(f"{here} must be a table ([[path.rules]]).")
        port = raw.get("port")
        if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
            raise UsageError(f"{here}: port must be a number from 1 to 65535, not {port!r}.")
        try:
            action = Action(raw.get("action", ""))
        except ValueError:
            raise UsageError(
                f"{here}: unknown action {raw.get('action')!r}.",
                advice="Use one of: " + ", ".join(a.value for a in Action),
            ) from None
        networks = _networks(raw.get("networks", list(NETWORKS)), f"{here} networks")
        rules.append(PathRule(port, action, networks, str(raw.get("why", ""))))
    return PathSpec(inspect, tuple(rules))
