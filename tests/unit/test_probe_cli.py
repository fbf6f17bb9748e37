"""``labkit probe ...`` and ``labkit doctor`` through typer's runner, against local servers."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from labkit.cli import app
from labkit.testing.fixtures import LAB_PASSWORD, LAB_USER
from labkit.testing.servers import masked_middlebox_server
from labkit.testing.smtpd import FakeMailServer


@pytest.fixture
def run():
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(app, list(args), catch_exceptions=False)

    return invoke


def test_port_open_and_refused_exit_codes(run, serve, closed):
    server = serve(FakeMailServer())
    ok = run("probe", "port", "127.0.0.1", str(server.port))
    assert ok.exit_code == 0 and "open" in ok.output
    refused = run("probe", "port", *map(str, closed), "--json")
    assert refused.exit_code == 1
    data = json.loads(refused.output)
    assert data["state"] == "refused" and data["errno_name"] == "ECONNREFUSED"


def test_port_usage_error_exit_2(run):
    from labkit.errors import UsageError

    with pytest.raises(UsageError):  # run_cli turns this into exit 2 for the real command
        run("probe", "port", "mail.zimmerman.test:25", "25")


def test_smtp_transcript_in_blog_notation(run, serve):
    server = serve(masked_middlebox_server())
    result = run("probe", "smtp", "127.0.0.1", "--port", str(server.port), "--starttls")
    assert result.exit_code == 1
    assert f"$ telnet 127.0.0.1 {server.port}" in result.output
    assert "> EHLO [127.0.0.1]" in result.output
    assert "  250-XXXXXXXA" in result.output
    assert "anomaly" in result.output


def test_smtp_auth_json_never_shows_the_password(run, serve, certs):
    server = serve(
        FakeMailServer(
            tls=certs.leaf("mail.zimmerman.test").server_context(), users={LAB_USER: LAB_PASSWORD}
        )
    )
    result = run(
        "probe",
        "smtp",
        "127.0.0.1",
        "--port",
        str(server.port),
        "--starttls",
        "--auth",
        LAB_USER,
        "--password",
        LAB_PASSWORD,
        "--json",
    )
    assert result.exit_code == 0, result.output
    assert LAB_PASSWORD not in result.output
    data = json.loads(result.output)
    assert data["authenticated"] is True and data["stopped_at"] == "done"


def test_tls_self_signed_exit_1_with_code_18(run, serve, certs):
    from labkit.testing.servers import tls_server

    server = serve(tls_server(certs.self_signed("mail.zimmerman.test").server_context()))
    result = run(
        "probe",
        "tls",
        f"127.0.0.1:{server.port}",
        "--servername",
        "mail.zimmerman.test",
        "--cafile",
        str(certs.ca_path),
    )
    assert result.exit_code == 1
    assert "Verify return code: 18 (self-signed certificate)" in result.output


def test_dns_lookup_and_mail_report(run, blog_dns):
    ns = ("--server", blog_dns.host, "--port", str(blog_dns.port))
    answer = run("probe", "dns", "mail.zimmerman.test", *ns)
    assert answer.exit_code == 0 and "IN CNAME metagross.zimmerman.test" in answer.output
    missing = run("probe", "dns", "nope.zimmerman.test", *ns, "--json")
    assert missing.exit_code == 1 and json.loads(missing.output)["outcome"] == "NXDOMAIN"
    report = run("probe", "dns", "zimmerman.test", "--mail", *ns)
    assert report.exit_code == 1 and "mx-is-cname" in report.output


def test_doctor_cli_json_and_exit_code(run, serve, certs, fixed_dns, closed):
    server = serve(
        FakeMailServer(
            tls=certs.leaf("mail.zimmerman.test").server_context(), users={LAB_USER: LAB_PASSWORD}
        )
    )
    args = [
        "doctor",
        "--address",
        "127.0.0.1",
        "--host",
        "mail.zimmerman.test",
        "--server",
        fixed_dns.host,
        "--dns-port",
        str(fixed_dns.port),
        "--smtp-port",
        str(server.port),
        "--smtps-port",
        str(closed[1]),
        "--submission-port",
        str(server.port),
        "--cafile",
        str(certs.ca_path),
        "--password",
        LAB_PASSWORD,
        "--no-inside",
        "--timeout",
        "1",
    ]
    result = run(*args, "--json")
    data = json.loads(result.output)
    assert data["target"]["password"] == "****" and LAB_PASSWORD not in result.output
    assert result.exit_code == 1  # 465 is refused
    failed = [f for f in data["findings"] if f["status"] == "fail"]
    assert [f["target"] for f in failed] == [f"mail.zimmerman.test:{closed[1]}"]
    assert {f["check"] for f in data["findings"]} >= {"ports", "dns", "inside", "auth"}
    table = run(*args)
    assert "labkit doctor: mail.zimmerman.test" in table.output
    assert "failed," in table.output
