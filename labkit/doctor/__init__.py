"""The mail-server doctor: gather everything at once, then diagnose like an expert.

Two layers, so the diagnosis can be tested without a network:

1. :func:`gather` runs every probe concurrently (ports, SMTP dialogs, TLS, DNS and,
   given a transport, the inside of the server) into a frozen :class:`Observations`;
2. the checks in :mod:`labkit.doctor.checks` are pure functions
   ``Observations -> findings``; :func:`diagnose` runs them all.

::

    from labkit.doctor import run_doctor
    from labkit.target import Target
    report = run_doctor(Target(password="..."), transport=SSHTransport("mx"))
    report.to_dataframe()          # one row per Finding
    report.worst                   # Status.FAIL / WARN / INFO / OK
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from labkit.doctor._gather import doctor_budget, gather, relay_commands
from labkit.doctor._model import (
    DOCTOR_TIMEOUT,
    CheckName,
    DoctorReport,
    Finding,
    Observations,
    Status,
)
from labkit.doctor.checks import Check, check, diagnose, registered_checks
from labkit.limits import check_port, check_timeout
from labkit.probes.tcp import validate_target
from labkit.probes.tls import tls_context
from labkit.target import Target

if TYPE_CHECKING:
    from labkit.transport import Transport

__all__ = [
    "DOCTOR_TIMEOUT",
    "Check",
    "CheckName",
    "DoctorReport",
    "Finding",
    "Observations",
    "Status",
    "check",
    "diagnose",
    "doctor_budget",
    "doctor_target",
    "gather",
    "inside_transport",
    "registered_checks",
    "relay_commands",
    "run_doctor",
]


def run_doctor(target: Target, transport: Transport | None = None) -> DoctorReport:
    """Examine ``target`` from here (and from inside through ``transport``, if given).

    A malformed target (bad host or port, unreadable CA file) raises
    :class:`~labkit.errors.UsageError` before any packet is sent; everything the
    network or the server does becomes findings.
    """
    started = time.monotonic()
    check_timeout(target.timeout)
    check_port(target.dns_port, "DNS port")
    for port in target.ports:
        validate_target(target.host, port)
    tls_context(target.cafile, True)
    observations = gather(target, transport)
    findings = diagnose(observations)
    return DoctorReport(target, findings, observations, time.monotonic() - started)


def doctor_target(**overrides: object) -> Target:
    """The running lab's target, reached by address (so a DNS exercise in progress
    cannot hide the server), with the doctor's short timeout, then ``overrides`` (None
    keeps a field). Outside a configured lab, the defaults."""
    from labkit.errors import LabkitError
    from labkit.lab.config import lab_target

    try:
        target = lab_target()
    except LabkitError:
        target = Target()
    return target.but(address=target.mx_address, timeout=DOCTOR_TIMEOUT).but(**overrides)


def inside_transport() -> tuple[Transport | None, str | None]:
    """A way into the lab's mail server (``docker exec`` from the host, SSH from the
    workstation), or None and why not."""
    from labkit.errors import LabkitError
    from labkit.lab.lifecycle import Lab

    try:
        return Lab().access().mx, None
    except LabkitError as exc:
        return None, exc.message
