"""Live tasks: "fix the lab, then check", graded from what the probes see.

A :class:`LiveTask` pairs a *gather* step, which runs the probes a task needs
against the lab described by a :class:`LabContext`, with a pure *check* from
:mod:`labkit.exercises.checks`. ``run`` does both; ``grade`` only the second, so
tests and the doctor can feed it results built by hand or collected elsewhere.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from labkit.errors import UsageError
from labkit.exercises.grade import Exercise, Grade

__all__ = ["DEFAULT_CAFILE", "DEFAULT_DOMAIN", "DEFAULT_HOST", "LabContext", "LiveTask"]

DEFAULT_HOST = "mail.zimmerman.test"
DEFAULT_DOMAIN = "zimmerman.test"
DEFAULT_CAFILE = "/etc/ssl/certs/labkit-ca.pem"

Evidence = Mapping[str, Any]

#: Names a lab target may use for our fields (``LabTarget`` says ``mail_host``...).
_TARGET_ALIASES: dict[str, tuple[str, ...]] = {
    "host": ("host", "mail_host"),
    "mail_address": ("mail_address", "mx_address", "mx_ip"),
    "nameserver": ("nameserver", "dns_ip", "dns_server"),
    "dns_port": ("dns_port", "nameserver_port"),
}


@dataclass(frozen=True)
class LabContext:
    """Where the lab's mail server is, as seen from where the probes run.

    The defaults describe the lab from the learner's workstation container; outside
    it, :meth:`from_lab` asks labkit's lab configuration.
    """

    host: str = DEFAULT_HOST
    domain: str = DEFAULT_DOMAIN
    cafile: str | None = DEFAULT_CAFILE
    #: The lab DNS server (None: the system resolver, which in the workstation is it).
    nameserver: str | None = None
    dns_port: int = 53
    #: The address the mail host should have (its A record, and its PTR's subject).
    mail_address: str | None = None
    user: str = f"jez@{DEFAULT_DOMAIN}"
    password: str = "metagross2014"
    #: A domain outside the lab for relay tests; nothing is ever delivered there.
    outside_domain: str = "example.net"
    #: The name a certificate must carry (None: ``host``), when ``host`` is an address.
    servername: str | None = None
    smtp_port: int = 25
    submission_port: int = 587
    smtps_port: int = 465
    timeout: float = 5.0

    @classmethod
    def from_lab(cls) -> LabContext:
        """Read the lab's settings (``labkit.lab.config``); fall back to the defaults."""
        try:
            from labkit.lab import config
        except ImportError:
            return cls()
        target = getattr(config, "lab_target", None)
        if callable(target):
            return cls.from_target(target())
        try:
            lab = config.LabConfig.from_env()
        except UsageError:
            return cls()
        return cls(
            host=getattr(config, "MAIL_HOST", DEFAULT_HOST),
            domain=getattr(config, "DOMAIN", DEFAULT_DOMAIN),
            cafile=getattr(config, "WORKSTATION_CAFILE", DEFAULT_CAFILE),
            nameserver=lab.dns_ip,
            mail_address=lab.mx_ip,
            user=getattr(config, "TEST_USER", cls.user),
            password=getattr(config, "TEST_PASSWORD", cls.password),
            outside_domain=getattr(config, "OUTSIDE_DOMAIN", cls.outside_domain),
        )

    @classmethod
    def from_target(cls, target: object) -> LabContext:
        """Take whichever of our fields a lab target (``labkit.lab.config.LabTarget``, or
        a mapping) provides, under our name or its own; a value it gives as None (e.g.
        no CA file on this machine) is kept as None."""
        if isinstance(target, Mapping):
            found = dict(target)
        else:
            found = {k: getattr(target, k) for k in dir(target) if not k.startswith("_")}
        values: dict[str, Any] = {}
        for field in dataclasses.fields(cls):
            for name in _TARGET_ALIASES.get(field.name, (field.name,)):
                if name in found:
                    values[field.name] = found[name]
                    break
        return cls(**values)

    @property
    def mail_name(self) -> str:
        """The mail server's name (what certificates, PTR and EHLO should say)."""
        return self.servername or self.host

    @property
    def credentials(self) -> tuple[str, str]:
        return (self.user, self.password)


@dataclass(frozen=True, kw_only=True)
class LiveTask(Exercise):
    """A fix in the lab, checked by probing it.

    ``gather(context)`` runs the probes and returns their results as keyword
    arguments for ``check``, a pure function returning a :class:`Grade` on any
    scale; :meth:`grade` scales it to ``points`` and applies hints and solution.
    """

    kind: ClassVar[str] = "live"

    check: Callable[..., Grade]
    gather: Callable[[LabContext], Evidence]

    def grade(self, evidence: Evidence, hints_used: int = 0, solution_shown: bool = False) -> Grade:
        """Run the pure check on probe results and scale it to this task's points."""
        raw = self.check(**evidence)
        return self.finish(raw, hints_used=hints_used, solution_shown=solution_shown)

    def probe(self, context: LabContext | None = None) -> Evidence:
        """Run this task's probes against the lab."""
        return self.gather(context if context is not None else LabContext.from_lab())

    def run(
        self,
        context: LabContext | None = None,
        hints_used: int = 0,
        solution_shown: bool = False,
    ) -> Grade:
        """Probe the lab and grade what was seen."""
        return self.grade(self.probe(context), hints_used, solution_shown)
