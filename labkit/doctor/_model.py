"""The doctor's data: what to examine, what was observed, what was found."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

from labkit.probes.dns import MailDnsReport
from labkit.probes.server import ServerInspection
from labkit.probes.smtp import SmtpResult
from labkit.probes.tcp import PortResult
from labkit.probes.tls import TlsResult

if TYPE_CHECKING:
    import pandas

__all__ = ["DoctorReport", "DoctorTarget", "Finding", "Observations", "Status"]


class Status(enum.StrEnum):
    """A finding's verdict. ``info`` is context (neither good nor bad)."""

    OK = "ok"
    INFO = "info"
    WARN = "warn"
    FAIL = "fail"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Status.OK: 0, Status.INFO: 1, Status.WARN: 2, Status.FAIL: 3}


@dataclass(frozen=True)
class Finding:
    """One conclusion, with the proof and the way out.

    ``evidence`` quotes what was seen (a transcript excerpt, a record, a log line);
    ``hint`` says what to change and where (file, parameter, record); ``learn_more``
    names the notebook and the RFC that explain it.
    """

    check: str
    target: str
    status: Status
    title: str
    evidence: str = ""
    hint: str = ""
    learn_more: str = ""


@dataclass(frozen=True)
class DoctorTarget:
    """What the doctor examines. The defaults describe the lab from the workstation.

    ``address`` connects there instead of resolving ``mail_host`` (the name is still
    used for SNI, certificate checks and DNS). ``password`` is never printed.
    """

    domain: str = "zimmerman.test"
    mail_host: str = "mail.zimmerman.test"
    address: str | None = None
    nameserver: str | None = None
    dns_port: int = 53
    cafile: str | None = None
    smtp_port: int = 25
    smtps_port: int = 465
    submission_port: int = 587
    timeout: float = 1.5
    dns_timeout: float = 1.0
    outside_domain: str = "example.net"
    user: str | None = "jez@zimmerman.test"
    password: str | None = field(default=None, repr=False)

    @property
    def host(self) -> str:
        """Where connections go."""
        return self.address or self.mail_host

    @property
    def ports(self) -> tuple[int, int, int]:
        return (self.smtp_port, self.smtps_port, self.submission_port)

    def role(self, port: int) -> str:
        """The service a port plays in this target: smtp, smtps or submission."""
        return {
            self.smtp_port: "smtp",
            self.smtps_port: "smtps",
            self.submission_port: "submission",
        }.get(port, str(port))

    def where(self, port: int | None = None) -> str:
        return f"{self.mail_host}:{port}" if port is not None else self.mail_host

    @property
    def credentials(self) -> tuple[str, str] | None:
        if self.user and self.password is not None:
            return (self.user, self.password)
        return None

    def public(self) -> dict[str, Any]:
        """The target as plain data, with the password masked."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        if data["password"] is not None:
            data["password"] = "****"
        return data

    @classmethod
    def from_target(cls, target: object, **overrides: Any) -> DoctorTarget:
        """Build from whatever a lab-target object or mapping provides (same field
        names, or the lab's ``host``/``mx_ip``/``dns_ip``/``outside_domain`` aliases)."""
        if isinstance(target, cls) and not overrides:
            return target
        get = target.get if isinstance(target, Mapping) else lambda k, d=None: getattr(target, k, d)
        aliases = {
            "mail_host": ("mail_host", "servername", "host"),
            "address": ("address", "mx_address", "mail_address", "mx_ip"),
            "nameserver": ("nameserver", "dns_ip", "dns_server"),
            "dns_port": ("dns_port", "nameserver_port"),
        }
        values: dict[str, Any] = {}
        ports = get("smtp_ports", None)  # labkit.lab.config.LabTarget: (smtp, smtps, submission)
        if isinstance(ports, (tuple, list)) and len(ports) == 3:
            values.update(zip(("smtp_port", "smtps_port", "submission_port"), ports, strict=True))
        for f in fields(cls):
            for name in aliases.get(f.name, (f.name,)):
                value = get(name, None)
                if value is not None:
                    values[f.name] = value
                    break
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


@dataclass(frozen=True)
class Observations:
    """Everything gathered, frozen; every check is a pure function of this.

    ``smtp`` is a plain dialog on the SMTP port that also tries to relay from
    outside to outside; ``starttls``, ``submission`` and ``smtps`` are encrypted
    dialogs (with AUTH when a password was given); ``tls`` holds the certificate
    verdicts by port. ``server`` is the inside view (None without a transport).
    ``errors`` says, per gathering step, why something is missing.
    """

    target: DoctorTarget = field(default_factory=DoctorTarget)
    ports: dict[int, PortResult] = field(default_factory=dict)
    smtp: SmtpResult | None = None
    starttls: SmtpResult | None = None
    submission: SmtpResult | None = None
    smtps: SmtpResult | None = None
    tls: dict[int, TlsResult] = field(default_factory=dict)
    dns: MailDnsReport | None = None
    server: ServerInspection | None = None
    errors: dict[str, str] = field(default_factory=dict)
    elapsed: float = 0.0


_COLUMNS = ("check", "target", "status", "title", "evidence", "hint", "learn_more")


@dataclass(frozen=True)
class DoctorReport:
    """The findings of one doctor run, worst first when sorted by :attr:`Status.rank`."""

    target: DoctorTarget
    findings: tuple[Finding, ...]
    observations: Observations
    elapsed: float

    @property
    def worst(self) -> Status:
        return max((f.status for f in self.findings), key=lambda s: s.rank, default=Status.OK)

    @property
    def ok(self) -> bool:
        return self.worst is not Status.FAIL

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def with_status(self, *statuses: Status) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.status in statuses)

    def counts(self) -> dict[str, int]:
        return {s.value: sum(f.status is s for f in self.findings) for s in Status}

    def to_dataframe(self) -> pandas.DataFrame:
        """One row per finding (columns: check, target, status, title, evidence, hint,
        learn_more), for a notebook to sort, filter and colour."""
        import pandas

        rows = [
            {c: getattr(f, c).value if c == "status" else getattr(f, c) for c in _COLUMNS}
            for f in self.findings
        ]
        return pandas.DataFrame(rows, columns=list(_COLUMNS))

    def to_dict(self) -> dict[str, Any]:
        """What ``labkit doctor --json`` prints (no raw observations, no password)."""
        return {
            "target": self.target.public(),
            "worst": self.worst.value,
            "counts": self.counts(),
            "elapsed": round(self.elapsed, 3),
            "findings": [
                {c: getattr(f, c).value if c == "status" else getattr(f, c) for c in _COLUMNS}
                for f in self.findings
            ],
            "not_checked": dict(self.observations.errors),
        }
