"""probe_port / scan_ports against a real closed port, a black hole and a listener."""

from __future__ import annotations

import errno
import time

import pytest

from labkit.errors import UsageError
from labkit.probes.tcp import PortState, connect, probe_port, scan_ports, validate_target
from labkit.testing.servers import silent_server


def test_open_port(serve):
    server = serve(silent_server())
    result = probe_port(server.host, server.port)
    assert result.state is PortState.OPEN
    assert result.ok
    assert result.address == "127.0.0.1"
    assert result.errno_name is None
    assert result.elapsed < 1


def test_refused_port_carries_errno_name_and_local_number(closed):
    host, port = closed
    result = probe_port(host, port)
    assert result.state is PortState.REFUSED
    assert not result.ok
    assert result.errno_name == "ECONNREFUSED"
    assert result.errno_number == errno.ECONNREFUSED  # 111 on Linux, 61 on macOS
    assert "61" in result.explanation and "111" in result.explanation
    assert "ECONNREFUSED" in result.summary()


def test_dropped_syn_is_a_timeout_not_a_refusal(blackhole):
    host, port = blackhole
    started = time.monotonic()
    result = probe_port(host, port, timeout=0.3)
    assert result.state is PortState.TIMEOUT
    assert result.errno_name == "ETIMEDOUT"
    assert 0.25 < time.monotonic() - started < 2
    assert "DROP" in result.explanation


def test_unresolvable_name():
    result = probe_port("no-such-host.invalid", 25, timeout=1)
    assert result.state is PortState.NAME_ERROR
    assert result.address is None
    assert result.errno_name and result.errno_name.startswith("EAI_")


@pytest.mark.parametrize(
    ("host", "port", "fragment"),
    [
        ("mail.zimmerman.test:25", 25, "colon"),
        ("smtp://mail.zimmerman.test", 25, "URL"),
        ("", 25, "No host"),
        ("bad host", 25, "not a valid host"),
        ("mail.zimmerman.test", 0, "out of range"),
        ("mail.zimmerman.test", 70000, "out of range"),
        ("mail.zimmerman.test", "smtp", "not a number"),
        ("a..b", 25, "not a valid host"),
    ],
)
def test_malformed_targets_raise_usage_error_with_advice(host, port, fragment):
    with pytest.raises(UsageError) as info:
        probe_port(host, port)
    assert fragment in info.value.message
    assert info.value.advice


def test_ip_literals_and_string_ports_are_accepted():
    assert validate_target("[::1]", "587") == ("::1", 587)
    assert validate_target(" 127.0.0.1 ", 25) == ("127.0.0.1", 25)


def test_connect_hands_back_a_usable_socket(serve):
    server = serve(silent_server())
    sock, result = connect(server.host, server.port, 1.0)
    try:
        assert sock is not None and result.ok
        sock.sendall(b"hello\r\n")
    finally:
        assert sock is not None
        sock.close()


def test_scan_is_concurrent_and_keeps_order(serve, closed, blackhole):
    server = serve(silent_server())
    ports = [server.port, closed[1], blackhole[1]]
    started = time.monotonic()
    results = scan_ports("127.0.0.1", ports, timeout=0.4)
    elapsed = time.monotonic() - started
    assert [r.port for r in results] == ports
    assert [r.state for r in results] == [PortState.OPEN, PortState.REFUSED, PortState.TIMEOUT]
    assert elapsed < 0.8  # one timeout in total, not one per port


def test_scan_validates_everything_before_sending():
    with pytest.raises(UsageError):
        scan_ports("127.0.0.1", [25, 0])
    assert scan_ports("127.0.0.1", []) == ()
