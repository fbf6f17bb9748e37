"""One set of verdicts, tested against what the lab's Postfix really said.

``tests/data/lab_transcripts.json`` holds SMTP dialogs recorded from a running lab
in every scenario (``tests/data/capture_transcripts.py``). Each verdict is checked
against them in a table, then against hand-written edge cases that the lab does not
produce (greylisting, other MTAs' wording, AUTH on 587 only). Finally the doctor and
the live tasks are run over the same recorded dialogs and must agree on every fact
they share.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from labkit.doctor import Observations, Status, diagnose
from labkit.exercises.checks import check_auth_after_tls, check_not_open_relay, check_submission
from labkit.probes.smtp import Exchange, Phase, SmtpResult
from labkit.probes.tcp import PortState
from labkit.target import Target
from labkit.testing.builders import POSTFIX_EHLO, reply, smtp_result, tls_session
from labkit.testing.recorded import dump_smtp, load_probes, load_recordings, load_smtp
from labkit.verdicts import (
    is_relay_denial,
    judge_auth_available,
    judge_auth_protected,
    judge_certificate,
    judge_own_domain,
    judge_relay,
    judge_reverse_dns,
    judge_submission,
)

RECORDED = load_recordings(Path(__file__).parents[1] / "data" / "lab_transcripts.json")
SCENARIOS = sorted(RECORDED)


def dialogs(scenario: str) -> dict[str, SmtpResult]:
    return RECORDED[scenario]


def test_every_scenario_was_recorded() -> None:
    assert set(SCENARIOS) == {
        "fixed",
        "no-submission",
        "no-tls-cert",
        "self-signed",
        "bad-dns",
        "open-relay",
        "blog",
    }


def test_a_recording_replays_to_an_equal_result() -> None:
    original = dialogs("open-relay")["starttls-auth-25"]
    assert load_smtp(dump_smtp(original)) == original
    assert "250-AUTH PLAIN LOGIN" in str(original.transcript)


# --- the table: every verdict against every scenario's real replies ---------------------

#: scenario -> (relay refused on 25, relay on plain 587, AUTH only in TLS, AUTH after TLS,
#:              587 usable, 465 usable, own domain accepted)
EXPECTED: dict[str, tuple[bool | None, ...]] = {
    "fixed": (True, None, True, True, True, True, True),
    "no-submission": (True, None, True, True, False, False, True),
    "no-tls-cert": (True, None, True, None, False, False, True),
    "self-signed": (True, None, True, True, True, True, True),
    "bad-dns": (True, None, True, True, True, True, True),
    "open-relay": (False, None, False, True, True, True, True),
    "blog": (True, None, True, True, False, False, True),
}


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_verdicts_on_the_labs_real_replies(scenario: str) -> None:
    d = dialogs(scenario)
    sessions = [d["ehlo-25"], d["starttls-auth-25"], d["starttls-auth-587"], d["smtps-auth-465"]]
    got = (
        judge_relay(d["relay-25"]).holds,
        judge_relay(d["relay-587-plain"]).holds,
        judge_auth_protected(sessions).holds,
        judge_auth_available(sessions).holds,
        judge_submission(d["starttls-auth-587"].connection, d["starttls-auth-587"]).holds,
        judge_submission(d["smtps-auth-465"].connection, d["smtps-auth-465"]).holds,
        judge_own_domain(d["own-domain-25"]).holds,
    )
    assert got == EXPECTED[scenario]


def test_the_real_530_on_587_is_no_relay_verdict() -> None:
    verdict = judge_relay(dialogs("fixed")["relay-587-plain"])
    assert verdict.holds is None
    assert "530" in verdict.seen and "STARTTLS" in verdict.seen


def test_the_real_relay_denial_is_postfixs_454() -> None:
    verdict = judge_relay(dialogs("fixed")["relay-25"])
    assert verdict.holds is True and "454 4.7.1" in verdict.seen
    assert "Relay access denied" in verdict.evidence


def test_the_real_open_relay_gets_the_one_advice() -> None:
    verdict = judge_relay(dialogs("open-relay")["relay-25"])
    assert verdict.holds is False and "mynetworks" in verdict.advice
    assert "defer_unauth_destination" in verdict.advice


# --- hand-written edge cases ----------------------------------------------------------------

RELAY = ("MAIL FROM:<stranger@example.net>", "RCPT TO:<someone@example.net>")


def relay_dialog(rcpt_code: int, rcpt_text: str, mail: tuple[int, str] = (250, "2.1.0 Ok")):
    return smtp_result(
        commands=[(RELAY[0], reply(*mail)), (RELAY[1], reply(rcpt_code, rcpt_text))],
        stopped_at=Phase.RCPT,
    )


@pytest.mark.parametrize(
    ("code", "text", "holds"),
    [
        (454, "4.7.1 <someone@example.net>: Relay access denied", True),
        (554, "5.7.1 <someone@example.net>: Relay access denied", True),
        (550, "5.7.1 Relaying denied", True),  # Sendmail's wording
        (550, "relay not permitted", True),  # Exim's, without an enhanced code
        (250, "2.1.5 Ok", False),
        (450, "4.7.1 <someone@example.net>: Recipient address rejected: Greylisted", None),
        (450, "4.2.0 <someone@example.net>: try again later", None),
        (530, "5.7.0 Must issue a STARTTLS command first", None),
        (530, "5.7.0 Authentication required", None),
        (550, "5.1.1 <someone@example.net>: Recipient address rejected: unknown user", None),
        (451, "4.3.0 <someone@example.net>: Temporary lookup failure", None),
    ],
)
def test_relay_edge_cases(code: int, text: str, holds: bool | None) -> None:
    assert judge_relay(relay_dialog(code, text)).holds is holds


def test_a_530_at_mail_from_is_no_relay_verdict() -> None:
    dialog = relay_dialog(250, "2.1.5 Ok", mail=(530, "5.7.0 Must issue a STARTTLS command first"))
    verdict = judge_relay(dialog)
    assert verdict.holds is None and "STARTTLS" in verdict.seen


def test_greylisting_with_x71_is_not_a_relay_denial() -> None:
    assert not is_relay_denial(reply(450, "4.7.1 Greylisted, try again later"))
    assert is_relay_denial(reply(454, "4.7.1 <x@example.net>: Relay access denied"))


def test_auth_on_587_only_is_a_sound_policy() -> None:
    no_auth = tuple(x for x in POSTFIX_EHLO if x != "STARTTLS")
    on_25 = smtp_result(after_tls=no_auth, tls=tls_session())
    on_587 = smtp_result(
        587, after_tls=("AUTH PLAIN LOGIN",), tls=tls_session(), authenticated=True
    )
    assert judge_auth_protected([on_25, on_587]).holds is True
    assert judge_auth_available([on_25, on_587]).holds is True
    assert judge_auth_available([on_25]).holds is False


def test_auth_offered_in_clear_on_587_is_exposed() -> None:
    exposed = smtp_result(587, ehlo=(*POSTFIX_EHLO, "AUTH PLAIN LOGIN"))
    assert judge_auth_protected([exposed]).holds is False
    usable = judge_submission(exposed.connection, exposed)
    assert usable.holds is False and "AUTH before STARTTLS" in usable.seen


def test_implicit_tls_ehlo_is_not_plain_text() -> None:
    smtps = load_smtp(dump_smtp(dialogs("fixed")["smtps-auth-465"]))
    assert smtps.capabilities_before_tls == {} and smtps.offers("AUTH", after_tls=True)
    assert judge_auth_protected([smtps]).holds is None  # nothing was said in clear
    assert judge_auth_available([smtps]).holds is True


def test_a_refused_submission_port_names_master_cf() -> None:
    refused = dialogs("blog")["starttls-auth-587"]
    assert refused.connection.state is PortState.REFUSED
    verdict = judge_submission(refused.connection, refused)
    assert verdict.holds is False and "master.cf" in verdict.advice


def test_a_failing_starttls_makes_submission_unusable() -> None:
    broken = dialogs("no-tls-cert")["starttls-auth-587"]
    verdict = judge_submission(broken.connection, broken)
    assert verdict.holds is False and "454" in verdict.seen


# --- doctor and live tasks agree on the same recorded dialogs -----------------------------

_AGREES = {Status.OK: True, Status.FAIL: False, Status.WARN: False, Status.INFO: None}


def doctor_on(scenario: str, relay: str = "relay-25") -> list:
    d = dialogs(scenario)
    obs = Observations(
        Target(password="metagross2014"),
        smtp=d[relay],
        starttls=d["starttls-auth-25"],
        submission=d["starttls-auth-587"],
        smtps=d["smtps-auth-465"],
    )
    return list(diagnose(obs))


@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("relay", ["relay-25", "relay-587-plain"])
def test_doctor_and_live_task_agree_on_relaying(scenario: str, relay: str) -> None:
    d = dialogs(scenario)
    found = [f for f in doctor_on(scenario, relay) if f.check == "relay"]
    live = check_not_open_relay(d[relay]).criteria[0]
    verdict = judge_relay(d[relay])
    if not found:  # the doctor had no relay dialog to judge (port refused)
        assert verdict.holds is None and not live.met
        return
    (finding,) = found
    assert _AGREES[finding.status] is verdict.holds
    assert live.met is (verdict.holds is True)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_doctor_and_live_task_agree_on_auth(scenario: str) -> None:
    d = dialogs(scenario)
    live = {
        c.name: c.met
        for c in check_auth_after_tls(
            d["starttls-auth-25"], submission=d["starttls-auth-587"], smtps=d["smtps-auth-465"]
        ).criteria
    }
    auth = [f for f in doctor_on(scenario) if f.check == "auth"]
    exposed = any(f.status is Status.WARN for f in auth)
    assert live.get("no AUTH before TLS") is not exposed
    doctor_can_log_in = any(f.status is Status.OK for f in auth)
    assert live.get("AUTH after TLS", False) is doctor_can_log_in


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_doctor_and_live_task_agree_on_submission_ports(scenario: str) -> None:
    d = dialogs(scenario)
    on_587, on_465 = d["starttls-auth-587"], d["smtps-auth-465"]
    grade = check_submission(
        on_587.connection, on_465.connection, submission_smtp=on_587, smtps_smtp=on_465
    )
    obs = Observations(
        Target(),
        ports={587: on_587.connection, 465: on_465.connection},
        submission=on_587,
        smtps=on_465,
    )
    findings = list(diagnose(obs))
    for criterion, port in zip(grade.criteria, ("587", "465"), strict=True):
        about = [f for f in findings if f.target.endswith(f":{port}")]
        if any(f.check == "ports" and f.status is Status.FAIL for f in about):
            assert not criterion.met  # refused: the ports check and the live task say so
            continue
        (usable,) = [f for f in about if f.check == "submission"]
        assert (usable.status is Status.OK) is criterion.met
    assert all(c.met for c in grade.criteria) is (scenario not in NOT_USABLE)


NOT_USABLE = {"no-submission", "no-tls-cert", "blog"}


def test_exchanges_keep_their_phases() -> None:
    replayed = dialogs("fixed")["relay-25"]
    phases = [e.phase for e in replayed.exchanges if isinstance(e, Exchange)]
    assert Phase.MAIL in phases and Phase.RCPT in phases


# --- the MX: one rule (probes.dns.mx_host_issues) for the doctor and the live task ---------


def _a(name: str, *values: str, alias_of: str | None = None):
    from labkit.probes.dns import DnsAnswer, DnsOutcome, DnsRecord

    chain = (name, alias_of) if alias_of else (name,)
    return DnsAnswer(
        name,
        "A",
        DnsOutcome.NOERROR if values else DnsOutcome.NOANSWER,
        "NOERROR",
        tuple(DnsRecord(alias_of or name, "A", 300, v) for v in values),
        chain,
        (),
        "192.0.2.53",
        53,
        0.001,
        None,
    )


@pytest.mark.parametrize(
    ("target", "addresses", "alias_of", "holds"),
    [
        ("mail.zimmerman.test", ("198.51.100.25",), None, True),
        ("mail.zimmerman.test", ("198.51.100.25",), "metagross.zimmerman.test", False),
        ("mail.zimmerman.test", (), None, False),
        ("198.51.100.25", (), None, False),
    ],
)
def test_doctor_and_live_task_agree_on_the_mx_target(target, addresses, alias_of, holds) -> None:
    from labkit.exercises.checks import check_mx
    from labkit.probes.dns import DnsAnswer, DnsOutcome, DnsRecord, MxHost, diagnose_mail_dns
    from labkit.verdicts import judge_mx_target

    mx = DnsAnswer(
        "zimmerman.test",
        "MX",
        DnsOutcome.NOERROR,
        "NOERROR",
        (DnsRecord("zimmerman.test", "MX", 300, f"10 {target}."),),
        ("zimmerman.test",),
        (),
        "192.0.2.53",
        53,
        0.001,
        None,
    )
    host = MxHost(10, target, _a(target, *addresses, alias_of=alias_of), _a(target))
    verdict = judge_mx_target(mx, [host])
    assert verdict.holds is holds
    live = {c.name: c.met for c in check_mx(mx, [host]).criteria}
    assert live["MX target valid"] is holds
    doctor_rules = {
        i.rule.value
        for i in diagnose_mail_dns("zimmerman.test", mx, [host], _a("zimmerman.test"), mx, ())
        if i.severity == "fail" and i.rule.value.startswith("mx-")
    }
    assert (not doctor_rules) is holds


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_doctor_and_live_task_agree_on_starttls(scenario: str) -> None:
    from labkit.exercises.checks import check_starttls

    d = dialogs(scenario)
    obs = Observations(Target(), smtp=d["ehlo-25"], starttls=d["starttls-auth-25"])
    (finding,) = [f for f in diagnose(obs) if f.check == "starttls"]
    live = {c.name: c.met for c in check_starttls(d["starttls-auth-25"]).criteria}
    assert (finding.status is Status.OK) is live["TLS handshake"]
    assert live["TLS handshake"] is (scenario != "no-tls-cert")


# --- certificates and reverse DNS, as the lab's probes really saw them -------------------

PROBES = load_probes(Path(__file__).parents[1] / "data" / "lab_transcripts.json")

#: scenario -> does the certificate verify on (25, 587, 465)? None: no TLS to judge.
CERT_EXPECTED: dict[str, tuple[bool | None, ...]] = {
    "fixed": (True, True, True),
    "no-submission": (True, None, None),
    "no-tls-cert": (None, None, None),
    "self-signed": (False, False, False),
    "bad-dns": (True, True, True),
    "open-relay": (True, True, True),
    "blog": (False, None, None),
}

#: scenario -> (PTR exists, names the mail host, forward-confirmed, EHLO name matches)
PTR_EXPECTED: dict[str, tuple[bool, ...]] = {
    "fixed": (True, True, True, True),
    "no-submission": (True, True, True, True),
    "no-tls-cert": (True, True, True, True),
    "self-signed": (True, True, True, True),
    "bad-dns": (False,),
    "open-relay": (True, True, True, True),
    "blog": (False,),
}


def test_probes_were_recorded_in_every_scenario() -> None:
    assert set(PROBES) == set(SCENARIOS)
    reloaded = load_probes(Path(__file__).parents[1] / "data" / "lab_transcripts.json")
    assert reloaded["self-signed"]["tls"][25] == PROBES["self-signed"]["tls"][25]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_certificate_verdicts_on_the_labs_real_handshakes(scenario: str) -> None:
    tls = PROBES[scenario]["tls"]
    got = tuple(
        judge_certificate(tls[p].session, "mail.zimmerman.test", tls[p].reason).holds
        for p in (25, 587, 465)
    )
    assert got == CERT_EXPECTED[scenario]


def test_the_blogs_self_signed_certificate_is_code_18_with_one_meaning() -> None:
    result = PROBES["blog"]["tls"][25]
    verdict = judge_certificate(result.session, "mail.zimmerman.test")
    assert verdict.holds is False and "18 (self-signed certificate)" in verdict.seen
    assert "self-signed" in verdict.seen and "lab-certbot mail.zimmerman.test" in verdict.advice


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_doctor_and_live_task_agree_on_certificates(scenario: str) -> None:
    from labkit.exercises.checks import check_starttls

    d, tls = dialogs(scenario), PROBES[scenario]["tls"]
    findings = list(diagnose(Observations(Target(), tls=tls)))
    for port in (25, 587, 465):
        verdict = judge_certificate(tls[port].session, "mail.zimmerman.test", tls[port].reason)
        about = [f for f in findings if f.check == "certificate" and f.target.endswith(f":{port}")]
        if verdict.holds is None:
            assert not any(f.status is Status.OK for f in about)
            continue
        (finding,) = about
        assert (finding.status is Status.OK) is verdict.holds
        if verdict.holds is False:
            assert verdict.advice in finding.hint  # one advice, wherever it shows
    live = {c.name: c for c in check_starttls(d["starttls-auth-25"], tls[25]).criteria}
    assert live["certificate verifies"].met is (CERT_EXPECTED[scenario][0] is True)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_reverse_dns_verdicts_on_the_labs_real_lookups(scenario: str) -> None:
    report = PROBES[scenario]["dns"]
    ehlo = dialogs(scenario)["ehlo-25"].ehlo_name
    verdicts = judge_reverse_dns(report.reverse[0], "mail.zimmerman.test", ehlo)
    assert tuple(v.holds for v in verdicts) == PTR_EXPECTED[scenario]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_doctor_and_live_task_agree_on_reverse_dns(scenario: str) -> None:
    from labkit.exercises.checks import check_ptr
    from labkit.probes.dns import DnsRule, diagnose_mail_dns

    report = PROBES[scenario]["dns"]
    smtp = dialogs(scenario)["ehlo-25"]
    # The doctor shows each DNS issue as a finding of the same title: its rules, here.
    titles = {
        f.title for f in diagnose(Observations(Target(), dns=report, smtp=smtp)) if f.check == "dns"
    }
    issues = diagnose_mail_dns(
        report.domain,
        report.mx,
        report.mx_hosts,
        report.apex,
        report.txt,
        report.reverse,
        banner_name=smtp.ehlo_name,
    )
    doctor_rules = {i.rule for i in issues if i.title in titles}
    assert {i.title for i in issues} <= titles
    live = {c.name: c.met for c in check_ptr(report.reverse[0], "mail.zimmerman.test").criteria}
    assert live["PTR exists"] is (DnsRule.PTR_MISSING not in doctor_rules)
    if live["PTR exists"]:
        assert live["forward-confirmed"] is (DnsRule.FCRDNS_FAILED not in doctor_rules)
    ehlo = {
        v.fact: v.holds
        for v in judge_reverse_dns(report.reverse[0], "mail.zimmerman.test", smtp.ehlo_name)
    }
    if "EHLO name matches the PTR" in ehlo:
        assert ehlo["EHLO name matches the PTR"] is (DnsRule.PTR_MISMATCH not in doctor_rules)
