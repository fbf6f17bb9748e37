"""run_doctor end to end against real local servers (aiosmtpd, tiny DNS, closed ports),
with the inside view through a real LocalTransport and stand-in postconf/ss."""

from __future__ import annotations

import json
import time

import pytest

from labkit.cli._output import to_jsonable
from labkit.doctor import Status, run_doctor
from labkit.errors import UsageError
from labkit.probes.server import TLS_FILE_PARAMS
from labkit.target import Target
from labkit.testing.fixtures import LAB_PASSWORD, LAB_USER
from labkit.testing.servers import masked_middlebox_server
from labkit.testing.smtpd import FakeMailServer
from labkit.transport import LocalTransport

USERS = {LAB_USER: LAB_PASSWORD}
POSTCONF_M_BLOG = "smtp       inet  n       -       n       -       -       smtpd\n"


def _target(dns, certs, smtp, smtps, submission, **kw) -> Target:
    return Target(
        address="127.0.0.1",
        nameserver=dns.host,
        dns_port=dns.port,
        cafile=str(certs.ca_path),
        smtp_port=smtp,
        smtps_port=smtps,
        submission_port=submission,
        password=LAB_PASSWORD,
        **kw,
    )


@pytest.fixture
def healthy(serve, certs, fixed_dns):
    context = certs.leaf("mail.zimmerman.test").server_context()
    smtp = serve(FakeMailServer(tls=context, users=USERS))
    smtps = serve(FakeMailServer(tls=context, implicit_tls=True, users=USERS))
    submission = serve(FakeMailServer(tls=context, users=USERS))
    return _target(fixed_dns, certs, smtp.port, smtps.port, submission.port)


def test_healthy_server_is_all_ok_and_fast(healthy):
    report = run_doctor(healthy)
    statuses = {f.status for f in report.findings}
    assert statuses <= {Status.OK, Status.INFO}, [
        f for f in report.findings if f.status not in (Status.OK, Status.INFO)
    ]
    assert report.ok and report.exit_code == 0 and report.worst is Status.INFO
    checks = {f.check for f in report.findings if f.status is Status.OK}
    assert checks >= {"ports", "greeting", "starttls", "certificate", "auth", "relay", "dns"}
    logged_in = [f for f in report.findings if f.check == "auth" and "logged in" in f.title]
    assert len(logged_in) == 3  # 25 (STARTTLS), 465, 587
    assert report.elapsed < 2.0


def test_report_views(healthy):
    report = run_doctor(healthy)
    frame = report.to_dataframe()
    assert list(frame.columns) == [
        "check",
        "target",
        "status",
        "title",
        "evidence",
        "hint",
        "learn_more",
    ]
    assert len(frame) == len(report.findings)
    assert set(frame["status"]) <= {"ok", "info"}
    data = report.to_dict()
    text = json.dumps(data)
    assert LAB_PASSWORD not in text and data["target"]["password"] == "****"
    assert data["counts"]["fail"] == 0
    assert LAB_PASSWORD not in repr(report.target)
    json.dumps(to_jsonable(report.findings))  # findings serialise cleanly


