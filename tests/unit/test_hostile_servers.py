"""Probes against hostile servers (labkit.testing): each returns, classified, within
its whole-run deadline, and keeps a bounded transcript.

The timing bound here is deliberately loose (timeout + 2 s) so a loaded machine
cannot make it flaky; it still separates a whole-run deadline from a per-reply one
(which takes several timeouts here) and from a hang. The exact figures, against
timeout + 0.5 s, are printed by ``benchmarks/bench_hostile.py``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from labkit.doctor import doctor_budget, run_doctor
from labkit.probes._transcript import MAX_TRANSCRIPT_LINES
from labkit.probes.dns import MAX_MX_TARGETS, MAX_PTR_NAMES, lookup, mail_dns_report
from labkit.probes.smtp import SmtpFailure, smtp_session
from labkit.probes.tcp import probe_port
from labkit.probes.tls import TlsPhase, probe_tls
from labkit.target import Target
from labkit.testing.dns import many_records_dns_server
from labkit.testing.servers import (
    endless_imap_server,
    endless_reply_server,
    garbage_server,
    silent_server,
    slow_reply_server,
)

MARGIN = 2.0


def run_bounded(call: Callable[[], Any], bound: float) -> tuple[Any, float]:
    """Run ``call`` in a thread; fail (instead of hanging) if it outlives ``bound``."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = call()
        except BaseException as exc:  # reported below
            box["error"] = exc

    started = time.monotonic()
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(bound)
    elapsed = time.monotonic() - started
    assert not thread.is_alive(), f"still running after {elapsed:.1f} s (bound {bound:g} s)"
    if "error" in box:
        raise box["error"]
    return box["result"], elapsed


def test_smtp_dialog_with_slow_replies_ends_at_its_deadline(serve):
    """Each reply comes 0.8 s late, under the 1 s timeout; five of them would take 4 s."""
    server = serve(slow_reply_server(delay=0.8))
    commands = ("MAIL FROM:<a@example.net>", "RCPT TO:<b@example.net>")
    result, elapsed = run_bounded(
        lambda: smtp_session(server.host, server.port, commands=commands, timeout=1.0),
        1.0 + MARGIN,
    )
    assert result.failure is SmtpFailure.TIMEOUT
    assert "time ran out" in result.reason
    assert result.elapsed <= elapsed


def test_tls_probe_against_slow_replies(serve):
    server = serve(slow_reply_server(delay=0.8))
    result, _ = run_bounded(
        lambda: probe_tls(server.host, server.port, starttls="smtp", timeout=1.0), 1.0 + MARGIN
    )
    assert result.stopped_at is TlsPhase.STARTTLS and "time ran out" in result.reason


def test_endless_untagged_imap_lines_neither_hang_nor_grow(serve):
    server = serve(endless_imap_server())
    result, _ = run_bounded(
        lambda: probe_tls(server.host, server.port, starttls="imap", timeout=1.5), 1.5 + MARGIN
    )
    assert result.stopped_at is TlsPhase.STARTTLS
    assert "more than 100 lines" in result.reason
    assert len(result.transcript) <= MAX_TRANSCRIPT_LINES + 1


def test_a_banner_that_never_ends_is_cut(serve):
    server = serve(endless_reply_server())
    result, _ = run_bounded(lambda: smtp_session(server.host, server.port, timeout=1.5), 3.5)
    assert result.failure is SmtpFailure.GARBAGE and "never ended" in result.reason
    assert len(result.transcript) <= MAX_TRANSCRIPT_LINES + 1


@pytest.mark.parametrize("make", [silent_server, garbage_server], ids=["silent", "garbage"])
def test_every_probe_is_bounded_against_dead_and_garbage_servers(serve, make):
    server = serve(make())
    calls = {
        "port": lambda: probe_port(server.host, server.port, 1.0),
        "smtp": lambda: smtp_session(server.host, server.port, starttls=True, timeout=1.0),
        "smtps": lambda: smtp_session(server.host, server.port, implicit_tls=True, timeout=1.0),
        "tls": lambda: probe_tls(server.host, server.port, timeout=1.0),
        "tls-smtp": lambda: probe_tls(server.host, server.port, starttls="smtp", timeout=1.0),
        "tls-imap": lambda: probe_tls(server.host, server.port, starttls="imap", timeout=1.0),
    }
    for name, call in calls.items():
        result, elapsed = run_bounded(call, 1.0 + MARGIN)
        assert result.elapsed <= elapsed, name


