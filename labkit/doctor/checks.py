"""Layer two of the doctor: checks, each a pure function ``Observations -> findings``.

Checks register themselves with :func:`check`; :func:`diagnose` runs them in the
order they were registered. Because they only read an :class:`Observations`, every
diagnosis can be unit-tested by building the observations by hand.

Where an expert would, a check connects an outside symptom with an inside cause:

* 587 refused from outside + no ``submission`` in ``postconf -M``
  -> enable submission in /etc/postfix/master.cf;
* no STARTTLS + ``cannot get RSA certificate from file X`` in mail.log
  -> the certificate file is missing: smtpd_tls_cert_file = X;
* STARTTLS offered by the server itself but absent (or ``XXXXXXXA``) from outside
  -> something on the path strips it (SMTP inspection);
* a self-signed certificate -> OpenSSL verify error 18, and why clients balk.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from labkit.doctor._model import CheckName, Finding, Observations, Status
from labkit.probes.dns import DnsIssue, DnsRule, diagnose_mail_dns
from labkit.probes.server import LogEvent, LogEventKind, ServerInspection
from labkit.probes.smtp import AnomalyKind, Phase, SmtpFailure, SmtpResult
from labkit.probes.tcp import PortResult, PortState
from labkit.probes.tls import TlsPhase, TlsResult
from labkit.verdicts import (
    CERT_MEANING,
    judge_auth_available,
    judge_auth_protected,
    judge_certificate,
    judge_relay,
    judge_submission,
)

__all__ = ["Check", "check", "diagnose", "registered_checks"]

CheckFunction = Callable[[Observations], Iterable[Finding]]

NB_SMTP = "notebooks/01-talking-smtp.ipynb"
NB_REFUSED = "notebooks/02-connection-refused.ipynb"
NB_TLS = "notebooks/03-starttls-and-certificates.ipynb"
NB_AUTH = "notebooks/04-auth-and-relay.ipynb"
NB_DNS = "notebooks/05-dns-for-mail.ipynb"
NB_PATH = "notebooks/07-the-path.ipynb"


@dataclass(frozen=True)
class Check:
    name: str
    title: str
    function: CheckFunction


_REGISTRY: dict[str, Check] = {}


def check(name: str, *, title: str) -> Callable[[CheckFunction], CheckFunction]:
    """Register a check under ``name`` (unique); the function is returned unchanged."""

    def register(function: CheckFunction) -> CheckFunction:
        if name in _REGISTRY:
            raise ValueError(f"a doctor check named {name!r} is already registered")
        _REGISTRY[name] = Check(name, title, function)
        return function

    return register


def registered_checks() -> tuple[Check, ...]:
    return tuple(_REGISTRY.values())


def diagnose(
    observations: Observations, checks: Iterable[Check] | None = None
) -> tuple[Finding, ...]:
    """Run the checks over the observations. A check that crashes yields a ``warn``
    finding naming the crash instead of hiding the other checks' results."""
    findings: list[Finding] = []
    for item in registered_checks() if checks is None else checks:
        try:
            findings.extend(item.function(observations))
        except Exception as exc:  # a bug in one check must not hide the others
            findings.append(
                Finding(
                    check=item.name,
                    target=observations.target.mail_host,
                    status=Status.WARN,
                    title=f"The {item.name!r} check crashed: {exc!r}",
                    hint="This is a labkit bug; please report it.",
                )
            )
    return tuple(findings)


# --------------------------------------------------------------------------- helpers


def _log_evidence(events: Iterable[LogEvent], limit: int = 3) -> str:
    lines = [e.line for e in events]
    return "\n".join(lines[-limit:])


def _events(server: ServerInspection | None, *kinds: LogEventKind) -> tuple[LogEvent, ...]:
    return server.events(*kinds) if server is not None else ()


def _reached(result: SmtpResult | None, phase: Phase) -> bool:
    """Did a dialog get past ``phase`` (i.e. stop somewhere later)?"""
    if result is None:
        return False
    order = list(Phase)
    return order.index(result.stopped_at) > order.index(phase)


def _starttls_inside(server: ServerInspection | None) -> str:
    """Evidence that the server offers STARTTLS to itself (``telnet localhost 25``), or ""."""
    inside = server.local_smtp if server else None
    if inside is None or not inside.offers("STARTTLS"):
        return ""
    return "\nfrom the server itself:\n" + inside.transcript.excerpt("STARTTLS")


def _inside_note(server: ServerInspection | None) -> str:
    return (
        ""
        if server is not None
        else " (The inside of the server was not examined; with SSH or docker access the "
        "doctor could tell which.)"
    )


# --------------------------------------------------------------------------- ports

_SERVICE_RFC = {"submission": "RFC 6409", "smtps": "RFC 8314", "smtp": "RFC 5321"}


