"""One set of verdicts: what a probe result *means*, judged in exactly one place.

The doctor (:mod:`labkit.doctor.checks`) and the live tasks
(:mod:`labkit.exercises.checks`) both ask the same questions of the same probe
results: is relaying refused, is AUTH protected by TLS, can a mail client submit,
does the MX name a real host. Each question is answered here, by a pure function
that returns a :class:`Verdict`: whether the fact holds (``True``), fails
(``False``) or cannot be told from this evidence (``None``), one sentence of what
was seen, and one piece of advice. Views word the result for their reader; they
never judge again.

The judgements follow the RFCs and what Postfix really answers:

* Relaying is refused by ``454 4.7.1`` (``defer_unauth_destination``) or ``554
  5.7.1`` (``reject_unauth_destination``) ``... Relay access denied`` at RCPT
  (RFC 5321 §3.9, RFC 3463 X.7.1). A ``530 5.7.0 Must issue a STARTTLS command
  first``, a greylisting ``450 4.7.1``, or a ``550 5.1.1`` unknown user are
  answers to other questions: they say nothing about relaying (``None``).
* AUTH is protected when no plain-text EHLO offers it (RFC 4954 §4, RFC 8314).
  Where the server offers AUTH after TLS (25, 587 or implicit-TLS 465) is policy:
  AUTH on 587/465 only is as right as AUTH on 25 after STARTTLS.
* A submission port (RFC 6409, RFC 8314) is usable when it accepts the connection,
  greets with 220, offers STARTTLS (587) or speaks TLS at once (465), and never
  offers AUTH in plain text.
* An MX must name a host with its own address records, never an alias or an
  address (RFC 2181 §10.3, RFC 5321 §5.1).
* A certificate is good when it verifies against the trust store the client uses
  (OpenSSL's return code 0, RFC 6125 name checks included); each other code has one
  meaning (:data:`CERT_MEANING`) and one fix.
* Reverse DNS vouches for a mail server when its address has a PTR, the PTR names the
  mail host and the name the server gives in EHLO, and that name resolves back to the
  address (forward-confirmed; RFC 1912 §2.1, RFC 8601 §2.7.3). The rules themselves
  are :func:`labkit.probes.dns.ptr_names_match` and :class:`~labkit.probes.dns.ReverseDns`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from labkit.probes._wire import Reply
from labkit.probes.dns import (
    DnsAnswer,
    DnsRule,
    MxHost,
    ReverseDns,
    mx_host_issues,
    ptr_names_match,
)
from labkit.probes.smtp import SmtpResult
from labkit.probes.tcp import PortResult, PortState
from labkit.probes.tls import TlsSession, VerifyCode

__all__ = [
    "CERT_MEANING",
    "RELAY_ADVICE",
    "Verdict",
    "is_relay_denial",
    "judge_auth_available",
    "judge_auth_protected",
    "judge_certificate",
    "judge_mx_target",
    "judge_own_domain",
    "judge_relay",
    "judge_reverse_dns",
    "judge_submission",
]

#: The one advice for an open relay, wherever it is shown.
RELAY_ADVICE = (
    "Trust only the server itself in `mynetworks` (`127.0.0.0/8 [::1]/128`) and end "
    "`smtpd_relay_restrictions` with `defer_unauth_destination` (Postfix's default; "
    "`reject_unauth_destination` answers 554 at once instead of 454): `permit_mynetworks, "
    "permit_sasl_authenticated, defer_unauth_destination`."
)

_RELAY_TEXT = re.compile(
    r"relay(?:ing)?\s+(?:access\s+)?(?:denied|not\s+permitted|prohibited)", re.IGNORECASE
)


@dataclass(frozen=True)
class Verdict:
    """The answer to one question about the server.

    ``holds`` is True (good), False (a fault) or None (this evidence cannot tell);
    ``seen`` says in one sentence what was seen, ``advice`` what to do about it
    (empty when nothing needs doing), ``evidence`` the wire lines it rests on.
    """

    fact: str
    holds: bool | None
    seen: str
    advice: str = ""
    evidence: str = ""

    @property
    def judged(self) -> bool:
        return self.holds is not None


def _quote(reply: Reply) -> str:
    return " / ".join(reply.wire_lines())


def _connect_failure(fact: str, result: SmtpResult) -> Verdict:
    return Verdict(
        fact,
        None,
        f"Could not connect to port {result.port}: {result.connection.summary()}.",
        "Make the port reachable first (see the ports check).",
    )


# --- relaying --------------------------------------------------------------------------


def is_relay_denial(reply: Reply) -> bool:
    """Postfix's (and RFC 3463's) relay refusal: 454/554 with X.7.1, or the words."""
    if reply.positive:
        return False
    enhanced = reply.enhanced
    by_code = (
        reply.code in (454, 554, 550)
        and enhanced is not None
        and (enhanced.subject, enhanced.detail) == (7, 1)
        and not _is_greylisting(reply)
    )
    return by_code or bool(_RELAY_TEXT.search(reply.text))


def _is_greylisting(reply: Reply) -> bool:
    return bool(re.search(r"greylist|graylist|try again later", reply.text, re.I))


def judge_relay(outside: SmtpResult) -> Verdict:
    """Does the server refuse to relay for a stranger (no AUTH, outside ``mynetworks``)?

    ``outside`` is a dialog with ``MAIL FROM`` and ``RCPT TO`` a foreign domain.
    """
    fact = "foreign recipient refused"
    if not outside.connection.ok:
        return _connect_failure(fact, outside)
    mail = outside.reply_to("MAIL")
    rcpt = outside.reply_to("RCPT")
    if mail is not None and not mail.positive:
        why = (
            "the server demands STARTTLS first"
            if mail.code == 530
            else "the sender was not accepted"
        )
        return Verdict(
            fact,
            None,
            f"MAIL FROM got `{_quote(mail)}`: {why}, so the relay question was never asked.",
            "Run the relay test where MAIL FROM is accepted (after STARTTLS, if the port "
            "requires it).",
            str(mail),
        )
    if rcpt is None:
        return Verdict(fact, None, f"No reply to RCPT: {outside.reason}", "", "")
    evidence = "\n".join(
        f"> {e.command}\n" + "\n".join(e.reply.wire_lines())
        for e in outside.exchanges
        if e.command.split(" ", 1)[0].upper() in ("MAIL", "RCPT")
    )
    if rcpt.positive:
        return Verdict(
            fact,
            False,
            f"A stranger's mail to a foreign domain was accepted (`{_quote(rcpt)}`): an "
            "open relay.",
            RELAY_ADVICE,
            evidence,
        )
    if is_relay_denial(rcpt):
        later = " (temporary: senders retry; reject_unauth_destination would say 554)"
        return Verdict(
            fact,
            True,
            f"Relaying is refused: `{_quote(rcpt)}`{later if rcpt.transient else ''}.",
            "",
            evidence,
        )
    if rcpt.code == 530:
        what = "it demands STARTTLS or AUTH first"
    elif _is_greylisting(rcpt) or rcpt.code == 450:
        what = "a temporary deferral (greylisting?), not a relay decision"
    elif rcpt.enhanced is not None and rcpt.enhanced.subject == 1:
        what = "the address was judged (X.1.x), not the relaying"
    else:
        what = "not a relay denial (454 4.7.1 or 554 5.7.1 ... Relay access denied)"
    return Verdict(
        fact,
        None,
        f"RCPT got `{_quote(rcpt)}`: {what}.",
        "Repeat the test with a recipient at a foreign domain, from outside mynetworks, "
        "without AUTH, stopping at RCPT.",
        evidence,
    )


def judge_own_domain(local: SmtpResult) -> Verdict:
    """Is mail *for* the server's own domain accepted from a stranger, as an MX must?"""
    fact = "own domain accepted"
    if not local.connection.ok:
        return _connect_failure(fact, local)
    rcpt = local.reply_to("RCPT")
    if rcpt is None:
        return Verdict(fact, None, f"No reply to RCPT: {local.reason}")
    if rcpt.positive:
        return Verdict(fact, True, f"Mail for the lab's own domain is accepted: `{_quote(rcpt)}`.")
    return Verdict(
        fact,
        False,
        f"Mail for the lab's own domain is refused: `{_quote(rcpt)}`.",
        "An MX must accept mail for its own domains from anyone: check `mydestination` "
        "(and that the recipient exists).",
        str(rcpt),
    )


