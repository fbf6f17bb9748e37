"""The doctor's data: what to examine, what was observed, what was found."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from labkit.probes.dns import MailDnsReport
from labkit.probes.server import ServerInspection
from labkit.probes.smtp import SmtpResult
from labkit.probes.tcp import PortResult
from labkit.probes.tls import TlsResult
from labkit.target import Target

if TYPE_CHECKING:
    import pandas

__all__ = ["DOCTOR_TIMEOUT", "CheckName", "DoctorReport", "Finding", "Observations", "Status"]

#: Seconds each of the doctor's probes may take for its whole run (connect, STARTTLS,
#: handshake, AUTH and QUIT together): short, because they all run at once and a broken
#: server should cost about one timeout, but enough for a Postfix that has just been
#: reloaded on a busy machine to fork smtpd and tlsmgr (1.5 s was not, in CI).
DOCTOR_TIMEOUT = 3.0
#: Seconds for the whole DNS report (at most the target's timeout).
DNS_TIMEOUT = 2.0


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


class CheckName(enum.StrEnum):
    """The names of labkit's own doctor checks, as findings and ``--json`` carry them."""

    PORTS = "ports"
    SUBMISSION = "submission"
    GREETING = "greeting"
    MIDDLEBOX = "middlebox"
    PATH = "path"
    STARTTLS = "starttls"
    CERTIFICATE = "certificate"
    AUTH = "auth"
    RELAY = "relay"
    DNS = "dns"
    MAIL_LOG = "mail-log"
    INSIDE = "inside"


@dataclass(frozen=True, kw_only=True)
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
class Observations:
    """Everything gathered, frozen; every check is a pure function of this.

    ``smtp`` is a plain dialog on the SMTP port that also tries to relay from
    outside to outside; ``starttls``, ``submission`` and ``smtps`` are encrypted
    dialogs (with AUTH when a password was given); ``tls`` holds the certificate
    verdicts by port. ``server`` is the inside view (None without a transport).
    ``errors`` says, per gathering step, why something is missing.
    """

    target: Target = field(default_factory=Target)
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
    #: The laptop's network (cafe, hotspot) when the doctor runs in the lab's workstation.
    network: str | None = None


_COLUMNS = ("check", "target", "status", "title", "evidence", "hint", "learn_more")


@dataclass(frozen=True)
class DoctorReport:
    """The findings of one doctor run, worst first when sorted by :attr:`Status.rank`."""

    target: Target
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