def _port_finding(obs: Observations, port: int, result: PortResult) -> Finding:
    target = obs.target
    role = target.role(port)
    server = obs.server
    name, rfc = role, _SERVICE_RFC.get(role, "RFC 5321")
    where = target.where(port)
    learn = f"{NB_REFUSED}; {rfc}"
    if result.ok:
        return Finding(
            check=CheckName.PORTS,
            target=where,
            status=Status.OK,
            title=f"Port {port} ({role}) accepts connections",
            evidence=result.summary(),
            learn_more=learn,
        )
    evidence = result.summary()
    service = server.service_for_port(port) if server and server.services is not None else None
    listening = server.is_listening(port) if server else None
    if server is not None and server.services is not None:
        evidence += (
            "\npostconf -M: " + service.line()
            if service
            else f"\npostconf -M: no {name}/inet service"
        )
    if listening is not None:
        evidence += f"\nss -ltn on the server: {'listening' if listening else 'nothing'} on {port}"
    if result.state is PortState.REFUSED:
        title = f"Port {port} ({role}) is refused: no program listens there"
        if server is not None and server.services is not None and service is None:
            hint = (
                f"Enable the {name} service in /etc/postfix/master.cf (Debian ships it "
                f"commented out: uncomment the `{name} inet n - y - - smtpd` line and its "
                "-o options), then run `postfix reload`."
            )
        elif service is not None and listening is False:
            hint = (
                f"master.cf has {name}, but nothing listens on {port}: run "
                "`postfix reload` (and look for `fatal: bind` in mail.log)."
            )
        elif listening:
            hint = (
                f"Postfix listens on {port} on the server, yet connections are refused "
                "from here: a firewall REJECT rule, or this name leads to another host."
            )
        else:
            hint = (
                f"Check that {name} is enabled in /etc/postfix/master.cf "
                f"(`postconf -M {name}/inet`) and that `postfix reload` ran." + _inside_note(server)
            )
        return Finding(
            check=CheckName.PORTS,
            target=where,
            status=Status.FAIL,
            title=title,
            evidence=evidence,
            hint=hint,
            learn_more=learn,
        )
    if result.state is PortState.TIMEOUT:
        hint = (
            "Packets are dropped: a firewall DROP rule (ufw, iptables, the provider's "
            "firewall) or a wrong address. A closed port would have been refused at once."
        )
        if listening:
            hint = (
                f"Postfix listens on {port}, but packets from here never arrive: a "
                "firewall on the path DROPs them (check `ufw status` and the provider)."
            )
        return Finding(
            check=CheckName.PORTS,
            target=where,
            status=Status.FAIL,
            title=f"Port {port} ({role}) times out",
            evidence=evidence,
            hint=hint,
            learn_more=learn,
        )
    if result.state is PortState.NAME_ERROR:
        return Finding(
            check=CheckName.PORTS,
            target=where,
            status=Status.FAIL,
            title=f"{target.host} does not resolve",
            evidence=evidence,
            hint=f"Add an A record for {target.host} (`labkit probe dns {target.host}`).",
            learn_more=f"{NB_DNS}; RFC 1035",
        )
    return Finding(
        check=CheckName.PORTS,
        target=where,
        status=Status.FAIL,
        title=f"Port {port} ({role}): {result.state.value}",
        evidence=evidence,
        hint=result.explanation,
        learn_more=learn,
    )


@check(CheckName.PORTS, title="Can the mail ports be reached?")
def check_ports(obs: Observations) -> Iterator[Finding]:
    for port in obs.target.ports:
        result = obs.ports.get(port)
        if result is not None:
            yield _port_finding(obs, port, result)


@check(CheckName.SUBMISSION, title="Can a mail client submit on 587 and 465?")
def check_submission(obs: Observations) -> Iterator[Finding]:
    """Judged by :func:`labkit.verdicts.judge_submission`, as the live task is: an open
    port is not enough (587 must offer STARTTLS and no AUTH in clear; 465 must speak
    TLS). A port that does not accept connections is the ports check's finding."""
    target = obs.target
    for port, session in (
        (target.submission_port, obs.submission),
        (target.smtps_port, obs.smtps),
    ):
        connection = obs.ports.get(port)
        if connection is None or not connection.ok or session is None:
            continue
        verdict = judge_submission(connection, session)
        yield Finding(
            check=CheckName.SUBMISSION,
            target=target.where(port),
            status=_VERDICT_STATUS[verdict.holds],
            title=verdict.seen.rstrip("."),
            evidence=verdict.evidence,
            hint=verdict.advice,
            learn_more=f"{NB_REFUSED}; RFC 6409, RFC 8314",
        )


# --------------------------------------------------------------------------- banner / EHLO


def _banner_name(result: SmtpResult | None) -> str | None:
    """The name the server calls itself (EHLO greeting, else banner), unless masked."""
    if result is None or result.middlebox_suspected:
        return None
    if result.ehlo_name:
        return result.ehlo_name
    if result.banner is not None and result.banner.lines:
        words = result.banner.lines[0].split()
        return words[0] if words else None
    return None