# --- AUTH -------------------------------------------------------------------------------


def _implicit_tls(session: SmtpResult) -> bool:
    """TLS from the first byte (465): the only EHLO was already encrypted."""
    return session.tls is not None and not session.capabilities_before_tls


def _plain_ehlo_offers_auth(session: SmtpResult) -> bool:
    """AUTH in an EHLO reply that was sent in clear (not on an implicit-TLS port)."""
    return not _implicit_tls(session) and session.offers("AUTH", after_tls=False)


def _tls_mechanisms(session: SmtpResult) -> tuple[str, ...]:
    """The AUTH mechanisms offered inside TLS (after STARTTLS, or on implicit TLS)."""
    return session.auth_mechanisms(after_tls=True)


def judge_auth_protected(sessions: Iterable[SmtpResult | None]) -> Verdict:
    """Is AUTH offered only inside TLS, on every port that was looked at?"""
    fact = "no AUTH before TLS"
    seen = [s for s in sessions if s is not None and s.capabilities_before_tls]
    exposed = [s for s in seen if _plain_ehlo_offers_auth(s)]
    if exposed:
        session = exposed[0]
        mechanisms = " ".join(session.auth_mechanisms(after_tls=False))
        return Verdict(
            fact,
            False,
            f"Port {session.port} offers `AUTH {mechanisms}` before STARTTLS: passwords could "
            "cross the network in clear text.",
            "Set `smtpd_tls_auth_only = yes` in main.cf (and `postfix reload`).",
            session.transcript.excerpt("AUTH"),
        )
    if not seen:
        return Verdict(fact, None, "No EHLO reply was seen, so AUTH could not be judged.")
    ports = ", ".join(str(s.port) for s in seen)
    return Verdict(fact, True, f"No plain-text EHLO offers AUTH (ports {ports}).")


