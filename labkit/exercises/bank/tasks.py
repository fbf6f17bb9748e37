"""Live tasks: fixes made in the lab and checked by probing it.

Each task's ``gather`` runs the probes from where labkit runs (the workstation, in
the lab); the ``check`` functions in :mod:`labkit.exercises.checks` judge the results.
"""

from __future__ import annotations

from typing import Any

from labkit.exercises.checks import (
    check_auth_after_tls,
    check_beat_the_box,
    check_capstone,
    check_mx,
    check_not_open_relay,
    check_ptr,
    check_starttls,
    check_submission,
)
from labkit.exercises.live import LiveTask
from labkit.probes.dns import lookup, mail_dns_report, reverse_lookup
from labkit.probes.smtp import SmtpResult, smtp_session
from labkit.probes.tcp import scan_ports
from labkit.probes.tls import probe_tls
from labkit.target import Target


def gather_submission(ctx: Target) -> dict[str, Any]:
    submission, smtps = scan_ports(
        ctx.host, (ctx.submission_port, ctx.smtps_port), timeout=ctx.timeout
    )
    evidence: dict[str, Any] = {"submission": submission, "smtps": smtps}
    if submission.ok:
        evidence["submission_smtp"] = smtp_session(
            ctx.host, ctx.submission_port, starttls=True, timeout=ctx.timeout
        )
    if smtps.ok:
        evidence["smtps_smtp"] = smtp_session(
            ctx.host, ctx.smtps_port, implicit_tls=True, timeout=ctx.timeout
        )
    return evidence


def gather_starttls(ctx: Target) -> dict[str, Any]:
    return {
        "smtp": smtp_session(ctx.host, ctx.smtp_port, starttls=True, timeout=ctx.timeout),
        "tls": probe_tls(
            ctx.host,
            ctx.smtp_port,
            starttls="smtp",
            servername=ctx.mail_host,
            cafile=ctx.cafile,
            timeout=ctx.timeout,
        ),
    }


def gather_auth(ctx: Target) -> dict[str, Any]:
    """25 and 587 with STARTTLS, 465 with implicit TLS, each trying the test login.

    AUTH may rightly be offered on 587/465 only, so all three are looked at.
    """
    evidence: dict[str, Any] = {
        "smtp": smtp_session(
            ctx.host, ctx.smtp_port, starttls=True, auth=ctx.credentials, timeout=ctx.timeout
        )
    }
    submission, smtps = scan_ports(
        ctx.host, (ctx.submission_port, ctx.smtps_port), timeout=ctx.timeout
    )
    if submission.ok:
        evidence["submission"] = smtp_session(
            ctx.host,
            ctx.submission_port,
            starttls=True,
            auth=ctx.credentials,
            timeout=ctx.timeout,
        )
    if smtps.ok:
        evidence["smtps"] = smtp_session(
            ctx.host, ctx.smtps_port, implicit_tls=True, auth=ctx.credentials, timeout=ctx.timeout
        )
    return evidence


def _relay_attempt(ctx: Target, recipient: str) -> SmtpResult:
    commands = (f"MAIL FROM:<labkit-probe@{ctx.outside_domain}>", f"RCPT TO:<{recipient}>")
    return smtp_session(ctx.host, ctx.smtp_port, commands=commands, timeout=ctx.timeout)


def gather_relay(ctx: Target) -> dict[str, Any]:
    return {
        "outside": _relay_attempt(ctx, f"someone@{ctx.outside_domain}"),
        "local": _relay_attempt(ctx, f"postmaster@{ctx.domain}"),
    }


def gather_mx(ctx: Target) -> dict[str, Any]:
    report = mail_dns_report(
        ctx.domain,
        ctx.nameserver,
        port=ctx.dns_port,
        expect_host=ctx.mail_host,
        timeout=ctx.timeout,
    )
    return {"mx": report.mx, "mx_hosts": report.mx_hosts, "mail_address": ctx.mx_address}


def gather_ptr(ctx: Target) -> dict[str, Any]:
    address = ctx.mx_address
    if address is None:
        found = lookup(
            ctx.mail_host, "A", nameserver=ctx.nameserver, port=ctx.dns_port, timeout=ctx.timeout
        )
        address = found.values[0] if found.values else None
    reverse = None
    if address is not None:
        reverse = reverse_lookup(
            address, nameserver=ctx.nameserver, port=ctx.dns_port, timeout=ctx.timeout
        )
    greeting = smtp_session(ctx.host, ctx.smtp_port, timeout=ctx.timeout)
    return {"reverse": reverse, "expected_name": ctx.mail_host, "ehlo_name": greeting.ehlo_name}


_CAPSTONE_GATHERS = {
    "submission": gather_submission,
    "starttls": gather_starttls,
    "auth": gather_auth,
    "relay": gather_relay,
    "mx": gather_mx,
    "ptr": gather_ptr,
}


