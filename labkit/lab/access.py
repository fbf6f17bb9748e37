"""How labkit reaches the lab's servers from where it runs.

From the host it uses ``docker exec`` into the containers; from the learner's
workstation it logs in to ``mx`` with SSH and writes zone files straight into the
zones folder that the DNS server watches (the lab's "DNS control panel"). Scenario
application, ``labkit reset`` and the server probe go through :class:`LabAccess`
and never care which vantage they have.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from labkit.errors import LabStateError
from labkit.lab.config import DOMAIN, LabConfig
from labkit.transport import LocalTransport, SSHTransport, Transport

__all__ = ["DockerZones", "LabAccess", "LocalZones", "ZoneStore", "workstation_access"]


class ZoneStore(Protocol):
    description: str

    def write(
        self, files: dict[str, str], *, expect_serial: tuple[str, int, float] | None = None
    ) -> bool:
        """Write zone files; True if it also saw ``(zone, serial, timeout)`` served."""
        ...

    def read(self, name: str) -> str | None: ...

    def read_all(self) -> dict[str, str]:
        """Every zone file, by name (one round trip)."""
        ...

    def served_serial(self, zone: str) -> int | None: ...


@dataclass(frozen=True)
class LabAccess:
    config: LabConfig
    mx: Transport
    zones: ZoneStore
    vantage: str  # "host" or "workstation"
    #: The router (its rules) and the laptop itself (its routes); None in labs without.
    router: Transport | None = None
    workstation: Transport | None = None

    @property
    def needs_sudo(self) -> bool:
        """The learner switches the laptop's network through sudo; the host is root."""
        return self.vantage == "workstation"

    def load_zones(self, files: dict[str, str], serial: int, timeout: float = 5.0) -> None:
        """Write the zone files and return once the DNS server serves ``serial``."""
        if not self.zones.write(files, expect_serial=(DOMAIN, serial, timeout)):
            self.wait_serial(serial, timeout)

    def wait_serial(self, serial: int, timeout: float = 5.0) -> float:
        """Wait until the DNS server serves ``serial`` for the lab zone; return seconds."""
        started = time.monotonic()
        while True:
            if self.zones.served_serial(DOMAIN) == serial:
                return time.monotonic() - started
            if time.monotonic() - started > timeout:
                raise LabStateError(
                    f"The DNS server did not load the new zone within {timeout:g} s.",
                    advice="Look at `labkit logs dns` for a rejected zone file.",
                )
            time.sleep(0.05)


class DockerZones:
    """Zone files inside the dns container, reloaded with nsd-control."""

    def __init__(self, dns: Transport) -> None:
        self.dns = dns
        self.description = dns.description

    def write(
        self, files: dict[str, str], *, expect_serial: tuple[str, int, float] | None = None
    ) -> bool:
        from labkit.lab.tarball import tar_files

        data = tar_files({f"lab/zones/{name}": text for name, text in files.items()}, mode=0o666)
        script = "tar -x -m -o -C / -f - && nsd-control reload"
        if expect_serial is not None:  # and wait for it here: no exec per poll
            zone, serial, timeout = expect_serial
            script += (
                f"; for _ in $(seq {max(1, int(timeout / 0.05))}); do "
                f"[ \"$(drill -Q @127.0.0.1 {zone} SOA | cut -d' ' -f3)\" = {serial} ] && "
                "exit 0; sleep 0.05; done; echo 'the new zone was not served in time'; exit 5"
            )
        result = self.dns.run(["sh", "-c", script], input=data)
        if not result.ok:
            raise LabStateError(
                "Could not load the zone files into the DNS server.",
                advice=(result.stdout + result.stderr).strip()[-400:]
                + "\nLook at `labkit logs dns` for a rejected zone file.",
            )
        return expect_serial is not None

    def read(self, name: str) -> str | None:
        result = self.dns.run(["cat", f"/lab/zones/{name}"])
        return result.stdout if result.ok else None

    def read_all(self) -> dict[str, str]:
        script = (
            "for f in /lab/zones/*; do "
            '[ -f "$f" ] && printf \'\\0%s\\0\' "${f##*/}" && cat "$f"; done; exit 0'
        )
        result = self.dns.run(["sh", "-c", script])
        _, *pairs = result.stdout.split("\0")
        return dict(zip(pairs[0::2], pairs[1::2], strict=False)) if result.ok else {}

    def served_serial(self, zone: str) -> int | None:
        result = self.dns.run(["drill", "-Q", "@127.0.0.1", zone, "SOA"])
        fields = result.stdout.split()
        return int(fields[2]) if result.ok and len(fields) > 2 and fields[2].isdigit() else None


class LocalZones:
    """The zones folder mounted in the workstation; the DNS server reloads on change."""

    def __init__(self, folder: Path, nameserver: str) -> None:
        self.folder = folder
        self.nameserver = nameserver
        self.description = f"zone files in {folder}"

    def write(
        self, files: dict[str, str], *, expect_serial: tuple[str, int, float] | None = None
    ) -> bool:
        for name, text in files.items():
            tmp = self.folder / f".{name}.tmp"
            tmp.write_text(text)
            tmp.chmod(0o666)
            os.replace(tmp, self.folder / name)
        return False  # the server notices the change itself; LabAccess polls it

    def read(self, name: str) -> str | None:
        try:
            return (self.folder / name).read_text()
        except OSError:
            return None

    def read_all(self) -> dict[str, str]:
        found = {}
        for path in self.folder.glob("*"):
            text = self.read(path.name) if path.is_file() else None
            if text is not None and not path.name.startswith("."):
                found[path.name] = text
        return found

    def served_serial(self, zone: str) -> int | None:
        import dns.exception
        import dns.message
        import dns.query
        import dns.rdatatype

        query = dns.message.make_query(zone, dns.rdatatype.SOA)
        try:
            response = dns.query.udp(query, self.nameserver, timeout=1.0)
        except (dns.exception.DNSException, OSError):
            return None
        for rrset in response.answer:
            for rdata in rrset:
                return int(rdata.serial)
        return None


def workstation_access(config: LabConfig | None = None) -> LabAccess:
    config = config or LabConfig.from_env()
    zones = Path(os.environ.get("LABKIT_ZONES_DIR", "/lab/zones"))
    return LabAccess(
        config,
        SSHTransport("mx"),
        LocalZones(zones, config.dns_ip),
        "workstation",
        router=SSHTransport("router"),
        workstation=LocalTransport(),
    )
