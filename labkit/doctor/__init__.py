"""The mail-server doctor: gather everything at once, then diagnose like an expert.

Two layers, so the diagnosis can be tested without a network:

1. :func:`gather` runs every probe concurrently (ports, SMTP dialogs, TLS, DNS and,
   given a transport, the inside of the server) into a frozen :class:`Observations`;
2. the checks in :mod:`labkit.doctor.checks` are pure functions
   ``Observations -> findings``; :func:`diagnose` runs them all.

::

    from labkit.doctor import DoctorTarget, run_doctor
    report = run_doctor(DoctorTarget(password="..."), transport=SSHTransport("mx"))
    report.to_dataframe()          # one row per Finding
    report.worst                   # Status.FAIL / WARN / INFO / OK
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from labkit.doctor._gather import gather, relay_commands
from labkit.doctor._model import DoctorReport, DoctorTarget, Finding, Observations, Status
from labkit.doctor.checks import Check, check, diagnose, registered_checks
from labkit.probes.tcp import validate_target
from labkit.probes.tls import tls_context

if TYPE_CHECKING:
    from labkit.lab.transport import Transport

__all__ = [
    "Check",
    "DoctorReport",
    "DoctorTarget",
    "Finding",
    "Observations",
    "Status",
    "check",
    "diagnose",
    "gather",
    "registered_checks",
    "relay_commands",
    "run_doctor",
]


def run_doctor(target: DoctorTarget, transport: Transport | None = None) -> DoctorReport:
    """Examine ``target`` from here (and from inside through ``transport``, if given).

    A malformed target (bad host or port, unreadable CA file) raises
    :class:`~labkit.errors.UsageError` before any packet is sent; everything the
    network or the server does becomes findings.
    """
    started = time.monotonic()
    for port in target.ports:
        validate_target(target.host, port)
    tls_context(target.cafile, True)
    observations = gather(target, transport)
    findings = diagnose(observations)
    return DoctorReport(target, findings, observations, time.monotonic() - started)
