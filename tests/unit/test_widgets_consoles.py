"""Probe consoles against real local servers: SMTP, TLS, DNS and a port scan."""

from __future__ import annotations

import errno
from collections.abc import Callable
from pathlib import Path

import pytest

from labkit.errors import UsageError
from labkit.exercises import ProgressStore, exercises_for, question
from labkit.target import Target
from labkit.testing.certs import CertFactory
from labkit.testing.dns import blog_dns_server, fixed_dns_server
from labkit.testing.fixtures import LAB_PASSWORD, LAB_USER
from labkit.testing.smtpd import FakeMailServer
from labkit.widgets import DnsPanel, PortScanner, ProgressView, SmtpConsole, TlsInspector
from labkit.widgets.port_scanner import parse_ports
from labkit.widgets.smtp_console import TEST_MESSAGE, plan_dialog

Serve = Callable[[FakeMailServer], FakeMailServer]
HOST = "mail.zimmerman.test"


def context(server: FakeMailServer, certs: CertFactory | None = None) -> Target:
    return Target(
        address=server.host,
        mail_host=HOST,
        cafile=str(certs.ca_path) if certs else None,
        user=LAB_USER,
        password=LAB_PASSWORD,
        timeout=3.0,
    )


# --- port scanner ----------------------------------------------------------------------


def test_port_scanner_colours_open_and_refused(serve: Serve, closed: tuple[str, int]) -> None:
    server = serve(FakeMailServer())
    scanner = PortScanner(context(server), ports=f"{server.port}, {closed[1]}")
    scanner.run_button.click()
    assert scanner.result is not None
    assert [r.state.value for r in scanner.result] == ["open", "refused"]
    html = scanner.output.value
    assert f"ECONNREFUSED ({errno.ECONNREFUSED})" in html
    assert "#e8f5e9" in html and "#ffebee" in html  # green row, red row
    assert "master.cf" in html  # the refused explanation says what to check


def test_port_scanner_rejects_bad_ports_with_advice(serve: Serve) -> None:
    scanner = PortScanner(context(serve(FakeMailServer())), ports="25, smtp")
    scanner.run_button.click()
    assert scanner.result is None and "Could not do that." in scanner.output.value
    assert "'smtp' is not a port" in scanner.output.value


@pytest.mark.parametrize(
    ("text", "ports"), [("25, 465 587", (25, 465, 587)), ("25;25,587", (25, 587))]
)
def test_parse_ports(text: str, ports: tuple[int, ...]) -> None:
    assert parse_ports(text) == ports


@pytest.mark.parametrize("text", ["", "0", "70000", "25-30"])
def test_parse_ports_rejects(text: str) -> None:
    with pytest.raises(UsageError):
        parse_ports(text)


# --- SMTP console ----------------------------------------------------------------------


def test_plan_dialog_reads_a_telnet_style_script() -> None:
    plan = plan_dialog(
        [
            "EHLO [206.71.229.162]",
            "STARTTLS",
            "EHLO again",
            "auth login",
            "MAIL FROM:<jez@zimmerman.test>",
            "",
            "RCPT TO:<a@zimmerman.test>",
            "DATA",
            "QUIT",
            "NOOP",
        ]
    )
    assert plan.helo == "[206.71.229.162]" and plan.starttls and plan.auth == "LOGIN"
    assert plan.commands == ("MAIL FROM:<jez@zimmerman.test>", "RCPT TO:<a@zimmerman.test>", "DATA")
    assert plan.message == TEST_MESSAGE


def test_plan_dialog_refuses_starttls_after_the_transaction_started() -> None:
    with pytest.raises(UsageError, match="STARTTLS"):
        plan_dialog(["EHLO", "MAIL FROM:<a@b>", "STARTTLS"])
    with pytest.raises(UsageError, match="CRAM-MD5"):
        plan_dialog(["AUTH CRAM-MD5"])


