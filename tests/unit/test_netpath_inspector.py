"""The SMTP inspector: masking, limits, splitting and pipelining, then as a real proxy."""

from __future__ import annotations

import smtplib
import socket
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labkit.netpath.inspector import Inspection, Policy, mask_keyword
from labkit.testing.middlebox import RunningInspector
from labkit.testing.smtpd import FakeMailServer

BANNER = b"220 metagross ESMTP Postfix (Debian/GNU)\r\n"
EHLO_REPLY = (
    b"250-metagross\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-VRFY\r\n250-ETRN\r\n"
    b"250-STARTTLS\r\n250-AUTH PLAIN LOGIN\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n"
    b"250-DSN\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n"
)


def greeted() -> Inspection:
    box = Inspection()
    box.from_server(BANNER)
    return box


def test_banner_text_becomes_stars_of_the_same_length() -> None:
    out = Inspection().from_server(BANNER)
    assert out.to_client == b"220 " + b"*" * len(BANNER[4:-2]) + b"\r\n"
    assert "metagross ESMTP" in str(out.events[0])


def test_banner_is_kept_when_the_policy_allows_it() -> None:
    out = Inspection(Policy(mask_banner=False)).from_server(BANNER)
    assert out.to_client == BANNER and not out.events


def test_ehlo_reply_masks_starttls_auth_and_unknown_extensions_keeping_lengths() -> None:
    box = greeted()
    assert box.from_client(b"EHLO laptop\r\n").to_server == b"EHLO laptop\r\n"
    out = box.from_server(EHLO_REPLY)
    lines = out.to_client.decode().splitlines()
    assert lines == [
        "250-metagross",
        "250-PIPELINING",
        "250-SIZE 10240000",
        "250-VRFY",
        "250-ETRN",
        "250-XXXXXXXA",
        "250-XXXXXXXXXXXXXXXB",
        "250-ENHANCEDSTATUSCODES",
        "250-8BITMIME",
        "250-DSN",
        "250-XXXXXXXC",
        "250 XXXXXXXD",
    ]
    assert [len(a) for a in lines] == [len(b) for b in EHLO_REPLY.decode().splitlines()]
    masked = [str(e) for e in out.events]
    assert "masked-ehlo-parameter: STARTTLS -> XXXXXXXA" in masked
    assert any("AUTH PLAIN LOGIN" in m for m in masked)


def test_only_the_ehlo_reply_is_masked_not_other_replies() -> None:
    box = greeted()
    box.from_client(b"HELP\r\n")
    assert box.from_server(b"250-STARTTLS is a verb\r\n250 ok\r\n").to_client == (
        b"250-STARTTLS is a verb\r\n250 ok\r\n"
    )


def test_starttls_command_is_masked_on_its_way_and_xxxxxxxa_passes_as_typed() -> None:
    box = greeted()
    out = box.from_client(b"starttls\r\n")
    assert out.to_server == b"XXXXXXXA\r\n"
    assert "STARTTLS sent as XXXXXXXA" in str(out.events[0])
    reply = b"500 5.5.2 Error: command not recognized\r\n"
    assert box.from_server(reply).to_client == reply
    typed = box.from_client(b"XXXXXXXA\r\n")
    assert typed.to_server == b"XXXXXXXA\r\n" and not typed.events


def test_starttls_from_telnet_is_recognised_despite_its_cr_nul() -> None:
    """telnet sends a CR as CR NUL: ``STARTTLS\\r\\0\\r\\n``, which Postfix reads as STARTTLS."""
    box = greeted()
    assert box.from_client(b"STARTTLS\r\0\r\n").to_server == b"XXXXXXXA\r\n"
    assert box.from_client(b"  ehlo\tlaptop\r\n").to_server == b"  ehlo\tlaptop\r\n"
    assert box._pending[-1] == "EHLO"


def test_allowed_tls_passes_starttls_and_then_stops_reading() -> None:
    box = Inspection(Policy(allow_tls=True))
    box.from_server(BANNER)
    box.from_client(b"EHLO x\r\n")
    assert b"250-STARTTLS" in box.from_server(EHLO_REPLY).to_client
    assert box.from_client(b"STARTTLS\r\n").to_server == b"STARTTLS\r\n"
    box.from_server(b"220 2.0.0 Ready to start TLS\r\n")
    hello = bytes(range(256)) * 4  # a TLS ClientHello is binary, with no line structure
    assert box.from_client(hello).to_server == hello


def test_command_line_limit_is_512_bytes_including_crlf() -> None:
    box = greeted()
    ok = b"NOOP " + b"a" * 505 + b"\r\n"
    assert len(ok) == 512 and box.from_client(ok).to_server == ok
    out = box.from_client(b"NOOP " + b"a" * 506 + b"\r\n")
    assert out.drop and "513 bytes" in out.drop and out.to_server == b""
    assert box.from_client(b"NOOP\r\n").drop  # stays dropped


def test_a_client_that_never_ends_its_line_is_dropped_without_buffering_it_all() -> None:
    box = greeted()
    out = None
    for _ in range(100):
        out = box.from_client(b"A" * 4096)
        if out.drop:
            break
    assert out is not None and out.drop and "without an end" in out.drop
    assert len(box._client_buf) < 10_000