def _greeting_evidence(smtp: SmtpResult) -> str:
    """The banner and the first EHLO (or HELO) reply, as they appeared on the wire."""
    lines = list(smtp.banner.wire_lines()) if smtp.banner else []
    hello = next((e for e in smtp.exchanges if e.phase is Phase.EHLO and e.reply.positive), None)
    if hello is not None:
        lines += [f"> {hello.command}", *hello.reply.wire_lines()]
    return "\n".join(lines)


@check(CheckName.GREETING, title="Does the server greet like an SMTP server?")
def check_greeting(obs: Observations) -> Iterator[Finding]:
    smtp = obs.smtp
    if smtp is None or smtp.stopped_at is Phase.CONNECT:
        return
    where = obs.target.where(obs.target.smtp_port)
    if smtp.banner is None or (
        smtp.stopped_at in (Phase.BANNER, Phase.EHLO) and smtp.failure is not SmtpFailure.REJECTED
    ):
        yield Finding(
            check=CheckName.GREETING,
            target=where,
            status=Status.FAIL,
            title=f"No usable SMTP dialog: {smtp.failure.value if smtp.failure else '?'} at "
            f"{smtp.stopped_at.value}",
            evidence=smtp.transcript.excerpt(""),
            hint=smtp.reason,
            learn_more=f"{NB_SMTP}; RFC 5321 §4.2",
        )
        return
    if smtp.stopped_at is Phase.BANNER:
        yield Finding(
            check=CheckName.GREETING,
            target=where,
            status=Status.FAIL,
            title="The server refuses service in its banner",
            evidence=str(smtp.banner),
            hint=smtp.reason,
            learn_more=f"{NB_SMTP}; RFC 5321 §3.1",
        )
        return
    name = _banner_name(smtp)
    evidence = _greeting_evidence(smtp)
    if smtp.middlebox_suspected:
        return  # the middlebox check explains the masked text
    if name and name.lower() != obs.target.mail_host.lower():
        yield Finding(
            check=CheckName.GREETING,
            target=where,
            status=Status.WARN,
            title=f"The server calls itself {name!r}, not {obs.target.mail_host}",
            evidence=evidence,
            hint=f"Set `myhostname = {obs.target.mail_host}` in /etc/postfix/main.cf (then "
            "`postfix reload`), so that banner, EHLO, PTR and certificate name agree.",
            learn_more=f"{NB_SMTP}; RFC 5321 §4.1.1.1",
        )
        return
    yield Finding(
        check=CheckName.GREETING,
        target=where,
        status=Status.OK,
        title=f"Banner and EHLO from {name}",
        evidence=evidence,
        learn_more=f"{NB_SMTP}; RFC 5321 §4.1.1.1",
    )


@check(CheckName.MIDDLEBOX, title="Is something on the path rewriting SMTP?")
def check_middlebox(obs: Observations) -> Iterator[Finding]:
    smtp = obs.smtp
    if smtp is None or not smtp.anomalies:
        return
    where = obs.target.where(obs.target.smtp_port)
    masked = [a for a in smtp.anomalies if a.kind.value.startswith("masked")]
    if masked:
        evidence = "\n".join(a.evidence for a in masked) + _starttls_inside(obs.server)
        yield Finding(
            check=CheckName.MIDDLEBOX,
            target=where,
            status=Status.FAIL,
            title="An SMTP-inspection middlebox masks the dialog (220 ****, XXXXXXXA)",
            evidence=evidence,
            hint="Something between here and the server rewrites SMTP: typically a Cisco ASA "
            "with `inspect esmtp` / `fixup smtp`, which blanks STARTTLS out. Turn that "
            "inspection off (`no fixup smtp 25`, or remove esmtp from the policy-map), or "
            "test from another network. The server is not at fault.",
            learn_more=f"{NB_SMTP}; RFC 3207 §4",
        )
    for anomaly in smtp.anomalies:
        if not anomaly.kind.value.startswith("masked"):
            yield Finding(
                check=CheckName.MIDDLEBOX,
                target=where,
                status=Status.WARN,
                title=anomaly.explanation,
                evidence=anomaly.evidence,
                learn_more=f"{NB_SMTP}; RFC 5321 §2.3.8",
            )


