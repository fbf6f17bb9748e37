"""``labkit probe port|smtp|tls|dns``: one probe, shown the way the blog showed it.

Each command calls one function of :mod:`labkit.probes` and renders its frozen
result: a rich table for people (the SMTP dialog in the blog's ``$``/``>``
notation), or JSON with ``--json``. Exit code 0 when the target is OK, 1 when the
probe ran but found it not OK, 2 for a usage error.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from labkit.cli import app
from labkit.cli._output import console, emit
from labkit.cli._params import port_option, seconds_option
from labkit.cli._project import ProjectOpt, use_project
from labkit.errors import UsageError
from labkit.limits import parse_port
from labkit.probes._transcript import Direction, Transcript

if TYPE_CHECKING:  # each command imports its own probe: `probe smtp` skips dnspython
    from labkit.probes.dns import DnsAnswer, MailDnsReport
    from labkit.probes.smtp import SmtpResult
    from labkit.probes.tcp import PortResult
    from labkit.probes.tls import TlsResult

probe_app = typer.Typer(
    help="Probe one thing: a port, an SMTP dialog, a TLS handshake, a DNS name.",
    no_args_is_help=True,
)
app.add_typer(probe_app, name="probe")

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
TimeoutOpt = Annotated[
    float,
    typer.Option(
        "--timeout", help="Seconds for the whole probe (0.1-600).", parser=seconds_option()
    ),
]
CafileOpt = Annotated[
    str | None, typer.Option("--cafile", help="PEM file of CAs to trust (default: system).")
]

_STYLE = {
    Direction.SHELL: "green",
    Direction.CLIENT: "bold cyan",
    Direction.SERVER: "",
    Direction.NOTE: "dim",
}


def print_transcript(transcript: Transcript) -> None:
    """The dialog in the blog's notation, client lines highlighted."""
    for line in transcript:
        console.print(Text(line.render(), style=_STYLE[line.direction]))


def _done(ok: bool) -> None:
    if not ok:
        raise typer.Exit(1)


# --------------------------------------------------------------------------- port