def test_many_mx_targets_and_ptr_names_cost_one_timeout():
    """64 MX targets and 40 PTR names whose lookups are all dropped: the old report
    took 16 s and 40 s; now the whole report has its timeout, and caps on what it
    follows."""
    with many_records_dns_server(mx_targets=64, ptr_names=40) as dns:
        report, _ = run_bounded(
            lambda: mail_dns_report("zimmerman.test", dns.host, port=dns.port, timeout=1.0),
            1.0 + MARGIN,
        )
        asked = {name for name, _, _ in dns.queries}
    assert len(report.mx.records) == 64
    assert len(report.mx_hosts) == MAX_MX_TARGETS
    assert len([n for n in asked if n.startswith("mx")]) <= MAX_MX_TARGETS
    assert any("64 MX targets" in note for note in report.notes)


def test_many_ptr_names_are_checked_back_at_once():
    with many_records_dns_server(mx_targets=1, ptr_names=40, answer_targets=True) as dns:
        for i in range(40):
            dns.misbehave("drop", f"name{i}.zimmerman.test.")
        report, _ = run_bounded(
            lambda: mail_dns_report("zimmerman.test", dns.host, port=dns.port, timeout=1.5),
            1.5 + MARGIN,
        )
        asked = [name for name, _, _ in dns.queries if name.startswith("name")]
    (reverse,) = report.reverse
    assert len(reverse.ptr.values) == 40 and len(reverse.forward) == MAX_PTR_NAMES
    assert len(asked) <= MAX_PTR_NAMES
    assert any("40 PTR names" in note for note in report.notes)


def test_lookup_of_a_dropped_name_takes_its_timeout_once():
    with many_records_dns_server(mx_targets=1, ptr_names=1) as dns:
        answer, _ = run_bounded(
            lambda: lookup("mx0.zimmerman.test", nameserver=dns.host, port=dns.port, timeout=1.0),
            1.0 + MARGIN,
        )
    assert answer.outcome.value == "TIMEOUT"


def test_the_doctor_keeps_its_stated_total_against_hostile_servers(serve):
    """Every SMTP port answers 0.7 s late, and the DNS zone drops what it points to."""
    slow = serve(slow_reply_server(delay=0.7))
    with many_records_dns_server(mx_targets=64, ptr_names=40) as dns:
        target = Target(
            address=slow.host,
            smtp_port=slow.port,
            smtps_port=slow.port,
            submission_port=slow.port,
            nameserver=dns.host,
            dns_port=dns.port,
            timeout=1.0,
            password="secret",
        )
        budget = doctor_budget(1.0, inside=False)
        report, _ = run_bounded(lambda: run_doctor(target), budget + MARGIN)
    assert report.elapsed <= budget + MARGIN
    assert report.findings


def test_a_starttls_without_answer_is_not_called_a_refusal(serve, fixed_dns):
    """A false diagnosis the whole-run deadline could cause: no reply in time is a
    warning about a slow server, not "STARTTLS is listed but refused"."""
    from labkit.doctor import Status
    from labkit.testing.servers import scripted_smtp_server

    mute = serve(
        scripted_smtp_server(
            replies={"EHLO": b"250-mail.zimmerman.test\r\n250 STARTTLS\r\n", "STARTTLS": b""}
        )
    )
    target = Target(
        address=mute.host,
        smtp_port=mute.port,
        smtps_port=mute.port,
        submission_port=mute.port,
        nameserver=fixed_dns.host,
        dns_port=fixed_dns.port,
        timeout=1.0,
    )
    report, _ = run_bounded(lambda: run_doctor(target), doctor_budget(1.0, inside=False) + 2)
    starttls = [f for f in report.findings if f.check == "starttls"]
    assert starttls and all("refused" not in f.title for f in starttls)
    assert any(f.status is Status.WARN and "no answer" in f.title for f in starttls)


def test_the_doctor_says_what_its_dns_limits_left_out(serve):
    slow = serve(slow_reply_server(delay=0.01))
    with many_records_dns_server(mx_targets=20, ptr_names=1) as dns:
        target = Target(
            address=slow.host,
            smtp_port=slow.port,
            smtps_port=slow.port,
            submission_port=slow.port,
            nameserver=dns.host,
            dns_port=dns.port,
            timeout=1.0,
        )
        report = run_doctor(target)
    assert "20 MX targets" in report.to_dict()["not_checked"]["dns-limits"]
