"""smtp_session against real servers on 127.0.0.1: aiosmtpd and misbehaving scripts."""

from __future__ import annotations

import time

import pytest

from labkit.errors import UsageError
from labkit.probes.smtp import (
    AnomalyKind,
    Direction,
    Phase,
    ReplyCode,
    SmtpFailure,
    smtp_session,
)
from labkit.probes.tcp import PortState
from labkit.testing.fixtures import LAB_PASSWORD, LAB_USER
from labkit.testing.servers import (
    closing_server,
    garbage_server,
    masked_middlebox_server,
    scripted_smtp_server,
    silent_server,
    split_reply_server,
)
from labkit.testing.smtpd import FakeMailServer

RELAY_TEST = ("MAIL FROM:<probe@example.net>", "RCPT TO:<relay-test@example.net>")


@pytest.fixture
def tls_server(serve, certs):
    """Like the lab's Postfix: STARTTLS, AUTH only after TLS, relay denied."""
    leaf = certs.leaf("mail.zimmerman.test")
    return serve(FakeMailServer(tls=leaf.server_context(), users={LAB_USER: LAB_PASSWORD}))


def test_plain_dialog_reads_banner_and_capabilities(serve):
    server = serve(FakeMailServer())
    result = smtp_session(server.host, server.port, timeout=2)
    assert result.ok and result.stopped_at is Phase.DONE and result.failure is None
    assert result.banner is not None and result.banner.code == ReplyCode.SERVICE_READY
    assert result.ehlo_name == "mail.zimmerman.test"
    assert result.capabilities_before_tls["SIZE"] == ("10240000",)
    assert result.capabilities_after_tls is None
    assert not result.offers("STARTTLS") and not result.offers("AUTH")
    assert result.reply_to("QUIT") is not None and result.reply_to("QUIT").code == 221
    assert result.elapsed < 1


def test_transcript_renders_like_the_blog(serve):
    server = serve(FakeMailServer())
    result = smtp_session(server.host, server.port, helo="[206.71.229.162]")
    text = result.transcript.render_text().splitlines()
    assert text[0] == f"$ telnet 127.0.0.1 {server.port}"
    assert text[1] == "  Trying 127.0.0.1..."
    assert text[2] == "  Connected to 127.0.0.1."
    assert text[3] == "  Escape character is '^]'."
    assert text[4].startswith("  220 mail.zimmerman.test")
    assert text[5] == "> EHLO [206.71.229.162]"
    assert text[6] == "  250-mail.zimmerman.test"
    assert "> QUIT" in text


def test_transcript_html_escapes_and_marks_client_lines(serve):
    server = serve(FakeMailServer())
    result = smtp_session(server.host, server.port, commands=RELAY_TEST)
    html = result.transcript.render_html()
    assert html.startswith('<pre class="labkit-transcript">')
    assert "MAIL FROM:&lt;probe@example.net&gt;" in html
    assert "<probe@" not in html
    assert '<span class="labkit-client"' in html and '<span class="labkit-server"' in html
    assert result.transcript._repr_html_() == html


def test_starttls_then_auth_shows_auth_only_after_tls(tls_server):
    result = smtp_session(
        tls_server.host, tls_server.port, starttls=True, auth=(LAB_USER, LAB_PASSWORD), timeout=2
    )
    assert result.ok, result.reason
    assert result.offers("STARTTLS", after_tls=False)
    assert not result.offers("AUTH", after_tls=False)  # smtpd_tls_auth_only = yes
    assert result.auth_mechanisms(after_tls=True) == ("LOGIN", "PLAIN")
    assert result.authenticated is True
    assert result.tls is not None and result.tls.version.startswith("TLSv1.")
    assert result.tls.leaf is not None and result.tls.leaf.common_name == "mail.zimmerman.test"
    assert result.tls.verification is None  # not asked to verify


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_password_never_appears_anywhere(tls_server, mechanism):
    import base64

    result = smtp_session(
        tls_server.host, tls_server.port, starttls=True, auth=(LAB_USER, LAB_PASSWORD, mechanism)
    )
    assert result.authenticated
    rendered = result.transcript.render_text() + result.transcript.render_html() + repr(result)
    assert LAB_PASSWORD not in rendered
    assert base64.b64encode(LAB_PASSWORD.encode()).decode() not in rendered
    assert base64.b64encode(f"\0{LAB_USER}\0{LAB_PASSWORD}".encode()).decode() not in rendered
    expected = "> AUTH PLAIN ****" if mechanism == "PLAIN" else "> ****"
    assert expected in result.transcript.render_text().splitlines()


def test_raw_auth_command_is_redacted_too(tls_server):
    result = smtp_session(
        tls_server.host,
        tls_server.port,
        starttls=True,
        commands=("AUTH PLAIN AGplekB6aW1tZXJtYW4udGVzdABzZWNyZXQ=",),
    )
    assert "AGplekB6" not in result.transcript.render_text()
    assert "> AUTH PLAIN ****" in result.transcript.render_text()


