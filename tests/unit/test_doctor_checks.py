"""Doctor checks as pure functions of hand-built Observations (no network at all)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from labkit.doctor import Finding, Observations, Status, diagnose
from labkit.doctor.checks import Check, check, registered_checks
from labkit.probes.dns import DnsAnswer, DnsOutcome, DnsRecord, MailDnsReport, MxHost, ReverseDns
from labkit.probes.smtp import Phase, SmtpFailure
from labkit.probes.tcp import PortState
from labkit.probes.tls import TlsPhase
from labkit.target import Target
from labkit.testing.builders import (
    POSTFIX_EHLO,
    cert_info,
    port_result,
    reply,
    server_inspection,
    smtp_result,
    tls_result,
    tls_session,
)

TARGET = Target(password="pw")
NO_STARTTLS = tuple(x for x in POSTFIX_EHLO if x != "STARTTLS")
CERT_LOG = (
    "2026-11-25T01:50:01.1+00:00 metagross postfix/smtpd[812]: warning: cannot get RSA "
    'certificate from file "/etc/ssl/lab/mail.zimmerman.test.crt": disabling TLS support\n'
)
MASTER_WITH_SUBMISSION = (
    "smtp       inet  n       -       n       -       -       smtpd\n"
    "submission inet  n       -       n       -       -       smtpd -o syslog_name=postfix/sub\n"
)


def _findings(obs: Observations, name: str) -> list[Finding]:
    return [f for f in diagnose(obs) if f.check == name]


def _one(obs: Observations, name: str, target_suffix: str | None = None) -> Finding:
    found = [
        f for f in _findings(obs, name) if target_suffix is None or f.target.endswith(target_suffix)
    ]
    assert len(found) == 1, found
    return found[0]


def _ports(**states: PortState) -> dict[int, object]:
    numbers = {"smtp": 25, "smtps": 465, "submission": 587}
    result = {p: port_result(p) for p in numbers.values()}
    for role, state in states.items():
        result[numbers[role]] = port_result(numbers[role], state)
    return result


# ---------------------------------------------------------------- ports


def test_587_refused_and_no_submission_in_master_cf_says_enable_it():
    obs = Observations(
        TARGET, ports=_ports(submission=PortState.REFUSED), server=server_inspection()
    )
    finding = _one(obs, "ports", ":587")
    assert finding.status is Status.FAIL
    assert "Enable the submission service in /etc/postfix/master.cf" in finding.hint
    assert "postfix reload" in finding.hint
    assert "no submission/inet service" in finding.evidence
    assert "ECONNREFUSED" in finding.evidence
    assert finding.learn_more.startswith("notebooks/02-connection-refused.ipynb")
    assert _one(obs, "ports", ":25").status is Status.OK


def test_service_present_but_not_listening_says_reload():
    obs = Observations(
        TARGET,
        ports=_ports(submission=PortState.REFUSED),
        server=server_inspection(master=MASTER_WITH_SUBMISSION, listening=(25,)),
    )
    assert "run `postfix reload`" in _one(obs, "ports", ":587").hint


def test_listening_inside_but_refused_outside_points_at_the_path():
    obs = Observations(
        TARGET,
        ports=_ports(submission=PortState.REFUSED),
        server=server_inspection(master=MASTER_WITH_SUBMISSION, listening=(25, 587)),
    )
    assert "firewall REJECT" in _one(obs, "ports", ":587").hint


def test_refused_without_inside_view_says_what_it_could_not_tell():
    obs = Observations(TARGET, ports=_ports(smtps=PortState.REFUSED))
    finding = _one(obs, "ports", ":465")
    assert "postconf -M smtps/inet" in finding.hint and "not examined" in finding.hint


def test_timeout_means_dropped_packets():
    obs = Observations(
        TARGET,
        ports=_ports(submission=PortState.TIMEOUT),
        server=server_inspection(master=MASTER_WITH_SUBMISSION, listening=(25, 587)),
    )
    finding = _one(obs, "ports", ":587")
    assert finding.status is Status.FAIL and "DROP" in finding.hint


# ---------------------------------------------------------------- STARTTLS


def test_no_starttls_with_cert_log_line_names_the_missing_file():
    obs = Observations(
        TARGET,
        smtp=smtp_result(ehlo=NO_STARTTLS),
        starttls=smtp_result(
            ehlo=NO_STARTTLS, stopped_at=Phase.STARTTLS, failure=SmtpFailure.NOT_OFFERED
        ),
        server=server_inspection(
            postconf="smtpd_tls_cert_file = /etc/ssl/lab/mail.zimmerman.test.crt\n",
            log=CERT_LOG,
            local_ehlo=NO_STARTTLS,
        ),
    )
    finding = _one(obs, "starttls")
    assert finding.status is Status.FAIL
    assert "certificate file is missing" in finding.hint
    assert "smtpd_tls_cert_file = /etc/ssl/lab/mail.zimmerman.test.crt" in finding.hint
    assert "cannot get RSA certificate" in finding.evidence
    assert "03-starttls-and-certificates" in finding.learn_more


def test_starttls_refused_names_the_missing_file_before_mail_log_does():
    # Postfix logs "cannot get RSA certificate" only when an smtpd process starts; the
    # doctor may read mail.log first. The files main.cf names are checked directly.
    refused = [("STARTTLS", reply(454, "4.7.0 TLS not available due to local problem"))]
    obs = Observations(
        TARGET,
        smtp=smtp_result(),
        starttls=smtp_result(
            commands=refused,
            stopped_at=Phase.STARTTLS,
            failure=SmtpFailure.REJECTED,
            reason="STARTTLS was refused: 454",
        ),
        server=server_inspection(
            postconf="smtpd_tls_cert_file = /etc/ssl/lab/missing.crt\n",
            log="",
            tls_files="smtpd_tls_cert_file missing /etc/ssl/lab/missing.crt\n"
            "smtpd_tls_key_file readable /etc/ssl/lab/lab.key\n",
        ),
    )
    finding = _one(obs, "starttls")
    assert finding.status is Status.FAIL
    assert "smtpd_tls_cert_file = /etc/ssl/lab/missing.crt" in finding.hint
    assert "on the server: smtpd_tls_cert_file = /etc/ssl/lab/missing.crt: no such file" in (
        finding.evidence
    )
    assert "lab.key" not in finding.evidence  # a readable file is not evidence


def test_starttls_refused_with_readable_files_and_quiet_log_does_not_blame_them():
    refused = [("STARTTLS", reply(454, "4.7.0 TLS not available due to local problem"))]
    obs = Observations(
        TARGET,
        smtp=smtp_result(),
        starttls=smtp_result(
            commands=refused, stopped_at=Phase.STARTTLS, failure=SmtpFailure.REJECTED
        ),
        server=server_inspection(tls_files="smtpd_tls_cert_file readable /etc/ssl/lab/a.crt\n"),
    )
    finding = _one(obs, "starttls")
    assert "mail.log says which" in finding.hint and "on the server" not in finding.evidence


def test_starttls_listed_but_refused_454_with_cert_log():
    refused = [("STARTTLS", reply(454, "4.7.0 TLS not available due to local problem"))]
    obs = Observations(
        TARGET,
        smtp=smtp_result(),
        starttls=smtp_result(
            commands=refused,
            stopped_at=Phase.STARTTLS,
            failure=SmtpFailure.REJECTED,
            reason="STARTTLS was refused: 454",
        ),
        server=server_inspection(log=CERT_LOG),
    )
    finding = _one(obs, "starttls")
    assert finding.status is Status.FAIL
    assert finding.title == (
        "STARTTLS is listed but refused (454 4.7.0 TLS not available due to local problem)"
    )
    assert "lab-certbot mail.zimmerman.test" in finding.hint


def test_starttls_seen_inside_but_masked_outside_blames_the_path():
    masked = tuple("XXXXXXXA" if x == "STARTTLS" else x for x in POSTFIX_EHLO)
    obs = Observations(
        TARGET,
        smtp=smtp_result(
            banner="************************************", name="metagross", ehlo=masked
        ),
        starttls=smtp_result(
            ehlo=masked, stopped_at=Phase.STARTTLS, failure=SmtpFailure.NOT_OFFERED
        ),
        server=server_inspection(local_ehlo=POSTFIX_EHLO),
    )
    starttls = _one(obs, "starttls")
    assert starttls.status is Status.FAIL
    assert "offered by the server but not seen from here" in starttls.title
    assert "strips STARTTLS" in starttls.hint
    middlebox = _one(obs, "middlebox")
    assert middlebox.status is Status.FAIL and "fixup smtp" in middlebox.hint
    assert "250-XXXXXXXA" in middlebox.evidence and "250-STARTTLS" in middlebox.evidence
    assert not _findings(obs, "greeting")  # masked banner: the middlebox check explains it


def test_working_starttls_is_ok():
    obs = Observations(
        TARGET,
        smtp=smtp_result(),
        starttls=smtp_result(after_tls=("AUTH PLAIN LOGIN",), tls=tls_session()),
    )
    assert _one(obs, "starttls").status is Status.OK


# ---------------------------------------------------------------- certificates


def test_self_signed_fails_everywhere_and_says_why_on_25():
    ss = tls_session(18, chain=[cert_info(self_signed=True)])
    obs = Observations(TARGET, tls={25: tls_result(25, ss), 587: tls_result(587, ss)})
    on_587 = _one(obs, "certificate", ":587")
    on_25 = _one(obs, "certificate", ":25")
    assert on_587.status is Status.FAIL and on_25.status is Status.FAIL
    assert "mail clients on 587/465" in on_25.hint and "mail clients" not in on_587.hint
    assert "error 18 (self-signed certificate)" in on_587.title
    assert "Verify return code: 18" in on_587.evidence
    assert "lab-certbot mail.zimmerman.test" in on_587.hint


@pytest.mark.parametrize(("code", "fragment"), [(10, "expired"), (62, "does not name")])
def test_expired_and_wrong_name_fail_even_on_25(code, fragment):
    obs = Observations(TARGET, tls={25: tls_result(25, tls_session(code))})
    finding = _one(obs, "certificate")
    assert finding.status is Status.FAIL and fragment in finding.hint


def test_good_certificate_is_ok_and_near_expiry_warns():
    from datetime import UTC, datetime, timedelta

    soon = cert_info(not_after=datetime.now(UTC) + timedelta(days=5))
    obs = Observations(
        TARGET, tls={465: tls_result(465), 587: tls_result(587, tls_session(0, chain=[soon]))}
    )
    assert _one(obs, "certificate", ":465").status is Status.OK
    assert _one(obs, "certificate", ":587").status is Status.WARN


def test_handshake_failure_is_reported():
    obs = Observations(
        TARGET,
        tls={
            465: tls_result(
                465,
                None,
                stopped_at=TlsPhase.HANDSHAKE,
                reason="TLS handshake failed (WRONG_VERSION_NUMBER)",
                handshake_error="WRONG_VERSION_NUMBER",
            )
        },
    )
    finding = _one(obs, "certificate")
    assert finding.status is Status.FAIL and "WRONG_VERSION_NUMBER" in finding.title


# ---------------------------------------------------------------- AUTH


def test_auth_before_tls_warns_and_missing_after_tls_fails():
    plain = smtp_result(ehlo=(*POSTFIX_EHLO, "AUTH PLAIN LOGIN"))
    encrypted = smtp_result(587, after_tls=("PIPELINING",), tls=tls_session())
    obs = Observations(TARGET, smtp=plain, submission=encrypted)
    auth = _findings(obs, "auth")
    assert [f.status for f in auth] == [Status.WARN, Status.FAIL]
    assert "smtpd_tls_auth_only = yes" in auth[0].hint
    assert "smtpd_sasl_auth_enable = yes" in auth[1].hint


def test_auth_refused_and_auth_working():
    refused = smtp_result(
        587,
        after_tls=("AUTH PLAIN LOGIN",),
        tls=tls_session(),
        authenticated=False,
        stopped_at=Phase.AUTH,
        failure=SmtpFailure.AUTH_FAILED,
        reason="Authentication failed: 535",
        commands=[("AUTH PLAIN ****", reply(535, "5.7.8 Error: authentication failed"))],
    )
    working = smtp_result(
        465, after_tls=("AUTH PLAIN LOGIN",), tls=tls_session(), authenticated=True
    )
    obs = Observations(TARGET, submission=refused, smtps=working)
    by_port = {f.target: f for f in _findings(obs, "auth")}
    assert by_port["mail.zimmerman.test:587"].status is Status.FAIL
    assert "535" in by_port["mail.zimmerman.test:587"].evidence
    assert by_port["mail.zimmerman.test:465"].status is Status.OK


def test_auth_unknown_without_tls_is_info():
    obs = Observations(TARGET, smtp=smtp_result())
    assert _one(obs, "auth").status is Status.INFO


# ---------------------------------------------------------------- relay


RELAY = ("MAIL FROM:<labkit-probe@example.net>", "RCPT TO:<relay-test@example.net>")


def test_open_relay_fails_and_quotes_mynetworks():
    smtp = smtp_result(
        commands=[(RELAY[0], reply(250, "2.1.0 Ok")), (RELAY[1], reply(250, "2.1.5 Ok"))]
    )
    obs = Observations(
        TARGET, smtp=smtp, server=server_inspection(postconf="mynetworks = 0.0.0.0/0\n")
    )
    finding = _one(obs, "relay")
    assert finding.status is Status.FAIL and "Open relay" in finding.title
    assert "reject_unauth_destination" in finding.hint and "0.0.0.0/0" in finding.hint
    assert "250 2.1.5 Ok" in finding.evidence


def test_relay_denied_is_ok():
    smtp = smtp_result(
        commands=[
            (RELAY[0], reply(250, "2.1.0 Ok")),
            (RELAY[1], reply(454, "4.7.1 <relay-test@example.net>: Relay access denied")),
        ],
        stopped_at=Phase.RCPT,
        failure=SmtpFailure.REJECTED,
    )
    finding = _one(Observations(TARGET, smtp=smtp), "relay")
    assert finding.status is Status.OK and "454 4.7.1" in finding.title


# ---------------------------------------------------------------- DNS


def _answer(name, rdtype, values=(), chain=None, outcome=DnsOutcome.NOERROR):
    return DnsAnswer(
        name,
        rdtype,
        outcome,
        "NOERROR",
        tuple(DnsRecord(name, rdtype, 300, v) for v in values),
        chain or (name,),
        (),
        "172.29.25.53",
        53,
        0.0,
    )


def _report(mx_alias: bool, ptr: str) -> MailDnsReport:
    chain = ("mail.zimmerman.test", "metagross.zimmerman.test") if mx_alias else None
    host = MxHost(
        10,
        "mail.zimmerman.test",
        _answer("mail.zimmerman.test", "A", ("172.29.25.25",), chain),
        _answer("mail.zimmerman.test", "AAAA", outcome=DnsOutcome.NOANSWER),
    )
    rev = ReverseDns(
        "172.29.25.25",
        _answer("25.25.29.172.in-addr.arpa", "PTR", (ptr,)),
        (_answer(ptr, "A", ("172.29.25.25",)),),
    )
    txt = _answer("zimmerman.test", "TXT", ("v=spf1 mx -all",))
    return MailDnsReport(
        "zimmerman.test",
        "172.29.25.53",
        53,
        _answer("zimmerman.test", "MX", ("10 mail.zimmerman.test",)),
        (host,),
        _answer("zimmerman.test", "A", ("172.29.25.25",)),
        txt,
        ("v=spf1 mx -all",),
        (rev,),
        "mail.zimmerman.test",
        None,
        (),
        0.0,
    )


def test_mx_cname_fails_and_ptr_mismatch_with_the_banner_warns():
    obs = Observations(
        TARGET,
        dns=_report(True, "metagross.zimmerman.test"),
        smtp=smtp_result(name="mail.zimmerman.test"),
    )
    dns = {f.title.split()[0]: f for f in _findings(obs, "dns")}
    cname = dns["MX"]
    assert cname.status is Status.FAIL and "RFC 2181 §10.3" in cname.learn_more
    assert "`mail A 172.29.25.25`" in cname.hint
    ptr = dns["PTR"]
    assert ptr.status is Status.WARN and "myhostname" in ptr.hint


def test_clean_dns_is_ok():
    obs = Observations(TARGET, dns=_report(False, "mail.zimmerman.test"), smtp=smtp_result())
    assert [f.status for f in _findings(obs, "dns")] == [Status.OK]


# ---------------------------------------------------------------- greeting, log, inside


def test_short_hostname_in_banner_warns_with_myhostname_hint():
    obs = Observations(TARGET, smtp=smtp_result(banner="metagross ESMTP Postfix", name="metagross"))
    finding = _one(obs, "greeting")
    assert finding.status is Status.WARN
    assert "myhostname = mail.zimmerman.test" in finding.hint


def test_silent_server_is_a_failed_greeting():
    smtp = smtp_result(
        banner=None,
        ehlo=None,
        stopped_at=Phase.BANNER,
        failure=SmtpFailure.TIMEOUT,
        reason="No complete reply within 1.5 s.",
    )
    finding = _one(Observations(TARGET, smtp=smtp), "greeting")
    assert finding.status is Status.FAIL and "timeout" in finding.title


def test_mail_log_fatal_lines_fail_and_others_are_grouped():
    log = (
        "Jul  7 01:08:00 mx postfix/master[1]: fatal: bind 0.0.0.0 port 587: Address "
        "already in use\n"
        "Jul  7 01:08:00 mx postfix/smtpd[2]: fatal: no SASL authentication mechanisms\n"
        "Jul  7 01:08:01 mx postfix/smtpd[1]: warning: something odd\n" + CERT_LOG
    )
    obs = Observations(TARGET, server=server_inspection(log=log))
    statuses = {f.title.rsplit(" (", 1)[0]: f.status for f in _findings(obs, "mail-log")}
    assert statuses == {
        "Postfix logged fatal errors": Status.FAIL,
        "SASL (Dovecot auth) is misconfigured": Status.FAIL,
        "Other warnings in mail.log": Status.INFO,
    }


def test_without_a_transport_the_doctor_says_what_it_did_not_check():
    obs = Observations(TARGET, errors={"server": "No way into the server was given"})
    finding = _one(obs, "inside")
    assert finding.status is Status.INFO and "No way into the server" in finding.evidence
    assert not _findings(obs, "mail-log")


# ---------------------------------------------------------------- the registry


def test_registry_order_and_uniqueness():
    names = [c.name for c in registered_checks()]
    assert names[:4] == ["ports", "submission", "greeting", "middlebox"]
    assert len(names) == len(set(names))
    with pytest.raises(ValueError, match="already registered"):
        check("ports", title="again")(lambda obs: [])


def test_a_crashing_check_is_reported_not_raised():
    def boom(obs):
        raise RuntimeError("kaput")

    findings = diagnose(Observations(TARGET), [Check("boom", "crashes", boom)])
    assert len(findings) == 1 and findings[0].status is Status.WARN
    assert "kaput" in findings[0].title


def test_empty_observations_give_no_false_alarms():
    findings = diagnose(Observations(replace(TARGET, password=None)))
    assert {f.status for f in findings} <= {Status.INFO}


def test_greeting_evidence_is_banner_and_ehlo_only():
    smtp = smtp_result(
        banner="metagross ESMTP Postfix",
        name="metagross",
        commands=[(RELAY[0], reply(250, "2.1.0 Ok"))],
    )
    evidence = _one(Observations(TARGET, smtp=smtp), "greeting").evidence.splitlines()
    assert evidence[0] == "220 metagross ESMTP Postfix"
    assert evidence[1] == "> EHLO [172.29.25.100]" and evidence[-1] == "250 DSN"
    assert "2.1.0" not in "\n".join(evidence)


SSL_ACCEPT = (
    "Jul  7 01:08:02 metagross postfix/smtpd[1241]: SSL_accept error from "
    "workstation.zimmerman.test[172.29.25.100]: -1\n"
)


@pytest.mark.parametrize(("code", "expected"), [(18, Status.INFO), (0, Status.WARN)])
def test_handshake_aborts_in_the_log_are_expected_while_the_cert_fails(code, expected):
    obs = Observations(
        TARGET,
        tls={25: tls_result(25, tls_session(code))},
        server=server_inspection(log=SSL_ACCEPT),
    )
    assert _one(obs, "mail-log").status is expected


def test_masked_banner_alone_does_not_claim_starttls_exists():
    obs = Observations(
        TARGET,
        smtp=smtp_result(banner="*****************", ehlo=NO_STARTTLS),
        starttls=smtp_result(
            ehlo=NO_STARTTLS, stopped_at=Phase.STARTTLS, failure=SmtpFailure.NOT_OFFERED
        ),
    )
    assert _one(obs, "starttls").title == "The server does not offer STARTTLS"
    assert _one(obs, "middlebox").status is Status.FAIL


# ---------------------------------------------------------------- the network path


def test_masked_dialog_with_starttls_inside_names_the_laptops_path():
    masked = tuple("XXXXXXXA" if x == "STARTTLS" else x for x in POSTFIX_EHLO)
    obs = Observations(
        TARGET,
        smtp=smtp_result(banner="*" * 36, name="metagross", ehlo=masked),
        server=server_inspection(local_ehlo=POSTFIX_EHLO),
        network="cafe",
    )
    path = _one(obs, "path")
    assert path.status is Status.FAIL
    assert path.title.startswith("Something on the cafe path rewrites SMTP")
    assert "STARTTLS replaced by XXXXXXXA" in path.title
    assert "250-XXXXXXXA" in path.evidence and "250-STARTTLS" in path.evidence
    assert "labkit net use hotspot" in path.hint and "465" in path.hint


@pytest.mark.parametrize(
    ("state", "words"),
    [
        (PortState.TIMEOUT, "filtered (timeout"),
        (PortState.UNREACHABLE, "rejected (ICMP"),
    ],
)
def test_a_port_stopped_on_the_way_but_listening_inside_blames_the_path(state, words):
    obs = Observations(
        TARGET,
        ports=_ports(submission=state),
        server=server_inspection(listening=(25, 465, 587)),
        network="hotspot",
    )
    path = _one(obs, "path", ":587")
    assert path.status is Status.FAIL
    assert words in path.title and "on the hotspot path, yet listening" in path.title
    assert "traceroute -T -p 587" in path.hint and "labkit net use cafe" in path.hint


def test_the_path_is_never_blamed_for_the_servers_own_faults():
    # no-submission: refused because nothing listens; fixed: everything open.
    refused = Observations(
        TARGET,
        ports=_ports(submission=PortState.REFUSED, smtps=PortState.REFUSED),
        server=server_inspection(listening=(25,)),
        network="cafe",
    )
    assert not _findings(refused, "path")
    fine = Observations(
        TARGET,
        ports=_ports(),
        smtp=smtp_result(),
        server=server_inspection(listening=(25, 465, 587)),
        network="cafe",
    )
    assert not _findings(fine, "path")
    unseen = Observations(TARGET, ports=_ports(submission=PortState.TIMEOUT), network="cafe")
    assert not _findings(unseen, "path")  # no inside view: no claim about the path