@check(CheckName.PATH, title="Does the network path pass mail unchanged?")
def check_path(obs: Observations) -> Iterator[Finding]:
    """Blame the path only with the server's own word against it: a masked dialog
    while the server offers STARTTLS to itself, or a port that fails from here while
    it listens on the server. A server-side fault (nothing listens) is never the
    path's."""
    net = obs.network
    path = f"the {net} path" if net else "the network path"
    other = {"cafe": "hotspot", "hotspot": "cafe"}.get(net or "")
    compare = (
        f" Compare from the other network: `labkit net use {other}`, then run the doctor again."
        if other
        else " Compare from another network (a phone's hotspot)."
    )
    server = obs.server
    smtp = obs.smtp
    inside = server.local_smtp if server else None
    if smtp is not None and smtp.middlebox_suspected and inside is not None:
        yield Finding(
            check=CheckName.PATH,
            target=obs.target.where(obs.target.smtp_port),
            status=Status.FAIL,
            title=f"Something on {path} rewrites SMTP: banner masked, STARTTLS replaced by "
            "XXXXXXXA; the server itself offers STARTTLS"
            if inside.offers("STARTTLS")
            else f"Something on {path} rewrites SMTP (banner or EHLO masked)",
            evidence="from here:\n"
            + _greeting_evidence(smtp)
            + "\nfrom the server itself:\n"
            + inside.transcript.excerpt("STARTTLS"),
            hint="An SMTP-inspecting firewall (Cisco ASA `inspect esmtp`) sits between this "
            "laptop and the server; the server is fine." + compare + " Submission with "
            "implicit TLS on 465 is encrypted from the first byte, so no box can read it.",
            learn_more=f"{NB_PATH}; RFC 3207, RFC 8314",
        )
    for port in obs.target.ports:
        result = obs.ports.get(port)
        if result is None or result.ok or server is None or not server.is_listening(port):
            continue
        how = {
            PortState.TIMEOUT: "filtered (timeout: a firewall DROPs it)",
            PortState.UNREACHABLE: "rejected (ICMP unreachable from a firewall)",
            PortState.REFUSED: "refused (a firewall's TCP reset)",
            PortState.RESET: "reset by something on the way",
        }.get(result.state)
        if how is None:
            continue
        yield Finding(
            check=CheckName.PATH,
            target=obs.target.where(port),
            status=Status.FAIL,
            title=f"Port {port} is {how} on {path}, yet listening on the server",
            evidence=f"{result.summary()}\nss -ltn on the server: listening on {port}",
            hint="The server is not at fault: a firewall on the way stops this port (a "
            "provider blocking outgoing 25, a hoster's firewall). `traceroute -T -p "
            f"{port} {obs.target.mail_host}` shows the last hop that answers." + compare,
            learn_more=f"{NB_PATH}; RFC 6409, RFC 8314",
        )


# --------------------------------------------------------------------------- STARTTLS


def _cert_trouble(server: ServerInspection | None) -> tuple[LogEvent, ...]:
    """mail.log's complaints about the certificate (TLS disabled for want of it)."""
    return _events(server, LogEventKind.TLS_CERT_MISSING, LogEventKind.TLS_LIBRARY_PROBLEM)


def _cert_files_evidence(server: ServerInspection | None, events: tuple[LogEvent, ...]) -> str:
    """The files main.cf names that Postfix cannot read, then mail.log's lines about them.
    The files are checked directly: Postfix logs only when an smtpd process starts, which
    may be after the log was read."""
    unusable = server.unusable_tls_files() if server is not None else ()
    lines = [f"on the server: {f.line()}" for f in unusable]
    if events:
        lines.append(_log_evidence(events))
    return "\n".join(lines)


def _cert_hint(obs: Observations, events: tuple[LogEvent, ...]) -> str:
    unusable = obs.server.unusable_tls_files() if obs.server else ()
    path = next((e.subject for e in events if e.subject), None) or next(
        (f.path for f in unusable), None
    )
    cert = obs.server.param("smtpd_tls_cert_file") if obs.server else None
    key = obs.server.param("smtpd_tls_key_file") if obs.server else None
    files = f"smtpd_tls_cert_file = {cert or path or '?'}"
    if key:
        files += f", smtpd_tls_key_file = {key}"
    return (
        f"The certificate file is missing or unreadable: {files}. Create it (in the lab: "
        f"`lab-certbot {obs.target.mail_host}` on the server) or point main.cf at a real "
        "one, then `postfix reload`."
    )


