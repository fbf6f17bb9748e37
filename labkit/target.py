"""The mail server that probes, the doctor, live tasks and widgets aim at.

One frozen :class:`Target` describes it; every part of labkit takes that type, so a
default lives here once. The defaults describe the lab as seen from the learner's
workstation (the only place that reaches the lab network on every platform);
:func:`labkit.lab.config.lab_target` fills in the running lab's addresses.

Two addresses, because in a DNS exercise they may differ on purpose:

* ``address``: where connections go instead of resolving ``mail_host`` (None: by
  name, as the learner's own tools do);
* ``mx_address``: the address the mail host *should* have (its A record and the
  subject of its PTR); None when unknown.

The name the certificate, the PTR and EHLO should carry is always ``mail_host``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

__all__ = [
    "DOMAIN",
    "MAIL_HOST",
    "OUTSIDE_DOMAIN",
    "TEST_PASSWORD",
    "TEST_USER",
    "WORKSTATION_CAFILE",
    "Target",
]

DOMAIN = "zimmerman.test"
MAIL_HOST = f"mail.{DOMAIN}"
#: The lab's test mailbox (documented in README.md and notebook 0).
TEST_USER = f"jez@{DOMAIN}"
TEST_PASSWORD = "metagross2014"
#: A domain outside the lab, used for relay tests. Nothing is ever delivered there.
OUTSIDE_DOMAIN = "example.net"
#: Where the workstation keeps the lab CA (installed by its init script).
WORKSTATION_CAFILE = "/etc/ssl/certs/labkit-ca.pem"


@dataclass(frozen=True, kw_only=True)
class Target:
    """Where the mail server is and how to talk to it. ``password`` is never printed;
    without one, nothing tries to log in."""

    domain: str = DOMAIN
    mail_host: str = MAIL_HOST
    address: str | None = None
    mx_address: str | None = None
    #: The DNS server to ask (None: the system resolver, which in the workstation is it).
    nameserver: str | None = None
    dns_port: int = 53
    #: CA bundle to trust (None: the system's).
    cafile: str | None = None
    smtp_port: int = 25
    smtps_port: int = 465
    submission_port: int = 587
    user: str | None = TEST_USER
    password: str | None = field(default=None, repr=False)
    outside_domain: str = OUTSIDE_DOMAIN
    #: Seconds each connection or query may take.
    timeout: float = 5.0

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

    def but(self, **changes: Any) -> Target:
        """A copy with some fields changed; a change given as None keeps the field."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    def public(self) -> dict[str, Any]:
        """The target as plain data, with the password masked."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        if data["password"] is not None:
            data["password"] = "****"
        return data