def test_wrong_password_is_auth_failed(tls_server):
    result = smtp_session(tls_server.host, tls_server.port, starttls=True, auth=(LAB_USER, "wrong"))
    assert result.stopped_at is Phase.AUTH
    assert result.failure is SmtpFailure.AUTH_FAILED
    assert result.authenticated is False
    assert "535" in result.reason
    assert result.reply_to("QUIT") is not None  # still said goodbye


def test_auth_without_tls_explains_tls_auth_only(tls_server):
    result = smtp_session(tls_server.host, tls_server.port, auth=(LAB_USER, LAB_PASSWORD))
    assert result.stopped_at is Phase.AUTH and result.failure is SmtpFailure.NOT_OFFERED
    assert "smtpd_tls_auth_only" in result.reason


def test_starttls_not_offered_points_at_postfix_settings(serve):
    server = serve(FakeMailServer())
    result = smtp_session(server.host, server.port, starttls=True)
    assert result.stopped_at is Phase.STARTTLS
    assert result.failure is SmtpFailure.NOT_OFFERED
    assert "smtpd_tls_cert_file" in result.reason
    assert not result.middlebox_suspected


def test_relay_denied_is_a_rejection_at_rcpt_with_enhanced_code(tls_server):
    result = smtp_session(tls_server.host, tls_server.port, commands=RELAY_TEST)
    assert result.stopped_at is Phase.RCPT and result.failure is SmtpFailure.REJECTED
    reply = result.reply_to("RCPT")
    assert reply is not None and reply.code == 454
    assert str(reply.enhanced) == "4.7.1"
    assert "Relay access denied" in reply.message and not reply.message.startswith("4.7.1")


def test_relay_accepted_after_auth_and_for_an_open_relay(tls_server, serve):
    authed = smtp_session(
        tls_server.host,
        tls_server.port,
        starttls=True,
        auth=(LAB_USER, LAB_PASSWORD),
        commands=RELAY_TEST,
    )
    assert authed.ok and authed.reply_to("RCPT").positive
    open_relay = serve(FakeMailServer(open_relay=True))
    result = smtp_session(open_relay.host, open_relay.port, commands=RELAY_TEST)
    assert result.ok and result.reply_to("RCPT").code == 250


def test_data_sends_a_dot_stuffed_message(serve):
    server = serve(FakeMailServer())
    result = smtp_session(
        server.host,
        server.port,
        commands=("MAIL FROM:<a@example.net>", "RCPT TO:<jez@zimmerman.test>", "DATA"),
        message="Subject: hi\r\n\r\n.leading dot\r\nbye\r\n",
    )
    assert result.ok, result.reason
    assert len(server.messages) == 1
    assert b"\r\n.leading dot\r\n" in server.messages[0].content
    assert result.reply_to(".").code == 250


def test_implicit_tls_on_465_style_port(serve, certs):
    leaf = certs.leaf("mail.zimmerman.test")
    server = serve(
        FakeMailServer(tls=leaf.server_context(), implicit_tls=True, users={LAB_USER: LAB_PASSWORD})
    )
    result = smtp_session(
        server.host,
        server.port,
        implicit_tls=True,
        auth=(LAB_USER, LAB_PASSWORD),
        cafile=str(certs.ca_path),
        verify=True,
        servername="mail.zimmerman.test",
    )
    assert result.ok, result.reason
    assert result.transcript.lines[0].text.startswith("openssl s_client -connect")
    assert result.capabilities_after_tls is not None and "AUTH" in result.capabilities_after_tls
    assert result.tls is not None and result.tls.verification is not None
    assert result.tls.verification.code == 0


def test_plaintext_client_on_tls_port_hears_nothing(serve, certs):
    leaf = certs.leaf("mail.zimmerman.test")
    server = serve(FakeMailServer(tls=leaf.server_context(), implicit_tls=True))
    result = smtp_session(server.host, server.port, timeout=0.3)
    assert result.stopped_at is Phase.BANNER and result.failure is SmtpFailure.TIMEOUT
    assert "implicit TLS" in result.reason


def test_tls_on_plaintext_port_explains_wrong_version(serve):
    server = serve(FakeMailServer())
    result = smtp_session(server.host, server.port, implicit_tls=True, timeout=2)
    assert result.stopped_at is Phase.TLS_HANDSHAKE
    assert result.failure is SmtpFailure.TLS_FAILED
    assert "STARTTLS" in result.reason


def test_verify_true_stops_on_self_signed_certificate(serve, certs):
    server = serve(FakeMailServer(tls=certs.self_signed("mail.zimmerman.test").server_context()))
    result = smtp_session(
        server.host,
        server.port,
        starttls=True,
        verify=True,
        cafile=str(certs.ca_path),
        servername="mail.zimmerman.test",
    )
    assert result.stopped_at is Phase.TLS_HANDSHAKE
    assert "18" in result.reason and "self-signed" in result.reason