def judge_auth_available(sessions: Iterable[SmtpResult | None]) -> Verdict:
    """Can a client log in somewhere after TLS (25, 587 or 465), and did the login work?

    Where AUTH is offered is policy: 587/465 only is fine.
    """
    fact = "AUTH after TLS"
    encrypted = [
        s
        for s in sessions
        if s is not None and s.tls is not None and s.capabilities_after_tls is not None
    ]
    if not encrypted:
        return Verdict(
            fact,
            None,
            "No encrypted session succeeded, so AUTH after TLS could not be checked.",
            "Fix STARTTLS or the submission ports first.",
        )
    offering = [s for s in encrypted if _tls_mechanisms(s)]
    if not offering:
        ports = ", ".join(str(s.port) for s in encrypted)
        return Verdict(
            fact,
            False,
            f"Even inside TLS (ports {ports}) EHLO lists no AUTH: nobody can log in to send.",
            "Enable SASL: `smtpd_sasl_auth_enable = yes`, `smtpd_sasl_type = dovecot`, "
            "`smtpd_sasl_path = private/auth` (or `-o smtpd_sasl_auth_enable=yes` on "
            "submission/smtps in master.cf), then `postfix reload`.",
        )
    failed = [s for s in offering if s.authenticated is False]
    if failed and not any(s.authenticated for s in offering):
        session = failed[0]
        return Verdict(
            fact,
            False,
            f"AUTH is offered on {session.port} but the test login failed: {session.reason}",
            "Check the user and password in Dovecot (`doveadm auth test USER PASSWORD` on "
            "the server) and the auth socket (`smtpd_sasl_path`).",
            session.transcript.excerpt("AUTH"),
        )
    session = next((s for s in offering if s.authenticated), offering[0])
    mechanisms = " ".join(_tls_mechanisms(session))
    login = " and the test user logged in (235)" if session.authenticated else ""
    return Verdict(
        fact,
        True,
        f"After TLS, port {session.port} offers `AUTH {mechanisms}`{login}.",
        "",
        session.transcript.excerpt("AUTH"),
    )