@probe_app.command("port")
def port_command(
    host: Annotated[str, typer.Argument(help="Host name or address.")],
    port: Annotated[int, typer.Argument(help="TCP port, e.g. 25, 465, 587.", parser=port_option())],
    timeout: TimeoutOpt = 3.0,
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Try a TCP connection and say exactly how it went (refused, timeout, ...)."""
    use_project(project)
    from labkit.probes.tcp import probe_port

    result = probe_port(host, port, timeout)
    emit(result, as_json, lambda: _render_port(result))
    _done(result.ok)


def _render_port(result: PortResult) -> None:
    colour = "green" if result.ok else "red"
    console.print(f"[{colour}]{escape(result.summary())}[/] in {result.elapsed * 1000:.1f} ms")
    console.print(escape(result.explanation))


# --------------------------------------------------------------------------- smtp


@probe_app.command("smtp")
def smtp_command(
    host: Annotated[str, typer.Argument(help="Mail server host name or address.")],
    port: Annotated[
        int, typer.Option("--port", help="Port (25, 465, 587).", parser=port_option())
    ] = 25,
    starttls: Annotated[
        bool, typer.Option("--starttls", help="STARTTLS, then EHLO again.")
    ] = False,
    tls: Annotated[bool, typer.Option("--tls", help="Implicit TLS from the start (465).")] = False,
    auth: Annotated[str | None, typer.Option("--auth", help="User to log in as.")] = None,
    password: Annotated[
        str | None, typer.Option("--password", help="Password (asked for when omitted).")
    ] = None,
    mechanism: Annotated[str, typer.Option("--mechanism", help="PLAIN or LOGIN.")] = "PLAIN",
    helo: Annotated[str | None, typer.Option("--helo", help="EHLO name.")] = None,
    command: Annotated[
        list[str] | None,
        typer.Option("--command", "-c", help="Extra command, e.g. 'MAIL FROM:<a@b>'. Repeat."),
    ] = None,
    cafile: CafileOpt = None,
    verify: Annotated[
        bool, typer.Option("--verify", help="Stop if the certificate fails.")
    ] = False,
    timeout: TimeoutOpt = 5.0,
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Talk SMTP like `telnet HOST 25` did in the blog, and judge each step."""
    use_project(project)
    from labkit.probes.smtp import Credentials, smtp_session

    credentials = None
    if password is not None and auth is None:
        raise UsageError("--password needs --auth USER.", advice="e.g. --auth jez@zimmerman.test")
    if auth is not None:
        if password is None:
            if not sys.stdin.isatty():
                raise UsageError("--auth needs a password.", advice="Pass --password.")
            password = typer.prompt(f"Password for {auth}", hide_input=True)
        credentials = Credentials(auth, password, mechanism)
    result = smtp_session(
        host,
        port,
        helo=helo,
        starttls=starttls,
        implicit_tls=tls,
        auth=credentials,
        commands=tuple(command or ()),
        timeout=timeout,
        cafile=cafile,
        verify=verify,
    )
    emit(result, as_json, lambda: _render_smtp(result))
    _done(result.ok)


def _caps(caps: dict[str, tuple[str, ...]] | None) -> str:
    if caps is None:
        return "-"
    return ", ".join(f"{k} {' '.join(v)}".strip() for k, v in caps.items()) or "(none)"


def _render_smtp(result: SmtpResult) -> None:
    print_transcript(result.transcript)
    console.print()
    table = Table(show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column()
    colour = "green" if result.ok else "red"
    table.add_row("stopped at", Text(result.stopped_at.value, style=colour))
    if result.failure:
        table.add_row("failure", Text(result.failure.value, style=colour))
    table.add_row("reason", escape(result.reason))
    table.add_row("EHLO before TLS", escape(_caps(result.capabilities_before_tls)))
    if result.capabilities_after_tls is not None:
        table.add_row("EHLO after TLS", escape(_caps(result.capabilities_after_tls)))
    if result.tls is not None:
        table.add_row("TLS", escape(result.tls.summary()))
    if result.authenticated is not None:
        table.add_row("AUTH", "[green]accepted[/]" if result.authenticated else "[red]refused[/]")
    for anomaly in result.anomalies:
        table.add_row("[yellow]anomaly[/]", escape(f"{anomaly.evidence}: {anomaly.explanation}"))
    console.print(table)


# --------------------------------------------------------------------------- tls


def _split_host_port(text: str) -> tuple[str, int]:
    host, sep, number = text.rpartition(":")
    if not sep or not host:
        raise UsageError(
            f"{text[:80]!r} is not HOST:PORT.", advice="e.g. mail.zimmerman.test:465 or [::1]:587"
        )
    return host.strip("[]"), parse_port(number)


@probe_app.command("tls")
def tls_command(
    target: Annotated[str, typer.Argument(help="HOST:PORT, e.g. mail.zimmerman.test:465")],
    starttls: Annotated[
        str | None, typer.Option("--starttls", help="smtp or imap (as openssl s_client).")
    ] = None,
    servername: Annotated[
        str | None, typer.Option("--servername", help="SNI and name to verify (default HOST).")
    ] = None,
    cafile: CafileOpt = None,
    timeout: TimeoutOpt = 5.0,
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Handshake like `openssl s_client` and verify the certificate (OpenSSL codes)."""
    use_project(project)
    from labkit.probes.tls import probe_tls

    host, port = _split_host_port(target)
    if starttls not in (None, "smtp", "imap"):
        raise UsageError(f"Unknown --starttls {starttls!r}.", advice="Use smtp or imap.")
    result = probe_tls(
        host,
        port,
        starttls=starttls,  # type: ignore[arg-type]
        servername=servername,
        cafile=cafile,
        timeout=timeout,
    )
    emit(result, as_json, lambda: _render_tls(result))
    _done(result.ok)


def _render_tls(result: TlsResult) -> None:
    print_transcript(result.transcript)
    console.print()
    session = result.session
    if session is None:
        console.print(f"[red]stopped at {result.stopped_at.value}:[/] {escape(result.reason)}")
        return
    verification = session.verification
    if verification is not None:
        colour = "green" if verification.ok else "red"
        console.print(
            f"Verify return code: [{colour}]{escape(str(verification))}[/] "
            f"(against {escape(verification.trust_store)})"
        )
    table = Table(title=f"{session.version}, {session.cipher} ({session.cipher_bits} bits)")
    for column in ("depth", "subject", "issuer", "names", "valid until", "key", "self-signed"):
        table.add_column(column)
    for depth, cert in enumerate(session.chain):
        table.add_row(
            str(depth),
            escape(cert.subject),
            escape(cert.issuer),
            escape(", ".join(cert.names())),
            cert.valid_until(),
            f"{cert.key_type} {cert.key_size or ''}".strip(),
            "yes" if cert.self_signed else "no",
        )
    console.print(table)
    for depth, cert in enumerate(session.chain):
        if cert.problem:
            console.print(f"[yellow]depth {depth} is malformed:[/] {escape(cert.problem)}")


# --------------------------------------------------------------------------- dns


@probe_app.command("dns")
def dns_command(
    name: Annotated[str, typer.Argument(help="Name to look up (or the domain, with --mail).")],
    rdtype: Annotated[
        str, typer.Option("--type", "-t", help="A, AAAA, MX, CNAME, PTR, TXT.")
    ] = "A",
    server: Annotated[
        str | None, typer.Option("--server", help="Nameserver address (default: system).")
    ] = None,
    port: Annotated[
        int, typer.Option("--port", help="Nameserver port.", parser=port_option("nameserver port"))
    ] = 53,
    mail: Annotated[
        bool, typer.Option("--mail", help="Run the mail checks for a domain (MX, PTR, SPF).")
    ] = False,
    timeout: TimeoutOpt = 2.0,
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Ask one nameserver, like dig, keeping NXDOMAIN/NOANSWER/SERVFAIL/... apart."""
    use_project(project)
    from labkit.probes.dns import lookup, mail_dns_report

    if mail:
        report = mail_dns_report(name, server, port=port, timeout=timeout)
        emit(report, as_json, lambda: _render_mail_dns(report))
        _done(report.ok)
        return
    answer = lookup(name, rdtype, nameserver=server, port=port, timeout=timeout)
    emit(answer, as_json, lambda: _render_answer(answer))
    _done(answer.ok)


def _render_answer(answer: DnsAnswer) -> None:
    colour = "green" if answer.ok else "red"
    console.print(
        f";; {escape(answer.name)} {answer.rdtype} -> [{colour}]{answer.outcome.value}"
        f"[/] (rcode {answer.rcode or '-'}) from {answer.nameserver}:{answer.port} "
        f"in {answer.elapsed * 1000:.1f} ms"
    )
    if answer.error:
        console.print(f";; {escape(answer.error)}")
    for record in answer.aliases + answer.records:
        console.print(escape(str(record)))


def _render_mail_dns(report: MailDnsReport) -> None:
    _render_answer(report.mx)
    for host in report.mx_hosts:
        _render_answer(host.ipv4)
    for rev in report.reverse:
        _render_answer(rev.ptr)
    console.print()
    table = Table(title=f"Mail DNS for {report.domain}")
    for column in ("severity", "rule", "finding", "reference"):
        table.add_column(column)
    colours = {"fail": "red", "warn": "yellow", "info": "blue"}
    for issue in report.issues:
        table.add_row(
            Text(issue.severity, style=colours[issue.severity]),
            issue.rule.value,
            escape(issue.title),
            issue.reference,
        )
    if not report.issues:
        table.add_row(Text("ok", style="green"), "-", "no problems found", "")
    console.print(table)
    for note in report.notes:
        console.print(f"[yellow]note:[/] {escape(note)}")
