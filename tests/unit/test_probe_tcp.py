"""probe_port / scan_ports against a real closed port, a black hole and a listener."""

from __future__ import annotations

import errno
import time

import pytest

from labkit.errors import UsageError
from labkit.probes.tcp import (
    IcmpError,
    PortResult,
    PortState,
    connect,
    parse_extended_error,
    probe_port,
    scan_ports,
    validate_target,
)
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


# --- the ICMP message behind "No route to host" -------------------------------------------


def _extended_error(origin: int, icmp_type: int, code: int, sender: bytes) -> bytes:
    import struct

    header = struct.pack("=IBBBBII", 113, origin, icmp_type, code, 0, 0, 0)
    return header + sender


def test_an_admin_prohibited_icmp_is_named_with_its_router():
    import socket as s

    offender = struct_sockaddr_in("10.125.25.65")
    icmp = parse_extended_error(_extended_error(2, 3, 13, offender), s.AF_INET)
    assert icmp == IcmpError(3, 13, "10.125.25.65", 4)
    assert icmp.prohibited and str(icmp) == (
        "ICMP communication administratively prohibited (type 3 code 13) from 10.125.25.65"
    )
    result = PortResult(
        "mx",
        587,
        PortState.UNREACHABLE,
        "10.125.25.25",
        0.01,
        "EHOSTUNREACH",
        113,
        "No route to host",
        icmp,
    )
    assert "A firewall refused the connection" in result.explanation
    assert result.summary().endswith("(type 3 code 13) from 10.125.25.65")


def test_a_host_unreachable_is_not_called_a_firewall():
    icmp = parse_extended_error(_extended_error(2, 3, 1, struct_sockaddr_in("192.0.2.1")))
    assert icmp is not None and icmp.name == "host unreachable" and not icmp.prohibited
    result = PortResult("mx", 25, PortState.UNREACHABLE, "192.0.2.9", 0.01, icmp=icmp)
    assert "firewall refused" not in result.explanation and "192.0.2.1" in result.explanation


def test_other_error_queue_entries_and_short_data_are_ignored():
    assert parse_extended_error(b"short") is None
    assert parse_extended_error(_extended_error(1, 0, 0, b"")) is None  # a local error


def struct_sockaddr_in(address: str) -> bytes:
    import socket as s
    import struct

    return struct.pack("=HH4s8x", s.AF_INET, 0, s.inet_aton(address))


# --- a silent port beside answering ones: a DROP, told in a fraction of the timeout -------


def test_a_silent_port_is_cut_short_once_the_host_answered_elsewhere(serve, blackhole, closed):
    import time as clock

    server = serve(silent_server())
    assert server.host == blackhole[0] == closed[0]
    seen = []
    started = clock.monotonic()
    results = scan_ports(
        server.host,
        [server.port, blackhole[1], closed[1]],
        timeout=5,
        settle=0.3,
        on_result=seen.append,
    )
    took = clock.monotonic() - started
    assert [r.state for r in results] == [PortState.OPEN, PortState.TIMEOUT, PortState.REFUSED]
    assert took < 1.5  # not the 5 s timeout
    dropped = results[1]
    assert dropped.errno_name == "ETIMEDOUT" and "answered in" in (dropped.error or "")
    # Each result was reported as soon as known: the silent one last.
    assert [r.port for r in seen][-1] == blackhole[1] and len(seen) == 3


def test_nothing_is_cut_short_while_no_port_has_answered(blackhole):
    import time as clock

    started = clock.monotonic()
    (result,) = scan_ports(blackhole[0], [blackhole[1]], timeout=1.2, settle=0.1)
    assert result.state is PortState.TIMEOUT
    assert clock.monotonic() - started >= 1.1  # the whole timeout: no other evidence
    assert "answered in" not in (result.error or "")


def test_without_settle_every_port_gets_the_whole_timeout(serve, blackhole):
    import time as clock

    server = serve(silent_server())
    started = clock.monotonic()
    results = scan_ports(server.host, [server.port, blackhole[1]], timeout=1.0)
    assert [r.state for r in results] == [PortState.OPEN, PortState.TIMEOUT]
    assert clock.monotonic() - started >= 0.9