# --- submission ---------------------------------------------------------------------------

_SERVICE = {587: "submission", 465: "smtps"}


def _port_advice(result: PortResult, service: str) -> str:
    if result.state is PortState.REFUSED:
        return (
            f"Nothing listens on {result.port}: enable the `{service}` service in "
            "/etc/postfix/master.cf, then `postfix reload`."
        )
    if result.state is PortState.TIMEOUT:
        return f"Packets to {result.port} are dropped: a firewall DROP rule, or a wrong address."
    return result.explanation or ""


def judge_submission(connection: PortResult, session: SmtpResult | None) -> Verdict:
    """Can a mail client submit on this port (587: STARTTLS; 465: implicit TLS)?"""
    port = connection.port
    service = _SERVICE.get(port, "submission")
    fact = f"{service} ({port}) usable"
    if not connection.ok:
        errno = (
            f" ({connection.errno_name}, errno {connection.errno_number})"
            if connection.errno_name
            else ""
        )
        return Verdict(
            fact,
            False,
            f"Port {port} {connection.state.value}{errno}.",
            _port_advice(connection, service),
        )
    if session is None:
        return Verdict(fact, None, f"Port {port} is open but was not probed with SMTP.")
    if port == 465 and session.tls is None:
        return Verdict(
            fact,
            False,
            f"Port 465 accepts connections, but no TLS session starts: {session.reason}",
            "465 speaks TLS from the first byte: it needs `-o smtpd_tls_wrappermode=yes` and "
            "a certificate Postfix can load (mail.log says if it cannot).",
            session.transcript.excerpt(""),
        )
    if session.banner is None or session.banner.code != 220:
        return Verdict(
            fact,
            False,
            f"Port {port} accepts connections but does not greet with 220: {session.reason}",
            f"Check the `{service}` line of master.cf and mail.log.",
            session.transcript.excerpt(""),
        )
    starttls = session.reply_to("STARTTLS")
    if starttls is not None and session.tls is None:
        return Verdict(
            fact,
            False,
            f"Port {port} offers STARTTLS but it fails (`{_quote(starttls)}`): no client can "
            "log in safely.",
            "Postfix cannot load its certificate: mail.log says which file "
            "('cannot get RSA certificate'); fix `smtpd_tls_cert_file`/`smtpd_tls_key_file`.",
            session.transcript.excerpt("STARTTLS"),
        )
    if port == 465 or _implicit_tls(session):
        if session.tls is None:
            return Verdict(
                fact,
                False,
                f"Port {port} greets, but not over TLS: {session.reason}",
                "465 needs `-o smtpd_tls_wrappermode=yes` on the smtps service.",
            )
        return Verdict(fact, True, f"Port {port} speaks TLS at once and greets with 220.")
    if _plain_ehlo_offers_auth(session):
        return Verdict(
            fact,
            False,
            f"Port {port} offers AUTH before STARTTLS: clients would send passwords in clear.",
            "Set `-o smtpd_tls_security_level=encrypt` on submission (or "
            "`smtpd_tls_auth_only = yes`), then `postfix reload`.",
            session.transcript.excerpt("AUTH"),
        )
    if not session.offers("STARTTLS", after_tls=False):
        return Verdict(
            fact,
            False,
            f"Port {port} does not offer STARTTLS, so a client can never log in safely.",
            "Check the certificate settings (`smtpd_tls_cert_file`) and mail.log.",
            session.transcript.excerpt("250"),
        )
    return Verdict(
        fact,
        True,
        f"Port {port} greets with 220 and offers STARTTLS before any AUTH.",
        "",
        session.transcript.excerpt("STARTTLS"),
    )