def gather_beat_the_box(ctx: Target) -> dict[str, Any]:
    """465 with implicit TLS and the test login, from the laptop's current network."""
    return {
        "smtps": smtp_session(
            ctx.host, ctx.smtps_port, implicit_tls=True, auth=ctx.credentials, timeout=ctx.timeout
        )
    }


def gather_capstone(ctx: Target) -> dict[str, Any]:
    return {label: gather(ctx) for label, gather in _CAPSTONE_GATHERS.items()}


#: Each task's hints are a ladder: a nudge, then where to look, then the fix itself.
LIVE_TASKS: tuple[LiveTask, ...] = (
    LiveTask(
        id="nb02.fix-submission",
        title="Open 587 and 465 for mail clients",
        brief="Mail clients get 'connection refused' on 587 and 465. Make both ports "
        "usable from the laptop: 587 with STARTTLS, 465 with TLS from the first byte.",
        prompt="In the blog's state, 465 and 587 refuse connections. Make Postfix listen on "
        "587 (`submission`, STARTTLS) and 465 (`smtps`, implicit TLS), then check.",
        check=check_submission,
        gather=gather_submission,
        hints=(
            "Refused from everywhere, localhost included, and the logs are silent: is "
            "anything listening at all?",
            "On mx: `ss -ltn` shows what listens; `postconf -M` the services Postfix runs; "
            "/etc/postfix/master.cf is where services are defined (look for lines that "
            "start with `#`).",
            "On mx: `sed -i -E 's/^#((submission|smtps) +inet|  -o )/\\1/' "
            "/etc/postfix/master.cf`, then `postfix check` and `postfix reload`.",
        ),
        solution="In master.cf uncomment `submission inet n - n - - smtpd` and `smtps inet "
        "n - n - - smtpd` with their `-o` lines (`-o smtpd_tls_wrappermode=yes` for "
        "smtps), then `postfix reload`.",
    ),
    LiveTask(
        id="nb03.fix-starttls",
        title="Make STARTTLS work with a trusted certificate",
        brief="Port 25 advertises STARTTLS but no client gets a trusted TLS session. Make "
        "STARTTLS on 25 work with a certificate for mail.zimmerman.test that verifies.",
        prompt="Port 25 should offer STARTTLS and present a certificate for "
        "`mail.zimmerman.test` that verifies against the lab CA.",
        check=check_starttls,
        gather=gather_starttls,
        hints=(
            "Certificate trouble is loud: what does the server itself say about TLS?",
            "On mx: `grep -i tls /var/log/mail.log | tail`, `postconf smtpd_tls_cert_file "
            "smtpd_tls_key_file`, and what is really in `/etc/ssl/lab/`.",
            "On mx: `lab-certbot mail.zimmerman.test`, then `postconf -e "
            "smtpd_tls_cert_file=/etc/ssl/lab/mail.zimmerman.test.crt "
            "smtpd_tls_key_file=/etc/ssl/lab/mail.zimmerman.test.key` and `postfix reload`.",
        ),
        solution="lab-certbot mail.zimmerman.test; postconf -e "
        "smtpd_tls_cert_file=/etc/ssl/lab/mail.zimmerman.test.crt "
        "smtpd_tls_key_file=/etc/ssl/lab/mail.zimmerman.test.key; postfix reload",
    ),
    LiveTask(
        id="nb04.auth-after-tls",
        title="AUTH only after TLS",
        brief="Passwords can cross the network in clear text. Make sure no plain-text EHLO "
        "offers AUTH, while the test user can still log in after TLS.",
        prompt="No EHLO in plain text may offer AUTH; after STARTTLS (on 25 or 587) or on "
        "465 the test user must be able to log in.",
        check=check_auth_after_tls,
        gather=gather_auth,
        hints=(
            "Compare the EHLO lists before and after STARTTLS: where does AUTH show up?",
            "On mx: `postconf -n | grep -i auth`; the blog quotes the parameter that keeps "
            "AUTH inside TLS.",
            "On mx: `postconf -e smtpd_tls_auth_only=yes`, then `postfix reload`.",
        ),
        solution="postconf -e smtpd_tls_auth_only=yes; postfix reload",
    ),
    LiveTask(
        id="nb04.no-open-relay",
        title="Not an open relay",
        brief="Strangers can send mail through this server to anyone. Stop that, without "
        "turning away mail for zimmerman.test.",
        prompt="From the workstation (outside `mynetworks`), without AUTH, a recipient at a "
        "foreign domain must be refused with a relay denial, while mail for zimmerman.test "
        "is accepted.",
        check=check_not_open_relay,
        gather=gather_relay,
        hints=(
            "Who may relay without logging in? The answer is a list of networks.",
            "On mx: `postconf mynetworks smtpd_relay_restrictions`; is the laptop's address "
            "inside one of those networks?",
            "On mx: `postconf -e 'mynetworks = 127.0.0.0/8 [::1]/128'`, then `postfix reload`.",
        ),
        solution="postconf -e 'mynetworks = 127.0.0.0/8 [::1]/128'; postfix reload",
    ),
    LiveTask(
        id="nb05.fix-mx",
        title="Fix the MX",
        brief="Senders are told to deliver zimmerman.test's mail to an alias. Make the MX "
        "lead straight to a host name with its own address: the mail server's.",
        prompt="The MX of zimmerman.test points at `mail`, which is a CNAME. Make the MX "
        "target a name with its own A record that leads to the mail server.",
        check=check_mx,
        gather=gather_mx,
        hints=(
            "Follow the MX the way a sender does: MX, then the target's address.",
            "`dig zimmerman.test MX`, then `dig mail.zimmerman.test`; the zone file is in "
            "`~/dns-zones/` (and its SOA serial must go up).",
            "In ~/dns-zones/zimmerman.test.zone replace the line `mail IN CNAME ...` with "
            "`mail IN A <the address metagross has>`, and add 1 to the serial.",
        ),
        solution="In the zimmerman.test zone: `mail IN A <mx address>` instead of the CNAME "
        "(or `@ IN MX 10 metagross.zimmerman.test.`), then raise the serial.",
    ),
    LiveTask(
        id="nb05.ptr-matches",
        title="Reverse DNS that matches",
        brief="Receivers distrust this server: its address has no name. Give it reverse DNS "
        "that round-trips and matches the name the server greets with.",
        prompt="Give the mail server's address a PTR record naming `mail.zimmerman.test`, "
        "which must resolve back to the same address and match the name Postfix gives in "
        "EHLO.",
        check=check_ptr,
        gather=gather_ptr,
        hints=(
            "Three names must agree: the PTR, the A record it points back to, and the "
            "server's own greeting.",
            "`dig -x <address>`; the reverse zone is in `~/dns-zones/` too; on mx, `postconf "
            "myhostname`.",
            "In the reverse zone add `<last octet> IN PTR mail.zimmerman.test.` and raise "
            "the serial; on mx `postconf -e myhostname=mail.zimmerman.test && postfix "
            "reload`.",
        ),
        solution="In the reverse zone: `<last octet> IN PTR mail.zimmerman.test.`; keep "
        "`mail IN A <address>`; `postconf -e myhostname=mail.zimmerman.test; postfix reload`.",
    ),
    LiveTask(
        id="nb06.server-fixed",
        title="The blog's server, fixed end to end",
        brief="This is the blog's server. Make it work for a mail client on the laptop and "
        "for the world: submission ports, trusted TLS, AUTH only inside TLS, no open relay, "
        "clean MX and reverse DNS.",
        prompt="Everything at once: 587 and 465 usable, STARTTLS with a trusted certificate, "
        "AUTH only after TLS, no open relay, a clean MX and a matching PTR.",
        check=check_capstone,
        gather=gather_capstone,
        hints=(
            "Work through the failing checks from the top; each is one notebook's topic.",
            "The doctor (`labkit doctor`) links each outside symptom to an inside cause; ask "
            "it after your own diagnosis.",
            "Apply the fixes of notebooks 2, 3 and 5 (their tasks' last hints): master.cf, "
            "the lab certificate, the zone and myhostname.",
        ),
        solution="Apply the solutions of nb02.fix-submission, nb03.fix-starttls, "
        "nb04.auth-after-tls, nb04.no-open-relay, nb05.fix-mx and nb05.ptr-matches.",
        points=3.0,
    ),
    LiveTask(
        id="nb07.beat-the-box",
        title="Log in from the café, past the box",
        brief="You are on the café's Wi-Fi, and its box rewrites port 25: no STARTTLS, so "
        "no AUTH. Without leaving the café, make it possible for a mail client here to log "
        "in and send.",
        prompt="In the blog's state, from the café: make a port available on which the box "
        "cannot rewrite anything, so a client can log in (AUTH) from here.",
        check=check_beat_the_box,
        gather=gather_beat_the_box,
        hints=(
            "The box inspects plain-text SMTP on port 25. Which submission port is TLS from "
            "the very first byte?",
            "On mx: is anything listening on 465 (`ss -ltn`)? The `smtps` service in "
            "/etc/postfix/master.cf is where it would be defined.",
            "On mx: `sed -i -E 's/^#((submission|smtps) +inet|  -o )/\\1/' "
            "/etc/postfix/master.cf`, then `postfix check` and `postfix reload`.",
        ),
        solution="Enable `smtps inet n - n - - smtpd` with `-o smtpd_tls_wrappermode=yes` "
        "(and its other `-o` lines) in master.cf, then `postfix reload`: 465 is TLS from "
        "the first byte, and the box cannot read it.",
    ),
)
