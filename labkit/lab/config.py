"""Where the lab lives and how it is addressed.

Everything is derived from a handful of settings, each overridable by an environment
variable so that tests and a workshop machine can run a second lab beside the first:

=====================  ========================  ==========================================
setting                variable                  default
=====================  ========================  ==========================================
Compose project        ``LABKIT_PROJECT``        ``labkit``
lab network /24        ``LABKIT_NET_PREFIX``     ``10.125.25`` (so mx is ``10.125.25.25``)
JupyterLab port        ``LABKIT_JUPYTER_PORT``   ``8888`` (published on 127.0.0.1 only)
project folder         ``LABKIT_HOME``           the checkout holding ``lab/docker-compose.yml``
engine                 ``LABKIT_ENGINE``         ``compose`` (one machine); ``swarm``: a seat
                                                 on a Docker Swarm (:mod:`labkit.lab.stack`)
=====================  ========================  ==========================================
"""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass
from pathlib import Path

from labkit.errors import SetupError, UsageError
from labkit.limits import parse_port
from labkit.target import DOMAIN, TEST_PASSWORD, WORKSTATION_CAFILE, Target

__all__ = ["DOMAIN", "ENGINES", "LabConfig", "find_home", "in_workstation", "lab_target"]


def in_workstation() -> bool:
    """True inside the learner's workstation container (set by its image)."""
    return os.environ.get("LABKIT_VANTAGE") == "workstation"


def find_home(start: Path | None = None) -> Path:
    """Find the project folder that holds ``lab/docker-compose.yml``."""
    env = os.environ.get("LABKIT_HOME")
    candidates: list[Path] = []
    if env:
        candidates.append(Path(env))
    here = (start or Path.cwd()).resolve()
    candidates += [here, *here.parents]
    candidates.append(Path(__file__).resolve().parents[2])
    for c in candidates:
        if (c / "lab" / "docker-compose.yml").is_file():
            return c
    raise SetupError(
        "Cannot find the lab definition (lab/docker-compose.yml).",
        advice="Run labkit from your labkit checkout (the folder with README.md and lab/), "
        "or set LABKIT_HOME to it.",
    )


#: How a lab can run: Compose on this machine, or a stack on a Docker Swarm.
ENGINES = ("compose", "swarm")

#: Compose's own rule for project names, with labkit's length limit.
_PROJECT_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")


