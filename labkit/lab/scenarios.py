"""Scenarios: declarative descriptions of a (usually broken) mail server.

A scenario is a small TOML file in ``lab/scenarios/``. It names the TLS material
Postfix uses, which master.cf services exist, main.cf parameters that differ from the
working baseline in ``lab/postfix/``, and which zone the DNS server serves. Rendering
turns it into the *full* desired state: complete ``main.cf``, ``master.cf`` and zone
files, so applying a scenario (or resetting to it) always gives the same result no
matter what a learner edited before.
"""

from __future__ import annotations

import hashlib
import re
import time
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from labkit.errors import LabkitError, UnknownScenarioError, UsageError
from labkit.lab.config import DOMAIN, LabConfig
from labkit.limits import MAX_NAME
from labkit.netpath.rules import PathSpec, parse_path

__all__ = [
    "RenderedScenario",
    "Scenario",
    "TLS_MODES",
    "list_scenarios",
    "load_scenario",
    "render",
    "set_main_cf",
    "filter_master_cf",
]

#: TLS modes a scenario may name, and the certificate/key files Postfix is pointed at.
TLS_MODES: dict[str, tuple[str, str]] = {
    "lab-ca": (f"/etc/ssl/lab/mail.{DOMAIN}.crt", f"/etc/ssl/lab/mail.{DOMAIN}.key"),
    "self-signed": ("/etc/ssl/lab/selfsigned.crt", "/etc/ssl/lab/selfsigned.key"),
    # Plausible paths a tutorial might use, which do not exist on the server.
    "missing": (f"/etc/ssl/private/mail.{DOMAIN}.pem", f"/etc/ssl/private/mail.{DOMAIN}.key"),
}
#: master.cf inet services a scenario can switch on or off, with their ports.
INET_SERVICES = {"smtp": 25, "submission": 587, "smtps": 465}
#: Address the apex A record points at: a web host outside the lab (TEST-NET-1, RFC 5737),
#: standing in for the blog's GitHub Pages address. The lab has no route to it.
PAGES_IP = "192.0.2.80"

SCENARIO_RECORD = "/etc/postfix/labkit-scenario.json"


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    summary: str
    tls: str
    services: tuple[str, ...]
    main_overrides: Mapping[str, str | None]
    zone: str
    expect_ports: tuple[int, ...]
    path: Path
    #: The network between laptop and server: inspection and firewall rules ([path]).
    netpath: PathSpec = field(default_factory=PathSpec)

    @property
    def closed_ports(self) -> tuple[int, ...]:
        return tuple(p for p in INET_SERVICES.values() if p not in self.expect_ports)


@dataclass(frozen=True)
class RenderedScenario:
    """The full desired state of the lab for one scenario."""

    scenario: Scenario
    postfix_files: Mapping[str, str]  # absolute path on mx -> content
    zone_files: Mapping[str, str]  # file name in the zones folder -> content
    serial: int
    hashes: Mapping[str, str] = field(default_factory=dict)
    #: The router's nftables table for the scenario's [path].
    router_rules: str = ""


def scenarios_dir(home: Path) -> Path:
    return home / "lab" / "scenarios"


def list_scenarios(home: Path) -> list[Scenario]:
    return [load_scenario(home, p.stem) for p in sorted(scenarios_dir(home).glob("*.toml"))]


def scenario_names(home: Path) -> list[str]:
    return sorted(p.stem for p in scenarios_dir(home).glob("*.toml"))


def load_scenario(home: Path, name: str) -> Scenario:
    # Checked before the name becomes a path: a 300-letter name must not reach the
    # file system (ENAMETOOLONG), nor '../x' escape the scenarios folder.
    if (
        not isinstance(name, str)
        or len(name) > MAX_NAME
        or not re.fullmatch(r"[a-z0-9][a-z0-9-]*", name)
    ):
        shown = name if not isinstance(name, str) or len(name) <= 40 else name[:37] + "..."
        raise UnknownScenarioError(str(shown), scenario_names(home))
    path = scenarios_dir(home) / f"{name}.toml"
    if not path.is_file():
        raise UnknownScenarioError(name, scenario_names(home))
    try:
        data = tomllib.loads(path.read_text())
        postfix = data.get("postfix", {})
        tls = postfix.get("tls", "lab-ca")
        services = tuple(postfix.get("services", list(INET_SERVICES)))
        scenario = Scenario(
            name=name,
            title=data["title"],
            summary=" ".join(data.get("summary", "").split()),
            tls=tls,
            services=services,
            main_overrides=dict(postfix.get("main", {})),
            zone=data.get("dns", {}).get("zone", "good"),
            expect_ports=tuple(data.get("expect_ports", [INET_SERVICES[s] for s in services])),
            path=path,
            netpath=parse_path(data.get("path"), name),
        )
    except (tomllib.TOMLDecodeError, KeyError, TypeError) as exc:
        raise LabkitError(
            f"Scenario file {path} is malformed: {exc}",
            advice="Fix the TOML, or restore it with `git checkout`.",
        ) from exc
    if tls not in TLS_MODES:
        raise UsageError(
            f"Scenario {name}: unknown tls mode {tls!r}.",
            advice="Use one of: " + ", ".join(TLS_MODES),
        )
    unknown = [s for s in services if s not in INET_SERVICES]
    if unknown:
        raise UsageError(
            f"Scenario {name}: unknown master.cf services {unknown}.",
            advice="Use: " + ", ".join(INET_SERVICES),
        )
    return scenario