@check(CheckName.STARTTLS, title="Does port 25 offer working STARTTLS?")
def check_starttls(obs: Observations) -> Iterator[Finding]:
    plain, session = obs.smtp, obs.starttls
    target = obs.target
    where = target.where(target.smtp_port)
    learn = f"{NB_TLS}; RFC 3207"
    if plain is None or not _reached(plain, Phase.EHLO):
        return  # no EHLO reply to look at: the ports and greeting checks say why
    server = obs.server
    cert_events = _cert_trouble(server)
    cert_files = _cert_files_evidence(server, cert_events)
    if session is not None and session.tls is not None:
        yield Finding(
            check=CheckName.STARTTLS,
            target=where,
            status=Status.OK,
            title=f"STARTTLS works ({session.tls.version}, {session.tls.cipher})",
            evidence=session.transcript.excerpt("STARTTLS", "TLS "),
            learn_more=learn,
        )
        return
    offered = plain.offers("STARTTLS", after_tls=False)
    if not offered:
        evidence = plain.transcript.excerpt("250")
        seen_inside = _starttls_inside(server)
        blanked = any(a.kind is AnomalyKind.MASKED_EXTENSION for a in plain.anomalies)
        if blanked or seen_inside:
            yield Finding(
                check=CheckName.STARTTLS,
                target=where,
                status=Status.FAIL,
                title="STARTTLS is offered by the server but not seen from here",
                evidence=evidence + seen_inside,
                hint="Something on the path strips STARTTLS (SMTP inspection on a firewall). "
                "Without it, clients never see AUTH (smtpd_tls_auth_only = yes).",
                learn_more=learn,
            )
            return
        if cert_files:
            yield Finding(
                check=CheckName.STARTTLS,
                target=where,
                status=Status.FAIL,
                title="No STARTTLS: Postfix disabled TLS because it has no certificate",
                evidence=evidence + "\n" + cert_files,
                hint=_cert_hint(obs, cert_events),
                learn_more=learn,
            )
            return
        level = server.param("smtpd_tls_security_level") if server else None
        if server is not None and server.postconf is not None and level in (None, "none"):
            hint = (
                "Set `smtpd_tls_security_level = may` and smtpd_tls_cert_file / "
                "smtpd_tls_key_file in /etc/postfix/main.cf, then `postfix reload`."
            )
        else:
            hint = (
                "Postfix offers STARTTLS with smtpd_tls_security_level = may and a "
                "readable certificate and key; look at mail.log for TLS warnings."
                + _inside_note(server)
            )
        yield Finding(
            check=CheckName.STARTTLS,
            target=where,
            status=Status.FAIL,
            title="The server does not offer STARTTLS",
            evidence=evidence,
            hint=hint,
            learn_more=learn,
        )
        return
    if session is None:
        return
    if session.stopped_at in (Phase.STARTTLS, Phase.TLS_HANDSHAKE) and session.failure in (
        SmtpFailure.TIMEOUT,
        SmtpFailure.CLOSED,
        SmtpFailure.RESET,
    ):
        # No answer is not a refusal: do not blame the TLS setup for a slow server.
        yield Finding(
            check=CheckName.STARTTLS,
            target=where,
            status=Status.WARN,
            title=f"STARTTLS got no answer ({session.failure.value})",
            evidence=session.transcript.excerpt("STARTTLS", context=0),
            hint=f"{session.reason} A busy or just-restarted server can be slow: run the "
            "doctor again, or give it more time with --timeout.",
            learn_more=learn,
        )
        return
    if session.stopped_at is Phase.STARTTLS:
        evidence = session.transcript.excerpt("STARTTLS", context=0)
        hint = (
            _cert_hint(obs, cert_events)
            if cert_files
            else "The server lists STARTTLS but refuses it: usually a TLS setup problem on the "
            "server; mail.log says which." + _inside_note(server)
        )
        if cert_files:
            evidence += "\n" + cert_files
        refusal = session.reply_to("STARTTLS")
        said = (
            f" ({refusal.code} {refusal.enhanced or ''} {refusal.message})".replace("  ", " ")
            if refusal is not None
            else ""
        )
        yield Finding(
            check=CheckName.STARTTLS,
            target=where,
            status=Status.FAIL,
            title=f"STARTTLS is listed but refused{said}",
            evidence=evidence,
            hint=hint,
            learn_more=learn,
        )
        return
    if session.stopped_at is Phase.TLS_HANDSHAKE:
        yield Finding(
            check=CheckName.STARTTLS,
            target=where,
            status=Status.FAIL,
            title="The TLS handshake after STARTTLS failed",
            evidence=session.transcript.excerpt("STARTTLS", "TLS"),
            hint=session.reason,
            learn_more=learn,
        )


# --------------------------------------------------------------------------- certificates


def _expiry_warning(result: TlsResult) -> str | None:
    leaf = result.session.leaf if result.session else None
    if leaf is None or leaf.not_after is None:
        return None
    days = (leaf.not_after - datetime.now(UTC)).days
    return f"expires in {days} days ({leaf.not_after:%Y-%m-%d})" if 0 <= days < 14 else None


def _cert_evidence(result: TlsResult) -> str:
    leaf = result.session.leaf if result.session else None
    lines = [f"Verify return code: {result.verification}"] if result.verification else []
    if leaf is not None:
        lines += [
            f"subject={leaf.subject}",
            f"issuer={leaf.issuer}",
            f"names: {', '.join(leaf.names()) or '-'}",
            f"valid {leaf.valid_from()} .. {leaf.valid_until()}",
            f"SHA-256 {leaf.sha256}",
        ]
        if leaf.problem:
            lines.append(f"malformed: {leaf.problem}")
    return "\n".join(lines)


