"""No foreign exception leaks: every probe against every kind of misbehaving peer returns
a classified result (or raises a LabkitError), never a socket/ssl/dns exception."""

from __future__ import annotations

import contextlib
import socket
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labkit.errors import LabkitError
from labkit.probes.dns import DnsOutcome, lookup, mail_dns_report
from labkit.probes.smtp import Phase, SmtpResult, smtp_session
from labkit.probes.tcp import PortResult, probe_port
from labkit.probes.tls import TlsResult, probe_tls
from labkit.testing.servers import (
    ScriptServer,
    closing_server,
    garbage_server,
    masked_middlebox_server,
    silent_server,
    split_reply_server,
)

T = 0.25

PROBES = {
    "port": lambda h, p: probe_port(h, p, T),
    "smtp": lambda h, p: smtp_session(h, p, timeout=T),
    "smtp-starttls": lambda h, p: smtp_session(h, p, starttls=True, auth=("u", "p"), timeout=T),
    "smtp-implicit": lambda h, p: smtp_session(h, p, implicit_tls=True, timeout=T),
    "tls": lambda h, p: probe_tls(h, p, timeout=T),
    "tls-smtp": lambda h, p: probe_tls(h, p, starttls="smtp", timeout=T),
    "tls-imap": lambda h, p: probe_tls(h, p, starttls="imap", timeout=T),
}

SERVERS = {
    "silent": silent_server,
    "garbage": garbage_server,
    "split": split_reply_server,
    "close-at-connect": closing_server,
    "close-mid-reply": lambda: closing_server("EHLO"),
    "reset": lambda: closing_server("EHLO", reset=True),
    "middlebox": masked_middlebox_server,
}


@pytest.mark.parametrize("server_name", sorted(SERVERS))
@pytest.mark.parametrize("probe_name", sorted(PROBES))
def test_every_probe_against_every_misbehaving_server(serve, probe_name, server_name):
    server = serve(SERVERS[server_name]())
    result = PROBES[probe_name](server.host, server.port)
    assert isinstance(result, (PortResult, SmtpResult, TlsResult))


@pytest.mark.parametrize("probe_name", sorted(PROBES))
def test_every_probe_against_closed_and_blackhole_ports(probe_name, closed, blackhole):
    for host, port in (closed, blackhole):
        result = PROBES[probe_name](host, port)
        assert not result.ok


class _Payload:
    """A server that sends whatever bytes the current example chose, then closes."""

    def __init__(self) -> None:
        self.data = b""
        self.lock = threading.Lock()

    def handler(self, conn: socket.socket, stopping: threading.Event) -> None:
        conn.sendall(self.data)
        conn.settimeout(0.05)
        with contextlib.suppress(OSError):
            conn.recv(4096)  # let the client speak once, then hang up


@pytest.fixture(scope="module")
def payload_server():
    payload = _Payload()
    server = ScriptServer(payload.handler, name="payload").start()
    yield payload, server
    server.stop()


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.one_of(
        st.binary(max_size=200),
        st.lists(
            st.sampled_from(
                [
                    b"220 ok\r\n",
                    b"250-x\r\n",
                    b"250 y\r\n",
                    b"220-",
                    b"\r\n",
                    b"554 no\r\n",
                    b"\xff\x00",
                    b"250 STARTTLS\r\n",
                    b"\n",
                ]
            ),
            max_size=8,
        ).map(b"".join),
    )
)
def test_smtp_session_never_raises_on_arbitrary_server_bytes(payload_server, data):
    payload, server = payload_server
    with payload.lock:
        payload.data = data
        result = smtp_session(server.host, server.port, starttls=True, timeout=0.2)
    assert isinstance(result, SmtpResult)
    assert result.stopped_at is not Phase.CONNECT
    assert result.failure is not None  # it never completes STARTTLS with such a server


def test_dns_against_silent_garbage_and_refusing_servers(blog_dns, closed):
    for behaviour in ("drop", "garbage", "servfail", "refused"):
        blog_dns.misbehave(behaviour)
        answer = lookup(
            "zimmerman.test", "MX", nameserver=blog_dns.host, port=blog_dns.port, timeout=T
        )
        assert answer.outcome is not DnsOutcome.NOERROR
        report = mail_dns_report("zimmerman.test", blog_dns.host, port=blog_dns.port, timeout=T)
        assert not report.ok
    tcp = lookup("zimmerman.test", "MX", nameserver=closed[0], port=closed[1], tcp=True, timeout=T)
    assert tcp.outcome is DnsOutcome.ERROR and "cannot reach" in (tcp.error or "")


def test_misuse_is_always_a_labkit_error():
    calls = [
        lambda: probe_port("", 25),
        lambda: smtp_session("::::", 25),
        lambda: probe_tls("host", 99999),
        lambda: lookup("", "A", nameserver="127.0.0.1"),
        lambda: lookup("x.test", "A", nameserver="not-an-ip.invalid"),
    ]
    for call in calls:
        with pytest.raises(LabkitError):
            call()
