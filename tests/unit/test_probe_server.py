"""The inside view: pure parsers on captured output, and inspect_server through a real
LocalTransport with stand-in postconf/ss executables and a real local SMTP server."""

from __future__ import annotations

import textwrap

import pytest

from labkit.errors import TransportError
from labkit.probes.server import (
    TLS_FILE_PARAMS,
    LogEventKind,
    TlsFile,
    inspect_server,
    parse_local_dialog,
    parse_mail_log,
    parse_master,
    parse_postconf,
    parse_proc_net_tcp,
    parse_ss_listening,
    parse_tls_files,
)
from labkit.testing.smtpd import FakeMailServer
from labkit.transport import ExecResult, LocalTransport

# Captured from the lab's mx container (Debian 12, Postfix 3.7) in the "blog" scenario.
POSTCONF_N = """\
compatibility_level = 3.6
mydestination = $myhostname, $mydomain, metagross.zimmerman.test, localhost
mydomain = zimmerman.test
myhostname = metagross
mynetworks = 127.0.0.0/8 [::1]/128
smtpd_banner = $myhostname ESMTP $mail_name (Debian/GNU)
smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, defer_unauth_destination
smtpd_sasl_auth_enable = yes
smtpd_tls_auth_only = yes
smtpd_tls_cert_file = /etc/ssl/lab/selfsigned.crt
smtpd_tls_key_file = /etc/ssl/lab/selfsigned.key
smtpd_tls_security_level = may
"""

POSTCONF_M_BLOG = """\
smtp       inet  n       -       n       -       -       smtpd
pickup     unix  n       -       n       60      1       pickup
cleanup    unix  n       -       n       -       0       cleanup
qmgr       unix  n       -       n       300     1       qmgr
tlsmgr     unix  -       -       n       1000?   1       tlsmgr
relay      unix  -       -       n       -       -       smtp -o syslog_name=postfix/$service_name
postlog    unix-dgram n  -       n       -       1       postlogd
"""

_SUBMISSION_SMTPS = """\
submission inet  n       -       n       -       -       smtpd -o syslog_name=postfix/submission -o smtpd_tls_security_level=encrypt -o smtpd_sasl_auth_enable=yes
smtps      inet  n       -       n       -       -       smtpd -o syslog_name=postfix/smtps -o smtpd_tls_wrappermode=yes
127.0.0.1:10025 inet n   -       n       -       -       smtpd
"""  # noqa: E501
POSTCONF_M_FIXED = POSTCONF_M_BLOG + _SUBMISSION_SMTPS

SS_LTNPH = """\
LISTEN 0      4096   127.0.0.11:45055 0.0.0.0:*
LISTEN 0      100       0.0.0.0:993   0.0.0.0:* users:(("dovecot",pid=27,fd=35))
LISTEN 0      128       0.0.0.0:22    0.0.0.0:* users:(("sshd",pid=33,fd=3))
LISTEN 0      100       0.0.0.0:25    0.0.0.0:*
LISTEN 0      100       0.0.0.0:143   0.0.0.0:* users:(("dovecot",pid=27,fd=34))
LISTEN 0      128          [::]:22       [::]:* users:(("sshd",pid=33,fd=4))
"""

PROC_NET_TCP = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:0019 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 587 1
   1: 0100007F:22B8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 3827 1
   2: 1919D1AC:0019 641919AC:D2F4 01 00000000:00000000 00:00000000 00000000     0        0 0 1
  sl  local_address                         remote_address                        st tx_queue
   0: 00000000000000000000000000000000:0016 00000000000000000000000000000000:0000 0A 00000000
