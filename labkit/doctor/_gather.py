"""Layer one of the doctor: run every probe at once, each with its own time bound.

A healthy server answers each probe in milliseconds, a broken or hostile one costs at
most its timeout (each probe's deadline covers its whole run, not one reply), and
because all probes run in parallel threads the whole run costs about one timeout
however many things are broken: :func:`doctor_budget` is the stated total, and a
probe still running then is reported as not checked. Nothing here judges.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING, Any, TypeVar

from labkit.doctor._model import DNS_TIMEOUT, Observations
from labkit.errors import LabkitError
from labkit.lab.config import in_workstation
from labkit.netpath.network import read_network
from labkit.probes.dns import mail_dns_report
from labkit.probes.server import inspect_server
from labkit.probes.smtp import smtp_session
from labkit.probes.tcp import PortResult, scan_ports
from labkit.probes.tls import TlsResult, probe_tls
from labkit.target import Target
from labkit.transport import LocalTransport

if TYPE_CHECKING:
    from labkit.transport import Transport

__all__ = ["doctor_budget", "gather", "inside_timeout", "relay_commands"]

T = TypeVar("T")

#: Once the server answers on one port, how long another port may stay silent before the
#: doctor calls it filtered (a DROP): see :func:`labkit.probes.tcp.scan_ports`.
PATH_SETTLE = 0.3


def relay_commands(target: Target) -> tuple[str, str]:
    """An outside-to-outside envelope: accepting it would make the server an open relay.
    The doctor never sends DATA, so nothing is ever delivered."""
    return (
        f"MAIL FROM:<labkit-probe@{target.outside_domain}>",
        f"RCPT TO:<relay-test@{target.outside_domain}>",
    )


def gather(target: Target, transport: Transport | None = None) -> Observations:
    """Probe ``target`` from here (and from inside via ``transport``) concurrently."""
    started = time.monotonic()
    t = target
    timeout = t.timeout
    common: dict[str, Any] = {"timeout": timeout, "cafile": t.cafile, "servername": t.mail_host}
    creds = t.credentials
    # The port scan goes first and tells each dialog how its port answered, as soon as
    # it knows: a dialog on a DROPped port reports the scan's verdict instead of waiting
    # out a timeout of its own, and the scan gives a silent port only PATH_SETTLE once
    # the host has answered on another (see scan_ports).
    scanned: dict[int, Future[PortResult | None]] = {port: Future() for port in t.ports}

    def publish(result: PortResult) -> None:
        future = scanned.get(result.port)
        if future is not None and not future.done():
            future.set_result(result)

    def scan() -> tuple[PortResult, ...]:
        try:
            return scan_ports(
                t.host,
                t.ports,
                timeout=timeout,
                settle=min(PATH_SETTLE, timeout),
                on_result=publish,
            )
        finally:
            for future in scanned.values():
                if not future.done():
                    future.set_result(None)  # no verdict: the dialog connects itself

    def seen(port: int) -> PortResult | None:
        future = scanned.get(port)
        return future.result() if future is not None else None

    jobs: dict[str, Callable[[], Any]] = {
        "ports": scan,
        "smtp": lambda: smtp_session(
            t.host,
            t.smtp_port,
            commands=relay_commands(t),
            timeout=timeout,
            prior=seen(t.smtp_port),
        ),
        "starttls": lambda: smtp_session(
            t.host, t.smtp_port, starttls=True, auth=creds, prior=seen(t.smtp_port), **common
        ),
        "submission": lambda: smtp_session(
            t.host,
            t.submission_port,
            starttls=True,
            auth=creds,
            prior=seen(t.submission_port),
            **common,
        ),
        "smtps": lambda: smtp_session(
            t.host,
            t.smtps_port,
            implicit_tls=True,
            auth=creds,
            prior=seen(t.smtps_port),
            **common,
        ),
        "tls-smtp": lambda: probe_tls(
            t.host, t.smtp_port, starttls="smtp", prior=seen(t.smtp_port), **common
        ),
        "tls-smtps": lambda: probe_tls(t.host, t.smtps_port, prior=seen(t.smtps_port), **common),
        "tls-submission": lambda: probe_tls(
            t.host,
            t.submission_port,
            starttls="smtp",
            prior=seen(t.submission_port),
            **common,
        ),
        "dns": lambda: mail_dns_report(
            t.domain,
            t.nameserver,
            port=t.dns_port,
            expect_host=t.mail_host,
            timeout=min(timeout, DNS_TIMEOUT),
        ),
    }
    if in_workstation():
        jobs["network"] = lambda: read_network(LocalTransport()).name
    if transport is not None:
        jobs["server"] = lambda: inspect_server(
            transport, smtp_port=t.smtp_port, timeout=inside_timeout(timeout)
        )
    errors: dict[str, str] = {}
    budget = doctor_budget(timeout, inside=transport is not None)
    pool = ThreadPoolExecutor(max_workers=len(jobs), thread_name_prefix="labkit-doctor")
    try:
        futures: dict[str, Future[Any]] = {name: pool.submit(job) for name, job in jobs.items()}
        wait(futures.values(), timeout=max(started + budget - time.monotonic(), 0))
        results = {name: _result(name, future, errors, budget) for name, future in futures.items()}
    finally:
        # Every probe has its own deadline, so a late one ends soon; the report does not
        # wait for it.
        pool.shutdown(wait=False, cancel_futures=True)
    dns_notes = getattr(results["dns"], "notes", ())
    if dns_notes:  # a hostile zone: what the report's limits left out
        errors["dns-limits"] = " ".join(dns_notes)
    if transport is None:
        errors["server"] = (
            "No way into the server was given (SSH or docker exec), so "
            "master.cf, listening sockets and mail.log were not read."
        )
    ports = {r.port: r for r in results["ports"] or ()}
    tls: dict[int, TlsResult] = {}
    for port, role in (
        (t.smtp_port, "smtp"),
        (t.smtps_port, "smtps"),
        (t.submission_port, "submission"),
    ):
        result = results[f"tls-{role}"]
        if isinstance(result, TlsResult):
            tls[port] = result
    return Observations(
        target=t,
        ports=ports,
        smtp=results["smtp"],
        starttls=results["starttls"],
        submission=results["submission"],
        smtps=results["smtps"],
        tls=tls,
        dns=results["dns"],
        server=results.get("server"),
        errors=errors,
        elapsed=time.monotonic() - started,
        network=results.get("network"),
    )


def inside_timeout(timeout: float) -> float:
    """The inside view runs commands over SSH or docker exec: slower than one probe."""
    return max(5.0, timeout * 3)


def doctor_budget(timeout: float, *, inside: bool) -> float:
    """The doctor's stated total: every probe runs at once with its own whole-run
    deadline (``timeout``; the inside view :func:`inside_timeout`), plus a second for
    threads to start and results to be judged. Whatever has not finished by then is
    reported as not checked."""
    return max(timeout, inside_timeout(timeout) if inside else timeout) + 1.0


def _result(name: str, future: Future[T], errors: dict[str, str], budget: float) -> T | None:
    """A probe's result; a LabkitError (e.g. no resolver configured) or a probe still
    running at the doctor's deadline becomes a note."""
    if not future.done():
        errors[name] = f"The {name} probe did not finish within the doctor's {budget:g} s."
        return None
    try:
        return future.result()
    except LabkitError as exc:
        errors[name] = exc.describe()
        return None