def test_blog_like_server_with_inside_view(
    serve, certs, blog_dns, closed, blackhole, fake_bin, tmp_path
):
    """The blog: self-signed on 25, 587 refused (not in master.cf), 465 dropped, DNS with
    MX -> CNAME; the inside view explains 587."""
    server = serve(
        FakeMailServer(
            hostname="metagross", users=USERS, tls=certs.self_signed("metagross").server_context()
        )
    )
    mail_log = tmp_path / "mail.log"
    mail_log.write_text(
        "Jul  7 01:08:00 metagross postfix/smtpd[9]: warning: hostname "
        "metagross.zimmerman.test does not resolve to address 127.0.0.1\n"
    )
    fake_bin(
        "postconf",
        {
            "-n": "myhostname = metagross\nmynetworks = 127.0.0.0/8\n",
            "-M": POSTCONF_M_BLOG,
            "-h maillog_file": str(mail_log),
            # any readable file: the stand-in server's certificate lives in memory
            "-xh " + " ".join(TLS_FILE_PARAMS): f"{mail_log}\n\n\n\n\n",
        },
    )
    fake_bin("ss", f"LISTEN 0 100 0.0.0.0:{server.port} 0.0.0.0:*\n")
    target = _target(blog_dns, certs, server.port, blackhole[1], closed[1], timeout=0.5)
    started = time.monotonic()
    report = run_doctor(target, LocalTransport())
    assert time.monotonic() - started < 1.5  # one timeout, not one per broken thing
    assert not report.ok and report.exit_code == 1
    by_check: dict[str, list] = {}
    for finding in report.findings:
        by_check.setdefault(finding.check, []).append(finding)
    ports = {f.target.rsplit(":", 1)[1]: f for f in by_check["ports"]}
    refused = ports[str(closed[1])]
    assert refused.status is Status.FAIL
    assert "Enable the submission service in /etc/postfix/master.cf" in refused.hint
    assert ports[str(blackhole[1])].status is Status.FAIL
    assert "DROP" in ports[str(blackhole[1])].hint
    assert any(f.status is Status.FAIL and "error 18" in f.title for f in by_check["certificate"])
    assert any("myhostname = mail.zimmerman.test" in f.hint for f in by_check["greeting"])
    dns_titles = " ".join(f.title for f in by_check["dns"])
    assert "is a CNAME" in dns_titles
    assert "inside" not in by_check  # every inside step ran
    assert [f.title for f in by_check["mail-log"]] == ["Reverse DNS mismatches in the log (1 line)"]


def test_without_transport_the_inside_is_reported_as_unchecked(healthy):
    report = run_doctor(healthy)
    inside = [f for f in report.findings if f.check == "inside"]
    assert len(inside) == 1 and inside[0].status is Status.INFO
    assert report.observations.server is None
    assert "server" in report.to_dict()["not_checked"]


def test_middlebox_is_diagnosed_end_to_end(serve, certs, fixed_dns, closed):
    box = serve(masked_middlebox_server())
    report = run_doctor(_target(fixed_dns, certs, box.port, closed[1], closed[1]))
    middlebox = [f for f in report.findings if f.check == "middlebox"]
    assert middlebox and middlebox[0].status is Status.FAIL
    assert "XXXXXXXA" in middlebox[0].evidence


def test_bad_target_is_a_usage_error_before_any_probe(tmp_path):
    with pytest.raises(UsageError):
        run_doctor(Target(address="not a host"))
    with pytest.raises(UsageError):
        run_doctor(Target(address="127.0.0.1", cafile=str(tmp_path / "none.pem")))


def test_doctor_target_is_the_lab_by_address_with_a_short_timeout(monkeypatch):
    from labkit.doctor import DOCTOR_TIMEOUT, doctor_target

    monkeypatch.setenv("LABKIT_NET_PREFIX", "10.1.2")
    target = doctor_target(timeout=None, mail_host="mx.example.test")
    assert target.address == "10.1.2.25" and target.host == "10.1.2.25"
    assert target.mail_host == "mx.example.test" and target.timeout == DOCTOR_TIMEOUT
    assert target.ports == (25, 465, 587) and target.password == "metagross2014"
    assert doctor_target(timeout=2.0).timeout == 2.0


def test_the_human_report_lists_what_json_calls_not_checked(healthy, capsys, monkeypatch):
    """Probe errors that only --json's not_checked showed are in the table view too."""
    from labkit.cli.doctor import render_report

    monkeypatch.setenv("COLUMNS", "200")
    report = run_doctor(healthy)
    not_checked = report.to_dict()["not_checked"]
    assert not_checked
    render_report(report)
    out = capsys.readouterr().out
    assert "Not checked" in out
    for step, why in not_checked.items():
        assert step in out and why.splitlines()[0][:60] in " ".join(out.split())