def test_smtp_console_shows_auth_appearing_after_starttls(serve: Serve, certs: CertFactory) -> None:
    tls = certs.leaf(HOST).server_context()
    server = serve(FakeMailServer(tls=tls, users={LAB_USER: LAB_PASSWORD}))
    console = SmtpConsole(context(server, certs), port=server.port)
    console.script.value = ""
    for command in ("EHLO", "STARTTLS", "AUTH PLAIN", "QUIT"):
        console.add_command(command)
    assert console.script.value == "EHLO\nSTARTTLS\nAUTH PLAIN\nQUIT\n"
    console.run_button.click()
    result = console.result
    assert result is not None and result.ok and result.authenticated
    html = console.output.value
    assert "&gt; STARTTLS" in html and "AUTH PLAIN ****" in html
    assert LAB_PASSWORD not in html
    assert "<th" in html and "after TLS" in html
    cells = html.replace(' style="padding:2px 8px"', "")
    assert "<td>AUTH LOGIN PLAIN</td><td>-</td><td>yes</td>" in cells  # hidden before TLS
    assert "<td>STARTTLS</td><td>yes</td><td>-</td>" in cells


def test_smtp_console_sends_auth_before_starttls_when_planned(
    serve: Serve, certs: CertFactory
) -> None:
    """AUTH before STARTTLS is not reordered: the server's real refusal is shown."""
    tls = certs.leaf(HOST).server_context()
    server = serve(FakeMailServer(tls=tls, users={LAB_USER: LAB_PASSWORD}))
    assert plan_dialog(["EHLO", "AUTH PLAIN", "STARTTLS"]).auth_first
    assert not plan_dialog(["EHLO", "STARTTLS", "AUTH PLAIN"]).auth_first
    console = SmtpConsole(context(server, certs), port=server.port)
    console.script.value = "EHLO\nAUTH PLAIN\nSTARTTLS\nQUIT\n"
    console.run_button.click()
    result = console.result
    assert result is not None and result.tls is not None and not result.authenticated
    lines = [line.render() for line in result.transcript]
    auth_at = next(i for i, line in enumerate(lines) if line.startswith("> AUTH PLAIN"))
    tls_at = next(i for i, line in enumerate(lines) if line == "> STARTTLS")
    assert auth_at < tls_at
    assert lines[auth_at + 1].strip().startswith(("503", "530", "538")), lines[auth_at + 1]
    assert LAB_PASSWORD not in console.output.value


def test_smtp_console_relay_attempt_is_refused(serve: Serve) -> None:
    server = serve(FakeMailServer())
    console = SmtpConsole(context(server), port=server.port)
    console.command.value = "MAIL FROM:<probe@example.net>"
    console.add_button.click()
    console.add_command("RCPT TO:<someone@example.net>")
    console.run_button.click()
    html = console.output.value
    assert "Stopped at rcpt:" in html and "Relay access denied" in html
    assert not server.messages


def test_smtp_console_port_465_switches_to_implicit_tls(serve: Serve) -> None:
    console = SmtpConsole(context(serve(FakeMailServer())))
    assert not console.implicit_tls.value
    console.port.value = 465
    assert console.implicit_tls.value


def test_smtp_console_refused_port(serve: Serve, closed: tuple[str, int]) -> None:
    console = SmtpConsole(context(serve(FakeMailServer())), port=closed[1])
    console.run_button.click()
    assert "Stopped at connect:" in console.output.value
    assert "Connection refused" in console.output.value


# --- TLS inspector ---------------------------------------------------------------------


def test_tls_inspector_verifies_against_the_lab_ca(serve: Serve, certs: CertFactory) -> None:
    server = serve(FakeMailServer(tls=certs.leaf(HOST).server_context()))
    inspector = TlsInspector(context(server, certs), port=server.port)
    inspector.run_button.click()
    html = inspector.output.value
    assert "Verify return code: 0 (ok)" in html and "labkit-ok" in html
    assert HOST in html and "labkit test CA" in html