@check(CheckName.CERTIFICATE, title="Do the TLS certificates verify?")
def check_certificates(obs: Observations) -> Iterator[Finding]:
    target = obs.target
    for port, result in sorted(obs.tls.items()):
        where = target.where(port)
        role = target.role(port)
        learn = f"{NB_TLS}; RFC 6125, RFC 8314"
        if result.stopped_at in (TlsPhase.CONNECT, TlsPhase.STARTTLS):
            continue  # reported by the ports and starttls checks
        if result.session is None:
            error = result.handshake_error or "handshake failed"
            yield Finding(
                check=CheckName.CERTIFICATE,
                target=where,
                status=Status.FAIL,
                title=f"No TLS on {port} ({role}): {error}",
                evidence=result.transcript.excerpt("handshake", "TLS"),
                hint=result.reason,
                learn_more=learn,
            )
            continue
        verification = result.verification
        verdict = judge_certificate(result.session, target.mail_host, result.reason)
        if verification is None or not verdict.judged:
            continue
        if verdict.holds:
            soon = _expiry_warning(result)
            status = Status.WARN if soon else Status.OK
            title = (
                f"Certificate on {port} verifies"
                + (f" but {soon}" if soon else "")
                + f" (issuer {result.session.leaf.issuer if result.session.leaf else '?'})"
            )
            yield Finding(
                check=CheckName.CERTIFICATE,
                target=where,
                status=status,
                title=title,
                evidence=_cert_evidence(result),
                hint="Renew it before it expires." if soon else "",
                learn_more=learn,
            )
            continue
        code = verification.code
        # On 25 other MTAs use opportunistic TLS and would accept it, but Postfix serves
        # the same smtpd_tls_cert_file on 587 and 465, where mail clients verify and
        # refuse: an unverifiable certificate is a fault wherever it shows.
        hint = f"{CERT_MEANING.get(code, '')} {verdict.advice}".strip()
        if role == "smtp":
            hint += (
                " (Servers delivering to port 25 may accept it; mail clients on 587/465,"
                " which use the same smtpd_tls_cert_file, will not.)"
            )
        yield Finding(
            check=CheckName.CERTIFICATE,
            target=where,
            status=Status.FAIL,
            title=f"Certificate on {port} ({role}) does not verify: error {code} "
            f"({verification.message})",
            evidence=_cert_evidence(result),
            hint=hint,
            learn_more=learn,
        )


# --------------------------------------------------------------------------- AUTH


@check(CheckName.AUTH, title="Is AUTH offered only inside TLS, and does it work?")
def check_auth(obs: Observations) -> Iterator[Finding]:
    """AUTH only inside TLS, and a working login somewhere after TLS.

    Both judgements are :mod:`labkit.verdicts`' (the live tasks use the same): AUTH
    offered on 587/465 only, and none on 25, is a sound policy, not a fault.
    """
    target = obs.target
    learn = f"{NB_AUTH}; RFC 4954 §4, RFC 8314"
    plain = obs.smtp if obs.smtp is not None and _reached(obs.smtp, Phase.EHLO) else None
    protected = judge_auth_protected([plain, obs.submission, obs.starttls])
    if protected.holds is False:
        yield Finding(
            check=CheckName.AUTH,
            target=target.where(target.smtp_port),
            status=Status.WARN,
            title="AUTH is offered before TLS: passwords could cross the network in clear",
            evidence=protected.evidence,
            hint=protected.advice,
            learn_more=learn,
        )
    sessions = [
        (obs.submission, target.submission_port),
        (obs.smtps, target.smtps_port),
        (obs.starttls, target.smtp_port),
    ]
    available = judge_auth_available(s for s, _ in sessions)
    if available.holds is None:
        yield Finding(
            check=CheckName.AUTH,
            target=target.mail_host,
            status=Status.INFO,
            title="AUTH after TLS could not be checked: no encrypted session succeeded",
            hint=available.advice,
            learn_more=learn,
        )
        return
    sasl_events = _events(obs.server, LogEventKind.SASL_MISCONFIGURED)
    per_port = [(s, p, judge_auth_available([s])) for s, p in sessions if s is not None]
    offering = [(s, p, v) for s, p, v in per_port if v.holds is not None and s.auth_mechanisms()]
    if not offering:
        session, port, _ = next((x for x in per_port if x[2].holds is not None), per_port[0])
        hint = available.advice
        if sasl_events:
            hint = (
                "Postfix cannot reach Dovecot's auth socket (see the log): check "
                "smtpd_sasl_path and the `unix_listener /var/spool/postfix/private/auth` "
                "in Dovecot's 10-master.conf."
            )
        yield Finding(
            check=CheckName.AUTH,
            target=target.where(port),
            status=Status.FAIL,
            title="AUTH is not offered even after TLS, so nobody can log in to send",
            evidence=session.transcript.excerpt("250", "EHLO")
            + ("\n" + _log_evidence(sasl_events) if sasl_events else ""),
            hint=hint,
            learn_more=learn,
        )
        return
    for session, port, verdict in offering:
        where = target.where(port)
        if verdict.holds is False:
            failed = _events(obs.server, LogEventKind.SASL_AUTH_FAILED)
            yield Finding(
                check=CheckName.AUTH,
                target=where,
                status=Status.FAIL,
                title=f"AUTH is offered but {target.user} was refused: {session.reason}",
                evidence=session.transcript.excerpt("AUTH", "535")
                + ("\n" + _log_evidence(failed) if failed else ""),
                hint=verdict.advice,
                learn_more=learn,
            )
        elif session.authenticated:
            yield Finding(
                check=CheckName.AUTH,
                target=where,
                status=Status.OK,
                title=f"AUTH works after TLS ({' '.join(session.auth_mechanisms())}); "
                f"{target.user} logged in",
                evidence=session.transcript.excerpt("AUTH", "235"),
                learn_more=learn,
            )
        else:
            yield Finding(
                check=CheckName.AUTH,
                target=where,
                status=Status.OK,
                title=f"AUTH is offered after TLS ({' '.join(session.auth_mechanisms())})",
                evidence=session.transcript.excerpt("AUTH"),
                hint="" if target.password else "Give the test password to try a login.",
                learn_more=learn,
            )