def test_more_than_100_recipients_drop_the_connection_but_each_message_counts_anew() -> None:
    box = greeted()
    box.from_client(b"MAIL FROM:<a@b>\r\n" + b"RCPT TO:<x@zimmerman.test>\r\n" * 100)
    assert not box.dropped
    box.from_client(b"RSET\r\nMAIL FROM:<a@b>\r\n" + b"RCPT TO:<x@zimmerman.test>\r\n" * 100)
    assert not box.dropped
    out = box.from_client(b"RCPT TO:<y@zimmerman.test>\r\n")
    assert out.drop and "100 RCPT" in out.drop


def test_pipelined_message_body_waits_for_354_and_passes_unchanged() -> None:
    box = greeted()
    box.from_client(b"EHLO x\r\n")
    box.from_server(EHLO_REPLY)
    body = b"Subject: STARTTLS\r\n\r\nSTARTTLS\r\n..leading dot\r\n" + b"x" * 2000 + b"\r\n.\r\n"
    out = box.from_client(b"MAIL FROM:<a@b>\r\nRCPT TO:<jez@zimmerman.test>\r\nDATA\r\n" + body)
    assert out.to_server == b"MAIL FROM:<a@b>\r\nRCPT TO:<jez@zimmerman.test>\r\nDATA\r\n"
    released = box.from_server(b"250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with .\r\n")
    assert released.to_server == body  # "STARTTLS" in a body is text, not a command
    assert box.from_client(b"STARTTLS\r\n").to_server == b"XXXXXXXA\r\n"  # commands again


def test_refused_data_keeps_the_following_lines_as_commands() -> None:
    box = greeted()
    box.from_client(b"DATA\r\nSTARTTLS\r\n")
    out = box.from_server(b"503 5.5.1 Error: need RCPT command\r\n")
    assert out.to_server == b"XXXXXXXA\r\n"


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=60))
def test_chunking_does_not_change_what_passes(cuts: list[int]) -> None:
    """However TCP splits the stream, the inspector forwards exactly the same bytes."""
    client = (
        b"EHLO laptop\r\nSTARTTLS\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n"
        b"hi\r\n.\r\nQUIT\r\n"
    )
    replies = [BANNER, EHLO_REPLY, b"500 5.5.2 no\r\n", b"250 ok\r\n250 ok\r\n354 go\r\n"]

    def run(split: bool) -> tuple[bytes, bytes]:
        box = Inspection()
        to_client = box.from_server(replies[0]).to_client
        to_server = b""
        pieces = [client]
        if split:
            pieces, rest, i = [], client, 0
            while rest:
                n = cuts[i % len(cuts)]
                pieces.append(rest[:n])
                rest, i = rest[n:], i + 1
        for piece in pieces:
            to_server += box.from_client(piece).to_server
        for reply in replies[1:]:
            chunks = [reply[i : i + 3] for i in range(0, len(reply), 3)] if split else [reply]
            for chunk in chunks:
                out = box.from_server(chunk)
                to_client += out.to_client
                to_server += out.to_server
        return to_client, to_server

    assert run(split=True) == run(split=False)


def test_mask_keyword() -> None:
    assert mask_keyword("STARTTLS", 0) == "XXXXXXXA"
    assert mask_keyword("AUTH PLAIN", 1) == "XXXXXXXXXB"


# --------------------------------------------------------------- as a real proxy


def test_real_client_through_the_proxy_sees_no_starttls_yet_mail_still_flows(tmp_path) -> None:
    from labkit.testing.certs import CertFactory

    leaf = CertFactory(tmp_path).leaf("mail.zimmerman.test")
    with (
        FakeMailServer(tls=leaf.server_context()) as server,
        RunningInspector((server.host, server.port)) as box,
    ):
        with smtplib.SMTP(box.host, box.port, timeout=5) as client:
            assert client.ehlo("laptop")[0] == 250
            assert not client.has_extn("starttls")
            assert "XXXXXXXA" in client.ehlo_resp.decode()
            with pytest.raises(smtplib.SMTPNotSupportedError):
                client.starttls()
            code, _ = client.docmd("STARTTLS")
            assert code in (500, 502)  # the server never saw STARTTLS
            client.sendmail("a@example.net", ["jez@zimmerman.test"], b"Subject: hi\r\n\r\nbody\r\n")
        assert [m.rcpt_tos for m in server.messages] == [("jez@zimmerman.test",)]
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline and not any("closed" in ln for ln in box.log):
            time.sleep(0.02)
        assert any("STARTTLS -> XXXXXXXA" in ln for ln in box.log)
        assert any("STARTTLS sent as XXXXXXXA" in ln for ln in box.log)


def test_a_dropped_connection_is_reset_for_the_client() -> None:
    with FakeMailServer() as server, RunningInspector((server.host, server.port)) as box:
        with socket.create_connection((box.host, box.port), timeout=5) as s:
            assert s.recv(1024).startswith(b"220 ***")
            s.sendall(b"NOOP " + b"a" * 1000 + b"\r\n")
            with pytest.raises((ConnectionResetError, ConnectionAbortedError)):
                while s.recv(1024):
                    pass
                raise ConnectionResetError  # a plain EOF would also end the session
        assert any("dropped" in ln for ln in box.log)


def test_an_unreachable_server_closes_the_client_and_says_why() -> None:
    from labkit.testing.servers import closed_port

    with closed_port() as port, RunningInspector(("127.0.0.1", port)) as box:
        with socket.create_connection((box.host, box.port), timeout=5) as s:
            assert s.recv(1024) == b""
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline and not box.log:
            time.sleep(0.02)
        assert any("cannot reach the server" in ln for ln in box.log)