@dataclass(frozen=True)
class LabConfig:
    project: str = "labkit"
    # Outside Docker's default address pools (172.17-31/16, 192.168/16), so networks
    # Docker numbers itself can never take the lab's subnet first.
    net_prefix: str = "10.125.25"
    jupyter_port: int = 8888
    image_tag: str = "dev"
    #: Address JupyterLab is published on. Loopback by default; a workshop server that
    #: participants reach over the network may use 0.0.0.0 (JupyterLab keeps its token).
    bind: str = "127.0.0.1"
    #: How the lab runs: a Compose project on this machine, or a stack on a swarm.
    engine: str = "compose"

    @classmethod
    def from_env(cls, **overrides: object) -> LabConfig:
        values: dict[str, object] = {
            "project": os.environ.get("LABKIT_PROJECT", cls.project),
            "net_prefix": os.environ.get("LABKIT_NET_PREFIX", cls.net_prefix),
            "jupyter_port": os.environ.get("LABKIT_JUPYTER_PORT", cls.jupyter_port),
            "image_tag": os.environ.get("LABKIT_IMAGE_TAG", cls.image_tag),
            "bind": os.environ.get("LABKIT_BIND", cls.bind),
            "engine": os.environ.get("LABKIT_ENGINE", cls.engine),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        raw_port = values["jupyter_port"]
        port = (
            raw_port
            if isinstance(raw_port, int) and not isinstance(raw_port, bool)
            else parse_port(str(raw_port), "JupyterLab port (--port, LABKIT_JUPYTER_PORT)")
        )
        config = cls(
            str(values["project"]),
            str(values["net_prefix"]),
            port,
            str(values["image_tag"]),
            str(values["bind"]),
            str(values["engine"]),
        )
        config.validate()
        return config

    def validate(self) -> None:
        try:
            net = ipaddress.ip_network(f"{self.net_prefix}.0/24")
        except ValueError:
            raise UsageError(
                f"LABKIT_NET_PREFIX={self.net_prefix!r} is not the first three octets of "
                "an IPv4 /24.",
                advice="Use a private prefix such as 10.125.25 or 10.200.7.",
            ) from None
        if not net.is_private:
            raise UsageError(
                f"The lab network {net} is not a private range.",
                advice="Pick a prefix inside 10/8, 172.16/12 or 192.168/16.",
            )
        try:
            ipaddress.IPv4Address(self.bind)
        except ValueError:
            raise UsageError(
                f"LABKIT_BIND={self.bind!r} is not an IPv4 address.",
                advice="Use 127.0.0.1 (default) or 0.0.0.0.",
            ) from None
        if not 1 <= self.jupyter_port <= 65535:
            raise UsageError(
                f"Port {self.jupyter_port} is out of range.",
                advice="Use a port between 1024 and 65535.",
            )
        if self.engine not in ENGINES:
            raise UsageError(
                f"Unknown engine {self.engine!r} (--engine, LABKIT_ENGINE).",
                advice="Use compose (one machine, the default) or swarm (seats on a Docker Swarm).",
            )
        if not _PROJECT_RE.fullmatch(self.project):
            shown = self.project if len(self.project) <= 40 else self.project[:37] + "..."
            raise UsageError(
                f"Project name {shown!r} is not valid for Compose.",
                advice="Use at most 64 lower-case letters, digits, '-' and '_', starting "
                "with a letter or digit.",
            )

    # Fixed addresses inside the lab network (docker-compose.yml uses the same ones).
    @property
    def dns_ip(self) -> str:
        return f"{self.net_prefix}.53"

    @property
    def mx_ip(self) -> str:
        return f"{self.net_prefix}.25"

    @property
    def workstation_ip(self) -> str:
        """The laptop on the café's Wi-Fi (its usual network)."""
        return f"{self.net_prefix}.100"

    @property
    def workstation_hotspot_ip(self) -> str:
        """The laptop on the phone's hotspot."""
        return f"{self.net_prefix}.164"

    @property
    def router_ip(self) -> str:
        """The router on the server LAN (what the server sees of inspected connections)."""
        return f"{self.net_prefix}.1"

    @property
    def cables(self) -> dict[str, str]:
        """The Docker networks (Compose names) and their subnets, carrying the lab's links."""
        p = self.net_prefix
        return {"server": f"{p}.192/28", "cafe": f"{p}.208/28", "hotspot": f"{p}.224/28"}

    @property
    def gateways(self) -> dict[str, str]:
        """The router's address on each of the laptop's networks."""
        return {"cafe": f"{self.net_prefix}.65", "hotspot": f"{self.net_prefix}.129"}

    @property
    def reverse_zone(self) -> str:
        a, b, c = self.net_prefix.split(".")
        return f"{c}.{b}.{a}.in-addr.arpa"

    def compose_env(self) -> dict[str, str]:
        return {
            "LABKIT_PROJECT": self.project,
            "LABKIT_NET_PREFIX": self.net_prefix,
            "LABKIT_JUPYTER_PORT": str(self.jupyter_port),
            "LABKIT_BIND": self.bind,
            "LABKIT_IMAGE_TAG": self.image_tag,
        }


def lab_target(config: LabConfig | None = None) -> Target:
    """The running lab's mail server, as the workstation sees it (by name, with the
    test mailbox's password, trusting the lab CA where it is installed)."""
    config = config or LabConfig.from_env()
    cafile = WORKSTATION_CAFILE if Path(WORKSTATION_CAFILE).is_file() else None
    return Target(
        mx_address=config.mx_ip,
        nameserver=config.dns_ip,
        cafile=cafile,
        password=TEST_PASSWORD,
    )