_PARAM = re.compile(r"^([A-Za-z0-9_]+)\s*=")


def set_main_cf(text: str, overrides: Mapping[str, str | None]) -> str:
    """Set (or with ``None`` remove) main.cf parameters, keeping comments and order.

    A parameter's continuation lines (starting with whitespace) go with it.
    """
    out: list[str] = []
    pending = dict(overrides)
    skipping = False
    for line in text.splitlines():
        if skipping and line[:1] in (" ", "\t") and line.strip():
            continue
        skipping = False
        m = _PARAM.match(line)
        if m and m.group(1) in pending:
            value = pending.pop(m.group(1))
            skipping = True
            if value is not None:
                out.append(f"{m.group(1)} = {value}")
            continue
        out.append(line)
    added = [(k, v) for k, v in pending.items() if v is not None]
    if added:
        out.append("")
        out.append("# --- set by the scenario ---")
        out += [f"{k} = {v}" for k, v in added]
    return "\n".join(out) + "\n"


def filter_master_cf(text: str, keep_inet: tuple[str, ...]) -> str:
    """Comment out ``inet`` services not in ``keep_inet`` (with their ``-o`` lines).

    Commented out, not deleted: this is how Debian ships ``submission`` and ``smtps``,
    so the learner finds them exactly where a real server would have them.
    """
    out: list[str] = []
    dropping = False
    for line in text.splitlines():
        if line[:1] in (" ", "\t") and line.strip():
            out.append("#" + line if dropping else line)
            continue
        dropping = False
        fields = line.split()
        if (
            len(fields) >= 2
            and not line.startswith("#")
            and fields[1] == "inet"
            and fields[0] in INET_SERVICES
            and fields[0] not in keep_inet
        ):
            dropping = True
            out.append("#" + line)
            continue
        out.append(line)
    return "\n".join(out) + "\n"


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def render(
    home: Path, scenario: Scenario, config: LabConfig, serial: int | None = None
) -> RenderedScenario:
    postfix_dir = home / "lab" / "postfix"
    cert, key = TLS_MODES[scenario.tls]
    overrides: dict[str, str | None] = {"smtpd_tls_cert_file": cert, "smtpd_tls_key_file": key}
    overrides.update(scenario.main_overrides)
    main_cf = set_main_cf((postfix_dir / "main.cf").read_text(), overrides)
    master_cf = filter_master_cf((postfix_dir / "master.cf").read_text(), scenario.services)

    serial = serial or int(time.time() * 10) % 4_000_000_000
    values = {
        "serial": serial,
        "pages_ip": PAGES_IP,
        "dns_ip": config.dns_ip,
        "mx_ip": config.mx_ip,
        "ws_ip": config.workstation_ip,
        "ws_hotspot_ip": config.workstation_hotspot_ip,
        "router_ip": config.router_ip,
        "cafe_gw_ip": config.gateways["cafe"],
        "hotspot_gw_ip": config.gateways["hotspot"],
        "reverse_zone": config.reverse_zone,
        "dns_host": config.dns_ip.rsplit(".", 1)[1],
        "mx_host": config.mx_ip.rsplit(".", 1)[1],
        "ws_host": config.workstation_ip.rsplit(".", 1)[1],
        "ws_hotspot_host": config.workstation_hotspot_ip.rsplit(".", 1)[1],
        "router_host": config.router_ip.rsplit(".", 1)[1],
        "cafe_gw_host": config.gateways["cafe"].rsplit(".", 1)[1],
        "hotspot_gw_host": config.gateways["hotspot"].rsplit(".", 1)[1],
    }
    dns_dir = home / "lab" / "dns"
    zone_src = dns_dir / f"{scenario.zone}.zone"
    rev_src = dns_dir / f"{scenario.zone}.rev.zone"
    if not zone_src.is_file() or not rev_src.is_file():
        raise UsageError(
            f"Scenario {scenario.name}: zone {scenario.zone!r} has no files "
            f"{zone_src.name} and {rev_src.name} in lab/dns/."
        )
    zones = {
        f"{DOMAIN}.zone": zone_src.read_text().format(**values),
        f"{config.reverse_zone}.zone": rev_src.read_text().format(**values),
    }
    postfix_files = {"/etc/postfix/main.cf": main_cf, "/etc/postfix/master.cf": master_cf}
    hashes = {path: _sha(text) for path, text in postfix_files.items()}
    hashes.update({f"zones/{name}": _sha(_without_serial(text)) for name, text in zones.items()})
    return RenderedScenario(
        scenario, postfix_files, zones, serial, hashes, scenario.netpath.render_nft()
    )


_SOA_SERIAL = re.compile(r"(IN\s+SOA\s+\S+\s+\S+\s*\(\s*)(\d+)")


def _without_serial(zone_text: str) -> str:
    """Zone text with the SOA serial blanked, so drift checks ignore re-serialisation."""
    return _SOA_SERIAL.sub(r"\g<1>0", zone_text)


def content_hash(path: str, text: str) -> str:
    return _sha(_without_serial(text) if path.startswith("zones/") else text)