# --------------------------------------------------------------------------- relay

_VERDICT_STATUS = {True: Status.OK, False: Status.FAIL, None: Status.INFO}


@check(CheckName.RELAY, title="Does the server refuse to relay for strangers?")
def check_relay(obs: Observations) -> Iterator[Finding]:
    """Judged by :func:`labkit.verdicts.judge_relay`, as the live task is."""
    smtp = obs.smtp
    if smtp is None or (smtp.reply_to("MAIL") is None and smtp.reply_to("RCPT") is None):
        return
    verdict = judge_relay(smtp)
    where = obs.target.where(obs.target.smtp_port)
    learn = f"{NB_AUTH}; RFC 5321 §3.9, RFC 5068"
    hint = verdict.advice
    if verdict.holds is False:
        title = f"Open relay: the server accepts mail from outside to {obs.target.outside_domain}"
        networks = obs.server.param("mynetworks") if obs.server else None
        if networks:
            hint += f" Now mynetworks is `{networks}`: it must list only your own hosts."
    elif verdict.holds:
        title = verdict.seen.rstrip(".")
    else:
        title = "The relay test could not decide: " + verdict.seen.rstrip(".")
    yield Finding(
        check=CheckName.RELAY,
        target=where,
        status=_VERDICT_STATUS[verdict.holds],
        title=title,
        evidence=verdict.evidence or smtp.transcript.excerpt("MAIL", "RCPT"),
        hint=hint,
        learn_more=learn,
    )


# --------------------------------------------------------------------------- DNS

_DNS_STATUS = {"fail": Status.FAIL, "warn": Status.WARN, "info": Status.INFO}


def _dns_hint(issue: DnsIssue, obs: Observations) -> str:
    t = obs.target
    report = obs.dns
    address = report.mail_addresses[0] if report and report.mail_addresses else "ADDRESS"
    alias = issue.subject.split(".", 1)[0]
    hints = {
        DnsRule.MX_IS_CNAME: (
            f"In the {t.domain} zone, replace `{alias} CNAME ...` with `{alias} A {address}` "
            "(or point the MX straight at the canonical name)."
        ),
        DnsRule.MX_UNRESOLVABLE: f"Add an A record for {issue.subject} to its zone.",
        DnsRule.MX_IS_ADDRESS: f"Use a host name: `@ MX 10 {t.mail_host}.` plus its A record.",
        DnsRule.NO_MX: f"Add `@ MX 10 {t.mail_host}.` to the {t.domain} zone.",
        DnsRule.DOMAIN_MISSING: f"Check that the nameserver serves the {t.domain} zone.",
        DnsRule.DNS_FAILURE: "Check the nameserver (is it up, does it serve this zone?).",
        DnsRule.MX_UNEXPECTED: f"Point the MX at {t.mail_host}.",
        DnsRule.PTR_MISSING: (
            f"Add a PTR for {issue.subject} naming {t.mail_host} in the reverse zone (for a "
            "VPS, the provider's control panel sets it)."
        ),
        DnsRule.PTR_MISMATCH: (
            f"Make PTR, myhostname (banner/EHLO) and the certificate agree on one name, "
            f"e.g. PTR -> {t.mail_host} and `myhostname = {t.mail_host}`."
        ),
        DnsRule.FCRDNS_FAILED: "Give the PTR name an A record pointing back at the address.",
        DnsRule.NO_SPF: f'Publish `@ TXT "v=spf1 mx -all"` in the {t.domain} zone.',
        DnsRule.MULTIPLE_SPF: "Merge the SPF policies into a single v=spf1 record.",
        DnsRule.APEX_DIFFERS: "",
        DnsRule.NULL_MX: "",
    }
    return hints.get(issue.rule, "")


