"""Live tasks: pure checks fed with hand-built probe results, then end to end against
real local servers (aiosmtpd with per-test certificates), never the network."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from labkit.errors import UsageError
from labkit.exercises import Grade, ProgressStore, get
from labkit.exercises.checks import (
    check_auth_after_tls,
    check_capstone,
    check_mx,
    check_not_open_relay,
    check_ptr,
    check_starttls,
    check_submission,
    grade_criteria,
)
from labkit.exercises.grade import Criterion
from labkit.exercises.live import LiveTask
from labkit.exercises.session import ExerciseSession
from labkit.probes._transcript import Transcript
from labkit.probes.dns import DnsAnswer, DnsOutcome, DnsRecord, MxHost, ReverseDns
from labkit.probes.smtp import (
    Anomaly,
    AnomalyKind,
    Exchange,
    Phase,
    SmtpFailure,
    SmtpResult,
    parse_reply,
)
from labkit.probes.tcp import PortResult, PortState
from labkit.probes.tls import TlsPhase, TlsResult, TlsSession, Verification
from labkit.target import Target
from labkit.testing.certs import CertFactory
from labkit.testing.dns import TinyDnsServer, blog_dns_server, fixed_dns_server
from labkit.testing.fixtures import LAB_PASSWORD, LAB_USER
from labkit.testing.smtpd import FakeMailServer

HOST = "mail.zimmerman.test"
EHLO_PLAIN = {"PIPELINING": (), "SIZE": ("10240000",), "STARTTLS": (), "8BITMIME": ()}
EHLO_TLS = {"PIPELINING": (), "SIZE": ("10240000",), "AUTH": ("PLAIN", "LOGIN"), "8BITMIME": ()}

_ERRNOS = {
    PortState.REFUSED: ("ECONNREFUSED", 111),
    PortState.TIMEOUT: ("ETIMEDOUT", 110),
}


def port(number: int, state: PortState = PortState.OPEN) -> PortResult:
    name, errno = _ERRNOS.get(state, (None, None))
    return PortResult(HOST, number, state, "172.29.25.25", 0.01, name, errno)


def reply(text: str) -> Any:
    return parse_reply(text.encode() + b"\r\n")


def session(**overrides: Any) -> TlsSession:
    values: dict[str, Any] = dict(
        version="TLSv1.3",
        cipher="TLS_AES_256_GCM_SHA384",
        cipher_bits=256,
        servername=HOST,
        chain=(),
        verification=None,
    )
    values.update(overrides)
    return TlsSession(**values)


def smtp(number: int = 25, **overrides: Any) -> SmtpResult:
    """An SMTP dialog result as the probe would return it; override what a test needs."""
    values: dict[str, Any] = dict(
        host=HOST,
        port=number,
        connection=port(number),
        transcript=Transcript(),
        stopped_at=Phase.DONE,
        failure=None,
        reason="The dialog completed.",
        banner=reply(f"220 {HOST} ESMTP Postfix (Debian/GNU)"),
        ehlo_name=HOST,
        used_helo=False,
        capabilities_before_tls=EHLO_PLAIN,
        capabilities_after_tls=None,
        tls=None,
        authenticated=None,
        exchanges=(),
        anomalies=(),
        elapsed=0.05,
    )
    values.update(overrides)
    return SmtpResult(**values)


def refused_dialog(number: int) -> SmtpResult:
    return smtp(
        number,
        connection=port(number, PortState.REFUSED),
        stopped_at=Phase.CONNECT,
        failure=SmtpFailure.CONNECT_FAILED,
        reason="refused",
        banner=None,
        capabilities_before_tls={},
    )


def tls_result(code: int, message: str) -> TlsResult:
    verification = Verification(code, message, "/etc/ssl/certs/labkit-ca.pem", HOST)
    return TlsResult(
        host=HOST,
        port=25,
        starttls="smtp",
        servername=HOST,
        connection=port(25),
        stopped_at=TlsPhase.DONE,
        reason="handshake completed",
        session=session(verification=verification),
        transcript=Transcript(),
        handshake_error=None,
        elapsed=0.1,
    )


def names(grade: Grade) -> dict[str, bool]:
    return {c.name: c.met for c in grade.criteria}


# --- grade_criteria --------------------------------------------------------------------


def test_grade_criteria_scores_the_share_met_and_names_the_first_failure() -> None:
    grade = grade_criteria(
        [
            Criterion("a", True, "fine"),
            Criterion("b", False, "fix b"),
            Criterion("c", False, "fix c"),
        ],
        success="done",
    )
    assert grade.score == pytest.approx(1 / 3) and not grade.correct
    assert grade.feedback == "1 of 3 checks pass. Fix this first: fix b"
    assert grade_criteria([Criterion("a", True, "ok")], success="done").feedback == (
        "All 1 checks pass. done"
    )


# --- submission (587/465) --------------------------------------------------------------


def test_submission_passes_when_both_ports_greet() -> None:
    upgraded = smtp(587, capabilities_after_tls=EHLO_TLS, tls=session())
    implicit = smtp(465, tls=session(), capabilities_before_tls={}, capabilities_after_tls=EHLO_TLS)
    grade = check_submission(port(587), port(465), submission_smtp=upgraded, smtps_smtp=implicit)
    assert grade.correct and grade.score == 1.0, grade.feedback
    assert all(c.met for c in grade.criteria) and len(grade.criteria) == 2


def test_submission_offering_auth_before_starttls_fails() -> None:
    """A 587 that offers AUTH in plain text is not usable, even though it greets."""
    exposed = smtp(587, capabilities_before_tls=EHLO_PLAIN | {"AUTH": ("PLAIN", "LOGIN")})
    implicit = smtp(465, tls=session(), capabilities_before_tls={}, capabilities_after_tls=EHLO_TLS)
    grade = check_submission(port(587), port(465), submission_smtp=exposed, smtps_smtp=implicit)
    assert names(grade) == {"submission (587) usable": False, "smtps (465) usable": True}
    assert "AUTH before STARTTLS" in grade.feedback


def test_submission_refused_as_in_the_blog_says_master_cf() -> None:
    grade = check_submission(port(587, PortState.REFUSED), port(465, PortState.REFUSED))
    assert grade.score == 0 and not grade.correct
    # The evidence, not the fix: master.cf is the hint ladder's business.
    assert "ECONNREFUSED, errno 111" in grade.feedback
    assert "master.cf" not in grade.feedback
    assert "465 refused" in grade.criteria[1].detail


def test_submission_timeout_points_at_a_firewall_not_master_cf() -> None:
    implicit = smtp(465, tls=session(), capabilities_before_tls={}, capabilities_after_tls=EHLO_TLS)
    grade = check_submission(port(587, PortState.TIMEOUT), port(465), smtps_smtp=implicit)
    assert "timeout" in grade.feedback and "master.cf" not in grade.feedback
    assert names(grade) == {"submission (587) usable": False, "smtps (465) usable": True}


def test_submission_open_but_silent() -> None:
    silent = smtp(
        465,
        stopped_at=Phase.BANNER,
        failure=SmtpFailure.TIMEOUT,
        reason="no greeting",
        banner=None,
    )
    upgraded = smtp(587, capabilities_after_tls=EHLO_TLS, tls=session())
    grade = check_submission(port(587), port(465), submission_smtp=upgraded, smtps_smtp=silent)
    assert grade.score == pytest.approx(1 / 2)
    assert "no TLS session starts: no greeting" in grade.feedback


# --- STARTTLS --------------------------------------------------------------------------


def test_starttls_passes_with_a_verified_certificate() -> None:
    dialog = smtp(capabilities_after_tls=EHLO_TLS, tls=session())
    grade = check_starttls(dialog, tls_result(0, "ok"))
    assert grade.correct, grade.feedback


def test_starttls_self_signed_like_the_blog() -> None:
    dialog = smtp(capabilities_after_tls=EHLO_TLS, tls=session())
    grade = check_starttls(dialog, tls_result(18, "self-signed certificate"))
    assert names(grade)["certificate verifies"] is False
    assert grade.score == pytest.approx(2 / 3)
    assert "Verify return code: 18 (self-signed certificate)" in grade.feedback
    assert "lab CA" in grade.feedback


def test_starttls_missing_certificate_gives_454() -> None:
    dialog = smtp(
        stopped_at=Phase.STARTTLS,
        failure=SmtpFailure.REJECTED,
        reason="STARTTLS was refused",
        exchanges=(
            Exchange(
                Phase.STARTTLS,
                "STARTTLS",
                reply("454 4.7.0 TLS not available due to local problem"),
            ),
        ),
    )
    grade = check_starttls(dialog, None)
    assert "disabling TLS support" in grade.criteria[1].detail
    assert not grade.correct


def test_starttls_masked_by_a_middlebox() -> None:
    caps = {k: v for k, v in EHLO_PLAIN.items() if k != "STARTTLS"} | {"XXXXXXXA": ()}
    dialog = smtp(
        capabilities_before_tls=caps,
        stopped_at=Phase.STARTTLS,
        failure=SmtpFailure.NOT_OFFERED,
        reason="The server does not offer STARTTLS.",
        anomalies=(Anomaly(AnomalyKind.MASKED_EXTENSION, "250-XXXXXXXA", "masked"),),
    )
    grade = check_starttls(dialog, None)
    assert "`250-XXXXXXXA`" in grade.feedback and "middlebox" in grade.feedback
    assert grade.score == 0


def test_starttls_port_refused() -> None:
    grade = check_starttls(refused_dialog(25))
    assert grade.score == 0 and "refused" in grade.feedback


# --- AUTH only after TLS ---------------------------------------------------------------


def test_auth_only_after_tls_passes() -> None:
    dialog = smtp(capabilities_after_tls=EHLO_TLS, tls=session(), authenticated=True)
    grade = check_auth_after_tls(dialog)
    assert grade.correct and len(grade.criteria) == 2
    assert "`AUTH PLAIN LOGIN` and the test user logged in" in grade.criteria[1].detail


def test_auth_only_on_587_passes() -> None:
    """The policy notebook 04 recommends: no AUTH at all on 25, AUTH after TLS on 587."""
    after = {k: v for k, v in EHLO_TLS.items() if k != "AUTH"}
    on_25 = smtp(capabilities_after_tls=after, tls=session())
    on_587 = smtp(587, capabilities_after_tls=EHLO_TLS, tls=session(), authenticated=True)
    grade = check_auth_after_tls(on_25, submission=on_587)
    assert grade.correct, grade.feedback


def test_auth_offered_in_plain_text_asks_for_tls_auth_only() -> None:
    dialog = smtp(
        capabilities_before_tls=EHLO_PLAIN | {"AUTH": ("PLAIN", "LOGIN")},
        capabilities_after_tls=EHLO_TLS,
        tls=session(),
    )
    grade = check_auth_after_tls(dialog)
    assert not grade.correct
    assert "before STARTTLS" in grade.feedback and "smtpd_tls_auth_only" not in grade.feedback


def test_auth_missing_even_after_tls_asks_for_sasl() -> None:
    after = {k: v for k, v in EHLO_TLS.items() if k != "AUTH"}
    grade = check_auth_after_tls(smtp(capabilities_after_tls=after, tls=session()))
    assert names(grade) == {"no AUTH before TLS": True, "AUTH after TLS": False}
    assert "lists no AUTH" in grade.feedback


def test_auth_login_failure_is_reported() -> None:
    dialog = smtp(
        capabilities_after_tls=EHLO_TLS,
        tls=session(),
        authenticated=False,
        reason="Authentication failed: 535 5.7.8 bad",
    )
    grade = check_auth_after_tls(dialog)
    assert grade.score == pytest.approx(1 / 2)
    assert "535" in grade.feedback


# --- open relay ------------------------------------------------------------------------


def relay_dialog(rcpt: str, mail: str = "250 2.1.0 Ok") -> SmtpResult:
    return smtp(
        exchanges=(
            Exchange(Phase.MAIL, "MAIL FROM:<labkit-probe@example.net>", reply(mail)),
            Exchange(Phase.RCPT, "RCPT TO:<someone@example.net>", reply(rcpt)),
        )
    )


@pytest.mark.parametrize(
    "denial",
    [
        "454 4.7.1 <someone@example.net>: Relay access denied",
        "554 5.7.1 <someone@example.net>: Relay access denied",
    ],
)
def test_relay_denied_passes(denial: str) -> None:
    grade = check_not_open_relay(relay_dialog(denial), local=relay_dialog("250 2.1.5 Ok"))
    assert grade.correct, grade.feedback


def test_open_relay_fails_loudly() -> None:
    grade = check_not_open_relay(relay_dialog("250 2.1.5 Ok"))
    assert not grade.correct and "open relay" in grade.feedback
    assert "accepted" in grade.feedback


def test_relay_refused_for_another_reason_is_not_counted() -> None:
    grade = check_not_open_relay(relay_dialog("550 5.1.1 <someone@example.net>: unknown"))
    assert not grade.correct and "not the relaying" in grade.feedback


@pytest.mark.parametrize(
    "answer",
    [
        "450 4.7.1 <someone@example.net>: Recipient address rejected: Greylisted, try again later",
        "530 5.7.0 Must issue a STARTTLS command first",
        "451 4.3.0 <someone@example.net>: Temporary lookup failure",
    ],
)
def test_replies_that_are_not_relay_verdicts_do_not_pass(answer: str) -> None:
    grade = check_not_open_relay(relay_dialog(answer))
    assert not grade.correct and grade.criteria[0].met is False


def test_relay_test_cannot_run_when_mail_from_is_refused() -> None:
    grade = check_not_open_relay(relay_dialog("250 ok", mail="553 5.7.1 sender rejected"))
    assert "never asked" in grade.feedback


def test_relay_own_domain_must_still_be_accepted() -> None:
    denied = "454 4.7.1 <x@example.net>: Relay access denied"
    grade = check_not_open_relay(relay_dialog(denied), local=relay_dialog(denied))
    assert names(grade) == {"foreign recipient refused": True, "own domain accepted": False}
    assert "own domain is refused" in grade.feedback


# --- LiveTask: scaling, hints, solution ------------------------------------------------


def test_live_task_scales_the_check_and_applies_help() -> None:
    task = get("nb04.no-open-relay")
    assert isinstance(task, LiveTask)
    evidence = {"outside": relay_dialog("454 4.7.1 <x@example.net>: Relay access denied")}
    assert task.grade(evidence).score == task.points
    assisted = task.grade(evidence, hints_used=1)
    assert assisted.score == pytest.approx(0.9 * task.points) and assisted.hints_used == 1
    shown = task.grade(evidence, solution_shown=True)
    assert shown.score == 0 and shown.correct and not shown.passed
    assert shown.exercise_id == "nb04.no-open-relay"


def test_every_live_task_has_hints_and_a_solution() -> None:
    from labkit.exercises.bank import tasks

    assert len(tasks.LIVE_TASKS) >= 4
    for task in tasks.LIVE_TASKS:
        assert task.hints and task.solution_text, task.id


def test_live_tasks_default_to_the_lab_target(monkeypatch: pytest.MonkeyPatch) -> None:
    from labkit.lab.config import LabConfig, lab_target

    monkeypatch.setenv("LABKIT_NET_PREFIX", "10.1.2")
    target = lab_target()
    assert target.host == "mail.zimmerman.test"  # by name, as the learner's own tools
    assert (target.mx_address, target.nameserver) == ("10.1.2.25", "10.1.2.53")
    assert target.mx_address == LabConfig.from_env().mx_ip
    assert target.credentials == ("jez@zimmerman.test", "metagross2014")
    seen: list[Target] = []
    task = dataclasses.replace(
        get_task("nb04.auth-after-tls"), gather=lambda t: seen.append(t) or {}
    )
    task.probe()
    assert seen == [target]


def test_target_connects_to_its_address_and_names_its_host() -> None:
    target = Target(address="127.0.0.1", mail_host="mx.lab.test", password="pw")
    assert (target.host, target.mail_host) == ("127.0.0.1", "mx.lab.test")
    assert "pw" not in repr(target) and target.public()["password"] == "****"
    assert Target().credentials is None  # no password: nothing tries to log in
    assert target.but(timeout=2.0, cafile=None).timeout == 2.0
    assert (
        target.but(cafile=None).cafile is None and target.but(address=None).address == "127.0.0.1"
    )


# --- end to end: run() probes real local servers ----------------------------------------

Serve = Callable[[FakeMailServer], FakeMailServer]


def local_context(server: FakeMailServer, certs: CertFactory, **kw: Any) -> Target:
    return Target(
        address=server.host,
        mail_host=HOST,
        cafile=str(certs.ca_path),
        smtp_port=server.port,
        user=LAB_USER,
        password=LAB_PASSWORD,
        timeout=3.0,
        **kw,
    )


def test_run_starttls_with_the_lab_ca(serve: Serve, certs: CertFactory) -> None:
    server = serve(FakeMailServer(tls=certs.leaf(HOST).server_context()))
    grade = get_task("nb03.fix-starttls").run(local_context(server, certs))
    assert grade.correct, grade.feedback


def test_run_starttls_with_a_self_signed_certificate(serve: Serve, certs: CertFactory) -> None:
    server = serve(FakeMailServer(tls=certs.self_signed(HOST).server_context()))
    grade = get_task("nb03.fix-starttls").run(local_context(server, certs))
    assert names(grade) == {
        "STARTTLS offered": True,
        "TLS handshake": True,
        "certificate verifies": False,
    }
    assert "18" in grade.feedback


def test_run_auth_after_tls(serve: Serve, certs: CertFactory) -> None:
    tls = certs.leaf(HOST).server_context()
    server = serve(FakeMailServer(tls=tls, users={LAB_USER: LAB_PASSWORD}))
    grade = get_task("nb04.auth-after-tls").run(local_context(server, certs))
    assert grade.correct, grade.feedback


def test_run_auth_offered_before_tls(serve: Serve, certs: CertFactory) -> None:
    tls = certs.leaf(HOST).server_context()
    server = serve(FakeMailServer(tls=tls, users={LAB_USER: LAB_PASSWORD}, auth_require_tls=False))
    grade = get_task("nb04.auth-after-tls").run(local_context(server, certs))
    assert names(grade)["no AUTH before TLS"] is False
    assert "before STARTTLS" in grade.feedback


@pytest.mark.parametrize(("open_relay", "passes"), [(False, True), (True, False)])
def test_run_relay(serve: Serve, certs: CertFactory, open_relay: bool, passes: bool) -> None:
    server = serve(FakeMailServer(open_relay=open_relay))
    grade = get_task("nb04.no-open-relay").run(local_context(server, certs))
    assert grade.correct is passes, grade.feedback
    assert not server.messages  # a relay test never sends DATA


def test_run_submission(serve: Serve, certs: CertFactory) -> None:
    leaf = certs.leaf(HOST).server_context()
    plain = serve(FakeMailServer(tls=leaf))
    smtps = serve(FakeMailServer(tls=leaf, implicit_tls=True))
    ctx = local_context(plain, certs, submission_port=plain.port, smtps_port=smtps.port)
    grade = get_task("nb02.fix-submission").run(ctx)
    assert grade.correct, grade.feedback


def test_run_submission_refused(serve: Serve, certs: CertFactory, closed: tuple[str, int]) -> None:
    plain = serve(FakeMailServer())
    ctx = local_context(plain, certs, submission_port=closed[1], smtps_port=closed[1])
    grade = get_task("nb02.fix-submission").run(ctx)
    assert grade.score == 0 and "refused" in grade.feedback


def test_session_records_a_live_check_and_keeps_the_evidence(
    serve: Serve, certs: CertFactory, tmp_path: Any
) -> None:
    server = serve(FakeMailServer())
    store = ProgressStore(tmp_path / "progress.json")
    live = ExerciseSession(get_task("nb04.no-open-relay"), store)
    grade = live.check_live(local_context(server, certs))
    assert grade.passed
    assert live.last_evidence is not None and set(live.last_evidence) == {"outside", "local"}
    record = store.get("nb04.no-open-relay")
    assert record is not None and record.passed and record.attempts == 1
    with pytest.raises(UsageError):
        live.check("answer")


def get_task(exercise_id: str) -> LiveTask:
    task = get(exercise_id)
    assert isinstance(task, LiveTask)
    return task


# --- DNS: MX and PTR -------------------------------------------------------------------

MAIL_IP = "198.51.100.25"


def answer(name: str, rdtype: str, *values: str, chain: tuple[str, ...] = ()) -> DnsAnswer:
    records = tuple(DnsRecord(chain[-1] if chain else name, rdtype, 300, v) for v in values)
    outcome = DnsOutcome.NOERROR if values else DnsOutcome.NOANSWER
    return DnsAnswer(
        name=name,
        rdtype=rdtype,
        outcome=outcome,
        rcode="NOERROR",
        records=records,
        cname_chain=chain or (name,),
        aliases=(),
        nameserver="127.0.0.1",
        port=53,
        elapsed=0.001,
    )


def mx_host(exchange: str, *addresses: str, alias_of: str | None = None) -> MxHost:
    chain = (exchange, alias_of) if alias_of else ()
    return MxHost(
        10, exchange, answer(exchange, "A", *addresses, chain=chain), answer(exchange, "AAAA")
    )


MX = answer("zimmerman.test", "MX", "10 mail.zimmerman.test")


def test_mx_clean() -> None:
    grade = check_mx(MX, [mx_host("mail.zimmerman.test", MAIL_IP)], mail_address=MAIL_IP)
    assert grade.correct, grade.feedback
    assert len(grade.criteria) == 3


def test_mx_pointing_at_a_cname_like_the_blog() -> None:
    host = mx_host("mail.zimmerman.test", MAIL_IP, alias_of="metagross.zimmerman.test")
    grade = check_mx(MX, [host], mail_address=MAIL_IP)
    assert names(grade)["MX target valid"] is False
    assert "RFC 2181 §10.3" in grade.feedback and "metagross.zimmerman.test" in grade.feedback
    assert grade.score == pytest.approx(2 / 3)


def test_mx_leading_elsewhere() -> None:
    grade = check_mx(MX, [mx_host("mail.zimmerman.test", "192.0.2.80")], mail_address=MAIL_IP)
    assert "resolves to 192.0.2.80, but the mail server is 198.51.100.25" in grade.feedback


def test_mx_missing() -> None:
    grade = check_mx(answer("zimmerman.test", "MX"), [])
    assert grade.score == 0 and "fall back to the domain's own A record" in grade.feedback


def test_mx_target_without_address() -> None:
    grade = check_mx(MX, [mx_host("mail.zimmerman.test")])
    assert names(grade)["MX target valid"] is False
    assert "has no address" in grade.feedback


def reverse(*ptr_names: str, confirmed: bool = True) -> ReverseDns:
    ptr = answer("25.100.51.198.in-addr.arpa", "PTR", *ptr_names)
    forward = tuple(answer(n, "A", MAIL_IP if confirmed else "192.0.2.1") for n in ptr_names)
    return ReverseDns(MAIL_IP, ptr, forward)


def test_ptr_matching() -> None:
    grade = check_ptr(reverse(HOST), HOST, ehlo_name=HOST)
    assert grade.correct and len(grade.criteria) == 4


def test_ptr_missing_like_the_blog() -> None:
    grade = check_ptr(reverse(), HOST)
    assert grade.score == 0 and "has no PTR record (NOANSWER)" in grade.feedback


def test_ptr_names_another_host_and_ehlo_disagrees() -> None:
    grade = check_ptr(reverse("metagross.zimmerman.test"), HOST, ehlo_name="metagross")
    assert names(grade) == {
        "PTR exists": True,
        "PTR names the mail host": False,
        "forward-confirmed": True,
        "EHLO name matches the PTR": False,
    }
    assert "(Postfix `myhostname`)" in grade.criteria[3].detail


def test_ptr_not_forward_confirmed() -> None:
    grade = check_ptr(reverse(HOST, confirmed=False), HOST)
    assert "resolves back" in grade.feedback and not grade.correct


def test_ptr_without_an_address() -> None:
    assert "no address" in check_ptr(None, HOST).feedback


def dns_context(server: TinyDnsServer, **kw: Any) -> Target:
    return Target(
        nameserver=server.host, dns_port=server.port, mx_address=MAIL_IP, timeout=2.0, **kw
    )


@pytest.mark.parametrize(
    ("zone_server", "passes"), [(fixed_dns_server, True), (blog_dns_server, False)]
)
def test_run_fix_mx_against_a_real_dns_server(
    zone_server: Callable[[], TinyDnsServer], passes: bool
) -> None:
    with zone_server() as server:
        grade = get_task("nb05.fix-mx").run(dns_context(server))
    assert grade.correct is passes, grade.feedback
    if not passes:
        assert names(grade)["MX target valid"] is False


@pytest.mark.parametrize(
    ("zone_server", "ehlo", "passes"),
    [(fixed_dns_server, HOST, True), (blog_dns_server, "metagross", False)],
)
def test_run_ptr_against_real_servers(
    serve: Serve, zone_server: Callable[[], TinyDnsServer], ehlo: str, passes: bool
) -> None:
    mail = serve(FakeMailServer(hostname=ehlo))
    with zone_server() as server:
        ctx = dns_context(server, address=mail.host, smtp_port=mail.port, mail_host=HOST)
        grade = get_task("nb05.ptr-matches").run(ctx)
    assert grade.correct is passes, grade.feedback
    assert names(grade).get("EHLO name matches the PTR") is passes


# --- capstone --------------------------------------------------------------------------


def test_capstone_merges_every_part() -> None:
    grade = check_capstone(
        submission={
            "submission": port(587),
            "smtps": port(465, PortState.REFUSED),
            "submission_smtp": smtp(587),
        },
        relay={"outside": relay_dialog("454 4.7.1 <x@example.net>: Relay access denied")},
        ptr={"reverse": reverse(HOST), "expected_name": HOST},
    )
    labels = [c.name for c in grade.criteria]
    assert labels[0] == "submission: submission (587) usable"
    assert "relay: foreign recipient refused" in labels and "ptr: forward-confirmed" in labels
    assert not grade.correct
    assert "465 refused" in grade.feedback


def test_mx_naming_an_address() -> None:
    grade = check_mx(answer("zimmerman.test", "MX", "10 198.51.100.25"), [mx_host("198.51.100.25")])
    assert "is an IP address, not a host name" in grade.feedback