"""

MAIL_LOG = """\
2026-11-25T01:45:34.393764+00:00 metagross postfix/postfix-script[290]: the Postfix mail system is running: PID: 120
2026-11-25T01:50:01.123456+00:00 metagross postfix/smtpd[812]: warning: cannot get RSA certificate from file "/etc/ssl/lab/missing.crt": disabling TLS support
2026-11-25T01:50:01.123501+00:00 metagross postfix/smtpd[812]: warning: TLS library problem: error:80000002:system library::No such file or directory:../crypto/bio/bss_file.c:67:calling fopen(/etc/ssl/lab/missing.crt, r):
2026-11-25T01:50:02.000000+00:00 metagross postfix/smtpd[812]: NOQUEUE: reject: RCPT from workstation.zimmerman.test[172.29.25.100]: 454 4.7.1 <relay-test@example.net>: Relay access denied; from=<probe@example.net> to=<relay-test@example.net> proto=ESMTP helo=<[172.29.25.100]>
2026-11-25T01:50:03.000000+00:00 metagross postfix/submission/smtpd[820]: warning: workstation.zimmerman.test[172.29.25.100]: SASL PLAIN authentication failed: UGFzc3dvcmQ6
2026-11-25T01:50:04.000000+00:00 metagross postfix/smtpd[830]: warning: SASL: Connect to private/auth failed: No such file or directory
2026-11-25T01:50:04.000100+00:00 metagross postfix/smtpd[830]: fatal: no SASL authentication mechanisms
Jul  7 01:08:00 metagross postfix/smtp[1234]: connect to mx.example.net[192.0.2.10]:25: Connection refused
Jul  7 01:08:01 metagross postfix/smtpd[1240]: warning: hostname metagross.zimmerman.test does not resolve to address 172.29.25.25
Jul  7 01:08:02 metagross postfix/smtpd[1241]: SSL_accept error from workstation.zimmerman.test[172.29.25.100]: -1
Jul  7 01:08:02 metagross postfix/smtpd[1241]: warning: TLS library problem: error:0A000412:SSL routines::sslv3 alert bad certificate:../ssl/record/rec_layer_s3.c:1584:SSL alert number 42:
Jul  7 01:08:03 metagross postfix/master[1]: warning: process /usr/lib/postfix/sbin/smtpd pid 99 exit status 1
"""  # noqa: E501


def test_parse_postconf():
    params = parse_postconf(POSTCONF_N)
    assert params["myhostname"] == "metagross"
    assert params["smtpd_tls_auth_only"] == "yes"
    assert params["smtpd_relay_restrictions"].startswith("permit_mynetworks, ")


def test_parse_main_cf_with_comments_and_continuations():
    text = "# comment\nmynetworks = 127.0.0.0/8\n    [::1]/128\n\nmyhostname=mx\n"
    assert parse_postconf(text) == {"mynetworks": "127.0.0.0/8 [::1]/128", "myhostname": "mx"}


def test_parse_master_blog_has_no_submission():
    services = parse_master(POSTCONF_M_BLOG)
    inet = [(s.name, s.port) for s in services if s.type == "inet"]
    assert inet == [("smtp", 25)]
    relay = next(s for s in services if s.name == "relay")
    assert relay.options == {"syslog_name": "postfix/$service_name"} and relay.port is None


def test_parse_master_fixed_services_and_options():
    services = {s.name: s for s in parse_master(POSTCONF_M_FIXED)}
    assert services["submission"].port == 587 and services["smtps"].port == 465
    assert services["submission"].options["smtpd_tls_security_level"] == "encrypt"
    assert services["smtps"].options["smtpd_tls_wrappermode"] == "yes"
    assert services["127.0.0.1:10025"].port == 10025
    assert services["127.0.0.1:10025"].listen_address == "127.0.0.1"
    assert all(services[n].is_smtpd for n in ("smtp", "submission", "smtps"))


def test_parse_master_cf_itself_skips_commented_services_and_joins_continuations():
    text = textwrap.dedent("""\
        smtp      inet  n       -       y       -       -       smtpd
        #submission inet n       -       y       -       -       smtpd
        #  -o syslog_name=postfix/submission
        smtps     inet  n       -       y       -       -       smtpd
          -o syslog_name=postfix/smtps
          -o smtpd_tls_wrappermode=yes
        """)
    services = parse_master(text)
    assert [s.name for s in services] == ["smtp", "smtps"]
    assert services[1].options == {"syslog_name": "postfix/smtps", "smtpd_tls_wrappermode": "yes"}


def test_parse_ss_listening():
    sockets = parse_ss_listening(SS_LTNPH)
    assert [(s.address, s.port) for s in sockets][:4] == [
        ("127.0.0.11", 45055),
        ("0.0.0.0", 993),
        ("0.0.0.0", 22),
        ("0.0.0.0", 25),
    ]
    assert sockets[1].process == "dovecot" and sockets[3].process is None
    assert sockets[-1].address == "::" and sockets[0].loopback_only


def test_parse_ss_with_header():
    text = "State Recv-Q Send-Q Local Address:Port Peer Address:Port\n" + SS_LTNPH
    assert len(parse_ss_listening(text)) == 6


def test_parse_proc_net_tcp():
    sockets = parse_proc_net_tcp(PROC_NET_TCP)
    assert [(s.address, s.port) for s in sockets] == [
        ("0.0.0.0", 25),
        ("127.0.0.1", 8888),
        ("::", 22),
    ]


def test_parse_mail_log_recognises_known_lines():
    events = parse_mail_log(MAIL_LOG)
    kinds = [e.kind for e in events]
    assert kinds == [
        LogEventKind.TLS_CERT_MISSING,
        LogEventKind.TLS_LIBRARY_PROBLEM,
        LogEventKind.RELAY_DENIED,
        LogEventKind.SASL_AUTH_FAILED,
        LogEventKind.SASL_MISCONFIGURED,
        LogEventKind.SASL_MISCONFIGURED,
        LogEventKind.CONNECT_REFUSED,
        LogEventKind.REVERSE_DNS_MISMATCH,
        LogEventKind.TLS_HANDSHAKE_FAILED,
        LogEventKind.TLS_HANDSHAKE_FAILED,
        LogEventKind.WARNING,
    ]
    cert = events[0]
    assert cert.subject == "/etc/ssl/lab/missing.crt"
    assert cert.program == "postfix/smtpd" and cert.timestamp.startswith("2026-11-25T01:50:01")
    assert events[2].subject == "relay-test@example.net"
    assert events[3].program == "postfix/submission/smtpd"
    assert events[6].subject == "mx.example.net[192.0.2.10]:25"
    assert events[6].timestamp == "Jul  7 01:08:00"
    assert events[7].subject == "metagross.zimmerman.test"


def test_parse_local_dialog_refused():
    dialog = parse_local_dialog(
        "",
        "bash: connect: Connection refused\n"
        "bash: line 1: /dev/tcp/127.0.0.1/25: Connection refused\n",
        111,
    )
    assert not dialog.connected and not dialog.ok
    assert dialog.transcript.render_text().endswith("Connection refused")


def test_parse_local_dialog_garbage_reply():
    dialog = parse_local_dialog("hello there\n> EHLO localhost\n! no complete reply\n", "", 2)
    assert dialog.connected and not dialog.ok and dialog.banner is None


# ---------------------------------------------------------------- through a transport


@pytest.fixture
def fake_postfix(tmp_path, fake_bin):
    """postconf and ss stand-ins printing captured output; everything else is real."""
    (tmp_path / "lab.crt").write_text("a certificate")
    tls_values = f"{tmp_path / 'lab.crt'}\n{tmp_path / 'gone.key'}\n\n\n\n"
    fake_bin(
        "postconf",
        {
            "-n": POSTCONF_N,
            "-M": POSTCONF_M_FIXED,
            "-h maillog_file": "",
            "-xh " + " ".join(TLS_FILE_PARAMS): tls_values,
        },
    )
    fake_bin("ss", SS_LTNPH)
    (tmp_path / "mail.log").write_text(MAIL_LOG)
    return tmp_path


def test_inspect_server_through_a_local_transport(fake_postfix, serve):
    server = serve(FakeMailServer())
    result = inspect_server(
        LocalTransport(), smtp_port=server.port, mail_log=str(fake_postfix / "mail.log")
    )
    assert result.errors == ()
    assert result.vantage == "local shell"
    assert result.param("myhostname") == "metagross"
    assert result.service_for_port(587) is not None and result.service_for_port(2525) is None
    assert result.is_listening(25) is True and result.is_listening(587) is False
    assert result.is_listening(45055) is False  # loopback only
    kinds = {e.kind for e in result.events()}
    assert LogEventKind.TLS_CERT_MISSING in kinds
    assert "postfix-script" not in " ".join(e.line for e in result.events())
    assert result.tls_files == (
        TlsFile("smtpd_tls_cert_file", str(fake_postfix / "lab.crt"), "readable"),
        TlsFile("smtpd_tls_key_file", str(fake_postfix / "gone.key"), "missing"),
    )
    assert [f.line() for f in result.unusable_tls_files()] == [
        f"smtpd_tls_key_file = {fake_postfix / 'gone.key'}: no such file"
    ]
    dialog = result.local_smtp
    assert dialog is not None and dialog.ok
    assert dialog.offers("SIZE") and not dialog.offers("STARTTLS")
    assert dialog.banner is not None and dialog.banner.code == 220
    assert "> EHLO localhost" in dialog.transcript.render_text()
    assert result.elapsed < 5


def test_inspect_server_falls_back_to_proc_net_tcp(fake_postfix, fake_bin, serve):
    fake_bin("ss", "", exit_code=127, stderr="ss: command not found")
    server = serve(FakeMailServer())
    result = inspect_server(
        LocalTransport(), smtp_port=server.port, mail_log=str(fake_postfix / "mail.log")
    )
    assert result.listening is not None
    assert any(s.port == server.port for s in result.listening)
    assert result.errors == ()


def test_inspect_server_records_failing_steps(fake_postfix, fake_bin, closed):
    fake_bin("postconf", "", exit_code=1, stderr="postconf: fatal: open /etc/postfix/main.cf")
    result = inspect_server(
        LocalTransport(), smtp_port=closed[1], mail_log=str(fake_postfix / "no-such.log")
    )
    steps = {e.step for e in result.errors}
    assert steps == {"postconf", "master", "log", "tls-files"}
    assert result.postconf is None and result.services is None and result.log_events is None
    assert result.listening is not None
    assert result.local_smtp is not None and not result.local_smtp.connected
    assert any("main.cf" in e.message for e in result.errors)


class _Unreachable:
    description = "ssh root@mx"

    def run(self, argv, *, input=None, timeout=15.0) -> ExecResult:
        raise TransportError(
            "Cannot log in to mx over SSH: Connection refused", advice="Is the lab up?"
        )


def test_inspect_server_with_no_way_in_says_so_without_raising():
    result = inspect_server(_Unreachable())
    assert len(result.errors) == 6
    assert all("Cannot log in" in e.message for e in result.errors)
    assert result.local_smtp is None and result.is_listening(25) is None


def test_only_log_lines_since_the_last_reload_count(fake_postfix, closed):
    log = fake_postfix / "mail.log"
    log.write_text(
        "2026-11-25T01:00:00+00:00 metagross postfix/smtpd[10]: warning: cannot get RSA "
        'certificate from file "/etc/ssl/private/old.pem": disabling TLS support\n'
        "2026-11-25T01:05:00+00:00 metagross postfix/master[1]: reload -- version 3.7.11, "
        "configuration /etc/postfix\n"
        "2026-11-25T01:06:00+00:00 metagross postfix/smtpd[11]: warning: hostname x does "
        "not resolve to address 192.0.2.1\n"
    )
    result = inspect_server(LocalTransport(), smtp_port=closed[1], mail_log=str(log))
    lines = " ".join(e.line for e in result.events())
    assert "old.pem" not in lines  # about a configuration that no longer runs
    assert "does not resolve" in lines


def test_parse_tls_files_skips_lines_of_another_shape():
    text = (
        "smtpd_tls_cert_file missing /etc/ssl/lab/missing.crt\n"
        "postconf: warning: unknown parameter\n"
        "smtpd_tls_key_file unreadable /etc/ssl/private/lab key.pem\n"
        "smtpd_tls_cert_file sideways /x\n"
    )
    assert parse_tls_files(text) == (
        TlsFile("smtpd_tls_cert_file", "/etc/ssl/lab/missing.crt", "missing"),
        TlsFile("smtpd_tls_key_file", "/etc/ssl/private/lab key.pem", "unreadable"),
    )
