"""Live-task checks: pure functions from probe results to a :class:`Grade`.

Each check looks at what the probes saw (never at sockets), splits the task into
:class:`Criterion` items, and says what to fix for the first one that fails. The
score is the share of criteria met, so partial progress shows. :mod:`labkit.
exercises.live` runs the probes and hands their results to these functions, which
is why every check can be tested with results built by hand.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from labkit.exercises.grade import Criterion, Grade
from labkit.probes.dns import DnsAnswer, DnsOutcome, MxHost, ReverseDns
from labkit.probes.smtp import AnomalyKind, SmtpResult
from labkit.probes.tcp import PortResult, PortState
from labkit.probes.tls import TlsResult
from labkit.verdicts import (
    Verdict,
    judge_auth_available,
    judge_auth_protected,
    judge_certificate,
    judge_mx_target,
    judge_own_domain,
    judge_relay,
    judge_reverse_dns,
    judge_submission,
)

__all__ = [
    "CAPSTONE_CHECKS",
    "check_beat_the_box",
    "check_auth_after_tls",
    "check_capstone",
    "check_mx",
    "check_not_open_relay",
    "check_ptr",
    "check_starttls",
    "check_submission",
    "grade_criteria",
]


def grade_criteria(criteria: Sequence[Criterion], *, success: str) -> Grade:
    """Score = share of criteria met; feedback names the first one to fix."""
    met = sum(c.met for c in criteria)
    total = len(criteria)
    if total and met == total:
        feedback = f"All {total} checks pass. {success}"
    else:
        first = next(c for c in criteria if not c.met)
        feedback = f"{met} of {total} checks pass. Fix this first: {first.detail}"
    return Grade(
        score=met / total if total else 0.0,
        max_score=1.0,
        feedback=feedback,
        correct=bool(total) and met == total,
        criteria=tuple(criteria),
    )


def _port_detail(result: PortResult, service: str) -> str:
    """What a failed connect means for a mail port, and what to change."""
    errno = f" ({result.errno_name}, errno {result.errno_number})" if result.errno_name else ""
    if result.state is PortState.REFUSED:
        return (
            f"Port {result.port} refused the connection{errno}: nothing listens there. "
            f"Enable the `{service}` service in master.cf, then `postfix reload`."
        )
    if result.state is PortState.TIMEOUT:
        return (
            f"Port {result.port} timed out: packets are dropped on the way (a firewall DROP "
            "rule?) rather than refused."
        )
    if result.state is PortState.NAME_ERROR:
        return f"{result.host} does not resolve, so nothing was tried. Check the DNS records."
    return f"Port {result.port}: {result.summary()}. {result.explanation}"


def _verdict_criterion(verdict: Verdict) -> Criterion:
    """A live-task criterion is a verdict: met when the fact holds.

    The detail is what was seen, the evidence; the fix is the last rung of the task's
    hint ladder (and the doctor's second opinion), never given away for free here.
    """
    return Criterion(verdict.fact, verdict.holds is True, verdict.seen)


def check_submission(
    submission: PortResult,
    smtps: PortResult,
    submission_smtp: SmtpResult | None = None,
    smtps_smtp: SmtpResult | None = None,
) -> Grade:
    """Make 587 (``submission``, STARTTLS) and 465 (``smtps``, implicit TLS) usable.

    ``submission``/``smtps`` are the connect results; ``*_smtp`` the SMTP dialogs on
    those ports (587 with STARTTLS, 465 over implicit TLS) when they were open. The
    judgement is :func:`labkit.verdicts.judge_submission`, the doctor's too.
    """
    criteria = [
        _verdict_criterion(judge_submission(submission, submission_smtp)),
        _verdict_criterion(judge_submission(smtps, smtps_smtp)),
    ]
    return grade_criteria(
        criteria,
        success="Mail clients can now submit on 587 (STARTTLS) and 465 (implicit TLS).",
    )


def check_starttls(smtp: SmtpResult, tls: TlsResult | None = None) -> Grade:
    """Make STARTTLS work on port 25, with a certificate that verifies against the lab CA.

    ``smtp`` is a dialog with ``starttls=True``; ``tls`` the verdict of
    ``probe_tls(..., starttls="smtp", cafile=lab CA)``.
    """
    criteria: list[Criterion] = []
    if not smtp.connection.ok:
        criteria.append(Criterion("connects", False, _port_detail(smtp.connection, "smtp")))
        return grade_criteria(criteria, success="")
    offered = smtp.offers("STARTTLS", after_tls=False)
    masked = [a.evidence for a in smtp.anomalies if a.kind is AnomalyKind.MASKED_EXTENSION]
    if offered:
        criteria.append(Criterion("STARTTLS offered", True, "EHLO lists `250-STARTTLS`."))
    elif masked:
        criteria.append(
            Criterion(
                "STARTTLS offered",
                False,
                f"EHLO shows `{masked[0]}` where STARTTLS should be: a middlebox on the path "
                "rewrites it. Test from another vantage point.",
            )
        )
    else:
        criteria.append(
            Criterion(
                "STARTTLS offered",
                False,
                "EHLO does not list STARTTLS. The TLS settings in main.cf and mail.log (it "
                "says 'disabling TLS support' when the certificate cannot be loaded) tell why.",
            )
        )
    criteria.append(_handshake_criterion(smtp))
    criteria.append(_verify_criterion(tls))
    return grade_criteria(criteria, success="Port 25 upgrades to TLS with a trusted certificate.")


def _handshake_criterion(smtp: SmtpResult) -> Criterion:
    name = "TLS handshake"
    if smtp.tls is not None:
        return Criterion(name, True, f"{smtp.tls.summary()}.")
    starttls = smtp.reply_to("STARTTLS")
    if starttls is not None and starttls.code == 454:
        return Criterion(
            name,
            False,
            f"STARTTLS answered `{starttls}`: Postfix could not load its certificate, and "
            "mail.log names the file ('cannot get RSA certificate from file ...: disabling "
            "TLS support').",
        )
    return Criterion(name, False, f"No TLS session: {smtp.reason}")


def _verify_criterion(tls: TlsResult | None) -> Criterion:
    if tls is None:
        return Criterion("certificate verifies", False, "The certificate was not checked.")
    verdict = judge_certificate(tls.session, tls.servername or tls.host, tls.reason)
    return _verdict_criterion(verdict)


def check_auth_after_tls(
    smtp: SmtpResult,
    submission: SmtpResult | None = None,
    smtps: SmtpResult | None = None,
) -> Grade:
    """No plain-text EHLO offers AUTH; after TLS a client can log in, on 25, 587 or 465.

    ``smtp`` is a dialog on 25 with ``starttls=True`` (optionally with credentials);
    ``submission`` and ``smtps`` the same on 587 and 465 when they were probed.
    Offering AUTH only on 587/465 (the policy notebook 04 recommends) passes.
    """
    sessions = [smtp, submission, smtps]
    if not any(s is not None and s.connection.ok for s in sessions):
        detail = _port_detail(smtp.connection, "submission")
        return grade_criteria([Criterion("connects", False, detail)], success="")
    criteria = [
        _verdict_criterion(judge_auth_protected(sessions)),
        _verdict_criterion(judge_auth_available(sessions)),
    ]
    return grade_criteria(criteria, success="Passwords only ever travel inside TLS.")


def check_not_open_relay(outside: SmtpResult, local: SmtpResult | None = None) -> Grade:
    """Strangers may not relay to other domains, yet mail for the lab's domain is accepted.

    ``outside``: a dialog from outside ``mynetworks``, without AUTH, with ``MAIL FROM``
    and ``RCPT TO`` a foreign domain. ``local`` (optional): the same to a lab address.
    Judged by :func:`labkit.verdicts.judge_relay` (the doctor's judgement too): only a
    relay denial counts, not a 530 or a greylisting 450.
    """
    if not outside.connection.ok:
        detail = _port_detail(outside.connection, "smtp")
        return grade_criteria([Criterion("connects", False, detail)], success="")
    criteria = [_verdict_criterion(judge_relay(outside))]
    if local is not None:
        criteria.append(_verdict_criterion(judge_own_domain(local)))
    return grade_criteria(criteria, success="Strangers cannot relay, and the MX still takes mail.")


_DNS_FAILURES = {
    DnsOutcome.NXDOMAIN: "{name} does not exist (NXDOMAIN): is the zone loaded, the name right?",
    DnsOutcome.NOANSWER: "{name} exists but has no {rdtype} record.",
    DnsOutcome.TIMEOUT: "The DNS server did not answer ({error}).",
    DnsOutcome.SERVFAIL: "The DNS server failed (SERVFAIL): look at its logs for a broken zone.",
    DnsOutcome.REFUSED: "The DNS server refused to answer for {name}: not its zone?",
}


def _dns_problem(answer: DnsAnswer) -> str:
    template = _DNS_FAILURES.get(answer.outcome, "The lookup failed: {error}.")
    return template.format(name=answer.name, rdtype=answer.rdtype, error=answer.error or "")


def check_mx(mx: DnsAnswer, mx_hosts: Sequence[MxHost], mail_address: str | None = None) -> Grade:
    """The MX names a host (not an alias) whose address is the mail server's.

    ``mx`` is the domain's MX answer, ``mx_hosts`` each target with its A/AAAA answers
    (as :func:`labkit.probes.dns.mail_dns_report` gathers them); ``mail_address`` the
    address the mail server really has, when known.
    """
    if not mx.ok or not mx_hosts:
        detail = _dns_problem(mx)
        if mx.outcome is DnsOutcome.NOANSWER:
            detail += " Senders fall back to the domain's own A record."
        return grade_criteria([Criterion("MX published", False, detail)], success="")
    criteria = [
        Criterion("MX published", True, mx.evidence().replace("\n", "; ")),
        _verdict_criterion(judge_mx_target(mx, mx_hosts)),
    ]
    if mail_address is not None:
        primary = [h for h in mx_hosts if h.preference == min(x.preference for x in mx_hosts)]
        found = sorted({a for h in primary for a in h.addresses})
        reaches = mail_address in found
        criteria.append(
            Criterion(
                "MX leads to the mail server",
                reaches,
                f"The MX resolves to {mail_address}, the mail server."
                if reaches
                else f"The MX resolves to {', '.join(found) or 'nothing'}, but the mail "
                f"server is {mail_address}.",
            )
        )
    return grade_criteria(criteria, success="Mail for the domain goes straight to the server.")


def check_ptr(
    reverse: ReverseDns | None, expected_name: str, ehlo_name: str | None = None
) -> Grade:
    """The mail server's address has a PTR naming it, confirmed forward, matching EHLO.

    ``reverse`` is :func:`labkit.probes.dns.reverse_lookup` of the server's address
    (None when the address was unknown); ``ehlo_name`` the name the server gives in
    its EHLO reply (Postfix's ``myhostname``), when probed. The verdicts are
    :func:`labkit.verdicts.judge_reverse_dns`, the doctor's too.
    """
    verdicts = judge_reverse_dns(reverse, expected_name.rstrip("."), ehlo_name)
    return grade_criteria(
        [_verdict_criterion(v) for v in verdicts],
        success="Reverse DNS vouches for the mail server's name.",
    )


def check_beat_the_box(smtps: SmtpResult) -> Grade:
    """From where the learner is (the café, behind the SMTP-inspecting box), a mail client
    logs in: 465 speaks TLS from the first byte, and AUTH succeeds inside it."""
    criteria = [_verdict_criterion(judge_submission(smtps.connection, smtps))]
    if smtps.tls is None:
        detail = "No TLS session on 465, so no login could be tried."
    elif smtps.authenticated:
        detail = "AUTH succeeded inside TLS: the box saw only ciphertext."
    else:
        detail = f"TLS started, but the login failed: {smtps.reason}"
    criteria.append(Criterion("AUTH inside TLS on 465", smtps.authenticated is True, detail))
    return grade_criteria(
        criteria,
        success="A mail client on the café's Wi-Fi logs in on 465: what the box cannot read, "
        "it cannot rewrite.",
    )


#: The capstone's parts: a label and the check that judges that part's evidence.
CAPSTONE_CHECKS: dict[str, Callable[..., Grade]] = {
    "submission": check_submission,
    "starttls": check_starttls,
    "auth": check_auth_after_tls,
    "relay": check_not_open_relay,
    "mx": check_mx,
    "ptr": check_ptr,
}


def check_capstone(**parts: Mapping[str, Any]) -> Grade:
    """Every fix at once: each part's evidence goes to its check; criteria are merged.

    Keyword names are the labels of :data:`CAPSTONE_CHECKS`; parts not given are skipped.
    """
    criteria: list[Criterion] = []
    for label, check in CAPSTONE_CHECKS.items():
        if label in parts:
            part = check(**parts[label])
            criteria += [Criterion(f"{label}: {c.name}", c.met, c.detail) for c in part.criteria]
    return grade_criteria(criteria, success="The blog's server is fixed, end to end.")