def test_tls_inspector_explains_a_self_signed_certificate(serve: Serve, certs: CertFactory) -> None:
    server = serve(FakeMailServer(tls=certs.self_signed(HOST).server_context()))
    inspector = TlsInspector(context(server, certs), port=server.port)
    inspector.run_button.click()
    html = inspector.output.value
    assert "Verify return code: 18 (self-signed certificate)" in html
    assert "like the blog" in html and "<td>yes</td>" in html.replace(
        ' style="padding:2px 8px"', ""
    )


def test_tls_inspector_missing_ca_file_is_misuse(serve: Serve, tmp_path: Path) -> None:
    server = serve(FakeMailServer())
    inspector = TlsInspector(context(server), port=server.port)
    inspector.cafile.value = str(tmp_path / "nope.pem")
    inspector.run_button.click()
    assert "Could not do that." in inspector.output.value and inspector.result is None


def test_tls_inspector_plain_server_on_implicit_tls(serve: Serve) -> None:
    server = serve(FakeMailServer())
    inspector = TlsInspector(context(server), port=server.port)
    inspector.mode.value = "implicit TLS (465, 993)"
    inspector.run_button.click()
    assert "Stopped at handshake" in inspector.output.value


# --- DNS panel -------------------------------------------------------------------------


def test_dns_panel_shows_the_blog_cname_chain() -> None:
    with blog_dns_server() as server:
        panel = DnsPanel(Target(nameserver=server.host, dns_port=server.port))
        panel.name.value = "mail.zimmerman.test"
        panel.rdtype.value = "A"
        panel.run_button.click()
    html = panel.output.value
    assert "CNAME" in html and "mail.zimmerman.test -&gt; metagross.zimmerman.test" in html
    assert "198.51.100.25" in html


def test_dns_panel_reverse_lookup_is_forward_confirmed() -> None:
    with fixed_dns_server() as server:
        panel = DnsPanel(Target(nameserver=server.host, dns_port=server.port))
        panel.name.value = "198.51.100.25"
        panel.rdtype.value = "PTR"
        panel.run_button.click()
    assert "Forward-confirmed: mail.zimmerman.test -&gt; 198.51.100.25" in panel.output.value


def test_dns_panel_mail_report_flags_the_mx_cname() -> None:
    with blog_dns_server() as server:
        panel = DnsPanel(Target(nameserver=server.host, dns_port=server.port))
        panel.rdtype.value = "mail report"
        panel.run_button.click()
    html = panel.output.value
    assert "FAIL" in html and "is a CNAME" in html and "RFC 2181" in html


def test_dns_panel_nxdomain_and_bad_names() -> None:
    with fixed_dns_server() as server:
        panel = DnsPanel(Target(nameserver=server.host, dns_port=server.port))
        panel.name.value = "nothing.zimmerman.test"
        panel.run_button.click()
        assert "NXDOMAIN" in panel.output.value and "labkit-bad" in panel.output.value
        panel.name.value = "not a name"
        panel.run_button.click()
        assert "Could not do that." in panel.output.value


# --- progress view ---------------------------------------------------------------------


def test_progress_view_refreshes(tmp_path: Path) -> None:
    store = ProgressStore(tmp_path / "progress.json")
    view = ProgressView(store)
    nb02 = exercises_for("nb02")
    possible = sum(e.max_score for e in nb02)
    assert f"0/{possible:g}" in view.table.value
    store.record_grade(question("nb02.errno-linux").grade("111"))
    view.refresh_button.click()
    assert f"1/{possible:g}" in view.table.value
    assert f"1/{len(nb02)} passed" in view.table.value


def test_dns_panel_ptr_of_a_name_is_misuse() -> None:
    with fixed_dns_server() as server:
        panel = DnsPanel(Target(nameserver=server.host, dns_port=server.port))
        panel.name.value = "mail.zimmerman.test"
        panel.rdtype.value = "PTR"
        panel.run_button.click()
    assert "Could not do that." in panel.output.value and "not an IP address" in panel.output.value