# --- DNS --------------------------------------------------------------------------------


def judge_mx_target(mx: DnsAnswer, mx_hosts: Sequence[MxHost]) -> Verdict:
    """Does every MX target name a host with its own address records (no alias, no IP)?

    The rule itself is :func:`labkit.probes.dns.mx_host_issues`, which the doctor's DNS
    report applies too; this is its verdict for one domain.
    """
    fact = "MX target valid"
    if not mx.ok or not mx_hosts:
        return Verdict(fact, None, f"No MX to judge ({mx.outcome.value}).")
    for host in mx_hosts:
        for issue in mx_host_issues(mx.name, mx, host):
            if issue.severity != "fail":
                continue
            return Verdict(
                fact,
                False,
                f"{issue.title} ({issue.reference}).",
                _MX_ADVICE.get(issue.rule, ""),
                issue.evidence,
            )
    targets = ", ".join(h.exchange for h in mx_hosts)
    return Verdict(fact, True, f"{targets}: a host with its own address, no CNAME.")


_MX_ADVICE = {
    DnsRule.MX_IS_ADDRESS: "Use a host name with an A record as the MX target.",
    DnsRule.MX_IS_CNAME: "Replace the CNAME with an A record, or point the MX at the "
    "canonical name.",
    DnsRule.MX_UNRESOLVABLE: "Give the MX target an A record.",
}


# --- certificates -----------------------------------------------------------------------

#: What each OpenSSL verify code a mail server commonly produces means: where the trouble
#: is. Shown by the live tasks as what was seen, and by the doctor before its fix.
CERT_MEANING: dict[int, str] = {
    VerifyCode.CERT_HAS_EXPIRED: "The certificate has expired.",
    VerifyCode.CERT_NOT_YET_VALID: "The certificate is not valid yet.",
    VerifyCode.DEPTH_ZERO_SELF_SIGNED_CERT: "The certificate is self-signed (like the blog's): "
    "the connection is encrypted, but nobody vouches for who holds the key, while clients "
    "here trust what the lab CA issued.",
    VerifyCode.SELF_SIGNED_CERT_IN_CHAIN: "The chain ends in a CA this client does not trust "
    "(its CA file lacks the lab CA).",
    VerifyCode.UNABLE_TO_GET_ISSUER_CERT_LOCALLY: "The issuer is unknown: the certificate is "
    "not from the lab CA, or the chain is incomplete.",
    VerifyCode.UNABLE_TO_VERIFY_LEAF_SIGNATURE: "The leaf cannot be verified: the chain the "
    "server sends is incomplete.",
    VerifyCode.HOSTNAME_MISMATCH: "The certificate does not name the host you connected to "
    "(see its subjectAltName).",
}

_CERT_FIX: dict[int, str] = {
    VerifyCode.CERT_HAS_EXPIRED: "Renew it (in the lab: `lab-certbot {host}`) and "
    "`postfix reload`.",
    VerifyCode.CERT_NOT_YET_VALID: "Check the server's clock.",
    VerifyCode.DEPTH_ZERO_SELF_SIGNED_CERT: "Mail.app and other clients warn or refuse. Use a "
    "certificate from a CA the clients trust (in the lab: `lab-certbot {host}`), set "
    "smtpd_tls_cert_file and smtpd_tls_key_file to it, then `postfix reload`.",
    VerifyCode.SELF_SIGNED_CERT_IN_CHAIN: "Use a CA the clients trust, or install that CA on "
    "the clients (the lab CA: --cafile).",
    VerifyCode.UNABLE_TO_GET_ISSUER_CERT_LOCALLY: "Put leaf + chain in smtpd_tls_cert_file, or "
    "use a certificate from a CA the clients trust.",
    VerifyCode.UNABLE_TO_VERIFY_LEAF_SIGNATURE: "Append the intermediate(s) to "
    "smtpd_tls_cert_file.",
    VerifyCode.HOSTNAME_MISMATCH: "Issue one whose subjectAltName includes {host} "
    "(`lab-certbot {host}`), or connect with a name it lists.",
}