@check(CheckName.DNS, title="Is DNS right for mail?")
def check_dns(obs: Observations) -> Iterator[Finding]:
    report = obs.dns
    if report is None:
        return
    learn = f"{NB_DNS}"
    # Judge again with the name the server gave (gathered in parallel with the DNS).
    issues = diagnose_mail_dns(
        report.domain,
        report.mx,
        report.mx_hosts,
        report.apex,
        report.txt,
        report.reverse,
        expect_host=report.expect_host,
        banner_name=report.banner_name or _banner_name(obs.smtp),
    )
    for issue in issues:
        yield Finding(
            check=CheckName.DNS,
            target=issue.subject,
            status=_DNS_STATUS[issue.severity],
            title=issue.title,
            evidence=issue.evidence,
            hint=_dns_hint(issue, obs),
            learn_more=f"{learn}; {issue.reference}",
        )
    if not any(i.severity in ("fail", "warn") for i in issues):
        yield Finding(
            check=CheckName.DNS,
            target=report.domain,
            status=Status.OK,
            title="MX, addresses, reverse DNS and SPF look right",
            evidence="\n".join(
                [report.mx.evidence()]
                + [h.ipv4.evidence() for h in report.mx_hosts]
                + [r.ptr.evidence() for r in report.reverse]
            ),
            learn_more=f"{learn}; RFC 5321 §5.1",
        )


# --------------------------------------------------------------------------- inside


_SEEN_ELSEWHERE = {
    LogEventKind.TLS_CERT_MISSING,
    LogEventKind.TLS_LIBRARY_PROBLEM,
    LogEventKind.RELAY_DENIED,
    LogEventKind.SASL_AUTH_FAILED,
}


@check(CheckName.MAIL_LOG, title="Does mail.log report problems?")
def check_mail_log(obs: Observations) -> Iterator[Finding]:
    server = obs.server
    if server is None or server.log_events is None:
        return
    where = f"{obs.target.mail_host}:{server.log_path}"
    learn = f"{NB_REFUSED}; postconf(5)"
    groups: dict[LogEventKind, list[LogEvent]] = {}
    for event in server.log_events:
        if event.kind not in _SEEN_ELSEWHERE:
            groups.setdefault(event.kind, []).append(event)
    messages = {
        LogEventKind.FATAL: (
            "Postfix logged fatal errors",
            Status.FAIL,
            "A fatal error stops the daemon that logged it; fix the "
            "parameter it names and `postfix reload`.",
        ),
        LogEventKind.SASL_MISCONFIGURED: (
            "SASL (Dovecot auth) is misconfigured",
            Status.FAIL,
            "Check smtpd_sasl_path and Dovecot's auth socket.",
        ),
        LogEventKind.TLS_HANDSHAKE_FAILED: (
            "Clients abort the TLS handshake",
            Status.WARN,
            "Clients reject the certificate (see the certificate check).",
        ),
        LogEventKind.REVERSE_DNS_MISMATCH: (
            "Reverse DNS mismatches in the log",
            Status.INFO,
            "Clients whose PTR does not resolve back show as `unknown`.",
        ),
        LogEventKind.CONNECT_REFUSED: (
            "Outgoing deliveries are refused",
            Status.INFO,
            "The next hop refuses port 25 (expected in the lab: it has no internet).",
        ),
        LogEventKind.WARNING: ("Other warnings in mail.log", Status.INFO, ""),
    }
    unverified = any(r.verification is not None and not r.verification.ok for r in obs.tls.values())
    for kind, events in groups.items():
        title, status, hint = messages.get(kind, (kind.value, Status.INFO, ""))
        if kind is LogEventKind.TLS_HANDSHAKE_FAILED and unverified:
            # Expected while the certificate does not verify: verifying clients, the
            # doctor's own certificate probe among them, hang up during the handshake.
            status = Status.INFO
            hint = (
                "Expected while the certificate does not verify (see the certificate "
                "check): verifying clients, this doctor's probe included, hang up."
            )
        count = f"{len(events)} line" + ("s" if len(events) != 1 else "")
        yield Finding(
            check=CheckName.MAIL_LOG,
            target=where,
            status=status,
            title=f"{title} ({count})",
            evidence=_log_evidence(events),
            hint=hint,
            learn_more=learn,
        )
    if not groups:
        yield Finding(
            check=CheckName.MAIL_LOG,
            target=where,
            status=Status.OK,
            title="No unexplained problems in mail.log",
            learn_more=learn,
        )


@check(CheckName.INSIDE, title="Could the server itself be examined?")
def check_inside(obs: Observations) -> Iterator[Finding]:
    server = obs.server
    if server is None:
        why = obs.errors.get("server", "No inside view.")
        yield Finding(
            check=CheckName.INSIDE,
            target=obs.target.mail_host,
            status=Status.INFO,
            title="The server's inside (master.cf, sockets, mail.log) was not examined",
            evidence=why,
            hint="Run the doctor where it can `ssh root@mx` (the workstation), or "
            "from the host with the lab running.",
            learn_more=NB_REFUSED,
        )
        return
    for error in server.errors:
        yield Finding(
            check=CheckName.INSIDE,
            target=obs.target.mail_host,
            status=Status.WARN,
            title=f"Could not run `{error.command[:60]}` on the server",
            evidence=error.message,
            learn_more=NB_REFUSED,
        )
    for name, message in sorted(obs.errors.items()):
        if name != "server":
            yield Finding(
                check=CheckName.INSIDE,
                target=obs.target.mail_host,
                status=Status.WARN,
                title=f"The {name} probe could not run",
                evidence=message,
            )