def test_masked_middlebox_is_flagged(serve):
    server = serve(masked_middlebox_server())
    result = smtp_session(server.host, server.port, starttls=True)
    kinds = {a.kind for a in result.anomalies}
    assert kinds == {AnomalyKind.MASKED_BANNER, AnomalyKind.MASKED_EXTENSION}
    assert result.middlebox_suspected
    assert result.stopped_at is Phase.STARTTLS and result.failure is SmtpFailure.NOT_OFFERED
    assert "XXXXXXXA" in result.reason
    assert "XXXXXXXA" in result.capabilities_before_tls


def test_reply_split_into_one_byte_packets_is_reassembled(serve):
    server = serve(split_reply_server())
    result = smtp_session(server.host, server.port, timeout=3)
    assert result.ok, result.reason
    assert set(result.capabilities_before_tls) == {
        "PIPELINING",
        "SIZE",
        "ENHANCEDSTATUSCODES",
        "8BITMIME",
    }


def test_silent_server_times_out_at_banner_without_hanging(serve):
    server = serve(silent_server())
    started = time.monotonic()
    result = smtp_session(server.host, server.port, timeout=0.3)
    assert time.monotonic() - started < 1.5
    assert result.connection.state is PortState.OPEN
    assert result.stopped_at is Phase.BANNER and result.failure is SmtpFailure.TIMEOUT


def test_garbage_is_classified_at_once(serve):
    server = serve(garbage_server())
    started = time.monotonic()
    result = smtp_session(server.host, server.port, timeout=5)
    assert time.monotonic() - started < 1  # recognised without waiting for the deadline
    assert result.stopped_at is Phase.BANNER and result.failure is SmtpFailure.GARBAGE
    server_lines = [ln.text for ln in result.transcript if ln.direction is Direction.SERVER]
    assert server_lines and server_lines[0].startswith("\\x00")


def test_close_in_the_middle_of_a_reply(serve):
    server = serve(closing_server("EHLO"))
    result = smtp_session(server.host, server.port, timeout=2)
    assert result.stopped_at is Phase.EHLO and result.failure is SmtpFailure.CLOSED
    assert "middle" in result.reason
    text = result.transcript.render_text()
    assert "  250-SIZ" in text and "Connection closed by foreign host." in text


def test_close_right_after_accept_mentions_docker_proxy(serve):
    server = serve(closing_server("CONNECT"))
    result = smtp_session(server.host, server.port, timeout=2)
    assert result.stopped_at is Phase.BANNER and result.failure is SmtpFailure.CLOSED
    assert "docker-proxy" in result.reason


def test_reset_mid_dialog_is_reset(serve):
    server = serve(closing_server("EHLO", reset=True))
    result = smtp_session(server.host, server.port, timeout=2)
    assert result.stopped_at is Phase.EHLO
    assert result.failure in (SmtpFailure.RESET, SmtpFailure.CLOSED)


def test_refused_port_stops_at_connect_like_telnet(closed):
    host, port = closed
    result = smtp_session(host, port)
    assert result.stopped_at is Phase.CONNECT and result.failure is SmtpFailure.CONNECT_FAILED
    assert result.connection.state is PortState.REFUSED
    assert result.transcript.render_text().endswith(
        "telnet: Unable to connect to remote host: Connection refused"
    )
    assert "111" in result.reason or "61" in result.reason


def test_service_refused_in_banner(serve):
    server = serve(scripted_smtp_server(banner=b"554 5.7.1 No SMTP service here\r\n"))
    result = smtp_session(server.host, server.port)
    assert result.stopped_at is Phase.BANNER and result.failure is SmtpFailure.REJECTED
    assert "554" in result.reason


def test_ehlo_refused_falls_back_to_helo(serve):
    server = serve(
        scripted_smtp_server(replies={"EHLO": b"500 5.5.2 Error: command not recognized\r\n"})
    )
    result = smtp_session(server.host, server.port)
    assert result.ok and result.used_helo
    assert result.capabilities_before_tls == {}
    assert "> HELO [127.0.0.1]" in result.transcript.render_text()


def test_bare_lf_is_tolerated_and_flagged(serve):
    server = serve(
        scripted_smtp_server(
            banner=b"220 lf.test ESMTP\n", replies={"EHLO": b"250-lf.test\n250 8BITMIME\n"}
        )
    )
    result = smtp_session(server.host, server.port)
    assert result.ok
    assert AnomalyKind.BARE_LF in {a.kind for a in result.anomalies}


@pytest.mark.parametrize(
    "kwargs",
    [
        {"starttls": True, "implicit_tls": True},
        {"commands": ("RCPT TO:<a@b>\r\nDATA",)},
        {"commands": ("",)},
        {"commands": ("DATA",)},
        {"auth": ("user", "pw", "CRAM-MD5")},
        {"auth": ("only-user",)},
        {"helo": "two words"},
    ],
)
def test_misuse_raises_usage_error_before_connecting(kwargs, closed):
    with pytest.raises(UsageError) as info:
        smtp_session(*closed, **kwargs)
    assert info.value.advice


def test_missing_cafile_is_usage_error(closed):
    with pytest.raises(UsageError, match="cannot be read"):
        smtp_session(*closed, starttls=True, cafile="/nonexistent/ca.pem")
