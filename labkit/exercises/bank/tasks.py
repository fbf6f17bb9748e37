"""Live tasks: fixes made in the lab and checked by probing it.

Each task's ``gather`` runs the probes from where labkit runs (the workstation, in
the lab); the ``check`` functions in :mod:`labkit.exercises.checks` judge the results.
"""

from __future__ import annotations

from typing import Any

from labkit.exercises.checks import (
    check_auth_after_tls,
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


def gather_capstone(ctx: Target) -> dict[str, Any]:
    return {label: gather(ctx) for label, gather in _CAPSTONE_GATHERS.items()}


LIVE_TASKS: tuple[LiveTask, ...] = (
    LiveTask(
        id="nb02.fix-submission",
        title="Open 587 and 465 for mail clients",
        prompt="In the blog's state, 465 and 587 refuse connections. Make Postfix listen on "
        "587 (`submission`, STARTTLS) and 465 (`smtps`, implicit TLS), then check.",
        check=check_submission,
        gather=gather_submission,
        hints=(
            "Refused from everywhere, logs silent: the services are not defined. Look at "
            "`postconf -M` on mx.",
            "Uncomment the `submission` and `smtps` blocks in /etc/postfix/master.cf.",
            "Then `postfix reload` and `ss -ltn` should list :587 and :465.",
        ),
        solution="In master.cf enable `submission inet n - y - - smtpd` and `smtps inet n - y "
        "- - smtpd` with `-o smtpd_tls_wrappermode=yes` for smtps, then `postfix reload`.",
    ),
    LiveTask(
        id="nb03.fix-starttls",
        title="Make STARTTLS work with a trusted certificate",
        prompt="Port 25 should offer STARTTLS and present a certificate for "
        "`mail.zimmerman.test` that verifies against the lab CA.",
        check=check_starttls,
        gather=gather_starttls,
        hints=(
            "`openssl s_client -connect mail.zimmerman.test:25 -starttls smtp -CAfile "
            "/etc/ssl/certs/labkit-ca.pem` shows the verify return code.",
            "Code 18 is a self-signed certificate: use the lab-issued one under /etc/ssl/lab/.",
            "Set `smtpd_tls_cert_file` and `smtpd_tls_key_file` to it, then `postfix reload`.",
        ),
        solution="postconf -e smtpd_tls_cert_file=/etc/ssl/lab/mail.zimmerman.test.crt "
        "smtpd_tls_key_file=/etc/ssl/lab/mail.zimmerman.test.key "
        "smtpd_tls_security_level=may; postfix reload",
    ),
    LiveTask(
        id="nb04.auth-after-tls",
        title="AUTH only after TLS",
        prompt="On port 25, EHLO must not offer AUTH in plain text, must offer it after "
        "STARTTLS, and the test user must be able to log in there.",
        check=check_auth_after_tls,
        gather=gather_auth,
        hints=(
            "Compare the EHLO lists before and after STARTTLS in the transcript.",
            "`postconf smtpd_tls_auth_only smtpd_sasl_auth_enable` on mx.",
        ),
        solution="postconf -e smtpd_tls_auth_only=yes smtpd_sasl_auth_enable=yes "
        "smtpd_sasl_type=dovecot smtpd_sasl_path=private/auth; postfix reload",
    ),
    LiveTask(
        id="nb04.no-open-relay",
        title="Not an open relay",
        prompt="From the workstation (outside `mynetworks`), without AUTH, a recipient at a "
        "foreign domain must be refused (454 or 554) while mail for zimmerman.test is accepted.",
        check=check_not_open_relay,
        gather=gather_relay,
        hints=(
            "Which networks does `postconf mynetworks` trust?",
            "`smtpd_relay_restrictions` should end in `defer_unauth_destination` (or "
            "`reject_unauth_destination`).",
        ),
        solution="postconf -e 'mynetworks=127.0.0.0/8 [::1]/128' "
        "'smtpd_relay_restrictions=permit_mynetworks, permit_sasl_authenticated, "
        "defer_unauth_destination'; postfix reload",
    ),
    LiveTask(
        id="nb05.fix-mx",
        title="Fix the MX",
        prompt="The MX of zimmerman.test points at `mail`, which is a CNAME. Make the MX "
        "target a name with its own A record that leads to the mail server.",
        check=check_mx,
        gather=gather_mx,
        hints=(
            "`dig zimmerman.test MX`, then `dig mail.zimmerman.test`: do you see a CNAME?",
            "RFC 2181 §10.3: the MX target must not be an alias.",
            "Replace `mail CNAME metagross` with `mail A <the mail server's address>` in the "
            "zone (and bump the SOA serial).",
        ),
        solution="In the zimmerman.test zone: `mail IN A <mx address>` instead of the CNAME "
        "(or `@ IN MX 10 metagross.zimmerman.test.`), then raise the serial.",
    ),
    LiveTask(
        id="nb05.ptr-matches",
        title="Reverse DNS that matches",
        prompt="Give the mail server's address a PTR record naming `mail.zimmerman.test`, "
        "which must resolve back to the same address and match the name Postfix gives in "
        "EHLO.",
        check=check_ptr,
        gather=gather_ptr,
        hints=(
            "`dig -x <address>` shows the PTR; in the lab you own the reverse zone.",
            "The name in the PTR needs an A record with the same address (FCrDNS).",
            "Postfix announces `myhostname`; `postconf myhostname` on mx.",
        ),
        solution="In the reverse zone: `<last octet> IN PTR mail.zimmerman.test.`; keep "
        "`mail IN A <address>`; `postconf -e myhostname=mail.zimmerman.test; postfix reload`.",
    ),
    LiveTask(
        id="nb06.server-fixed",
        title="The blog's server, fixed end to end",
        prompt="Everything at once: 587 and 465 open, STARTTLS with a trusted certificate, "
        "AUTH only after TLS, no open relay, a clean MX and a matching PTR.",
        check=check_capstone,
        gather=gather_capstone,
        hints=(
            "Work through the failing criteria from the top: each names its fix.",
            "The live tasks of notebooks 02 to 05 check the same things one by one.",
        ),
        solution="Apply the solutions of nb02.fix-submission, nb03.fix-starttls, "
        "nb04.auth-after-tls, nb04.no-open-relay, nb05.fix-mx and nb05.ptr-matches.",
        points=3.0,
    ),
)