def judge_certificate(session: TlsSession | None, host: str, reason: str = "") -> Verdict:
    """Does the server's certificate verify for ``host`` against the client's trust store?

    ``session`` is the TLS session a probe got (None: no TLS, so nothing to judge)."""
    fact = "certificate verifies"
    if session is None:
        return Verdict(fact, None, f"No certificate to verify: {reason or 'no TLS session'}.")
    verification = session.verification
    if verification is None:
        return Verdict(fact, None, "The certificate was not checked.")
    leaf = session.leaf
    evidence = f"Verify return code: {verification}"
    if verification.ok:
        who = f" for {', '.join(leaf.names())}" if leaf is not None and leaf.names() else ""
        return Verdict(fact, True, f"Verify return code: 0 (ok){who}.", "", evidence)
    meaning = CERT_MEANING.get(verification.code, "Use a certificate issued by the lab CA.")
    fix = _CERT_FIX.get(verification.code, f"OpenSSL says: {verification.message}.")
    return Verdict(
        fact,
        False,
        f"Verify return code: {verification}. {meaning}",
        fix.format(host=host),
        evidence,
    )


# --- reverse DNS ------------------------------------------------------------------------


def judge_reverse_dns(
    reverse: ReverseDns | None, mail_host: str, ehlo_name: str | None = None
) -> tuple[Verdict, ...]:
    """Reverse DNS for the mail server's address, one verdict per fact: the PTR exists,
    names the mail host, is forward-confirmed and (when ``ehlo_name`` is known) matches
    the name the server gives in EHLO. Later facts are left out when there is no PTR."""
    if reverse is None:
        return (
            Verdict(
                "PTR exists",
                False,
                f"{mail_host} has no address, so there is nothing to look up a PTR for.",
                f"Give {mail_host} an A record first.",
            ),
        )
    evidence = reverse.ptr.evidence()
    if not reverse.ptr.ok:
        return (
            Verdict(
                "PTR exists",
                False,
                f"{reverse.address} has no PTR record ({reverse.ptr.outcome.value}). In the lab "
                "you own the reverse zone; on a VPS the provider sets it.",
                f"Add a PTR for {reverse.address} naming {mail_host} in the reverse zone.",
                evidence,
            ),
        )
    names = ", ".join(n.rstrip(".") for n in reverse.names)
    verdicts = [Verdict("PTR exists", True, f"{reverse.address} -> {names}.", "", evidence)]
    named = ptr_names_match(reverse, mail_host)
    verdicts.append(
        Verdict(
            "PTR names the mail host",
            named,
            f"The PTR names {mail_host}." if named else f"The PTR names {names}, not {mail_host}.",
            "" if named else f"Point the PTR of {reverse.address} at {mail_host}.",
            evidence,
        )
    )
    confirmed = ", ".join(reverse.confirmed_names)
    verdicts.append(
        Verdict(
            "forward-confirmed",
            reverse.confirmed,
            f"{confirmed} resolves back to {reverse.address}."
            if reverse.confirmed
            else f"No PTR name resolves back to {reverse.address}.",
            ""
            if reverse.confirmed
            else "Give the PTR name an A record pointing back at the address.",
            "\n".join([evidence] + [f.evidence() for f in reverse.forward]),
        )
    )
    if ehlo_name is not None:
        greets = ehlo_name.rstrip(".")
        match = ptr_names_match(reverse, greets)
        verdicts.append(
            Verdict(
                "EHLO name matches the PTR",
                match,
                f"The server calls itself {greets}, as the PTR does."
                if match
                else f"The server calls itself `{greets}` (Postfix `myhostname`) but the PTR "
                f"says {names}: receivers compare them.",
                "" if match else f"Make PTR and `myhostname` agree on one name, e.g. {mail_host}.",
                evidence,
            )
        )
    return tuple(verdicts)
