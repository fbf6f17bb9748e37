"""Property tests over every parser of untrusted bytes: whatever a server (or a learner
who is root on it) sends, the parser returns a value or raises a LabkitError, and
nothing else. SMTP replies themselves are covered in test_probe_smtp_reply.py.

Inputs mix arbitrary text with real lines and their mutations, so the parsers'
interesting branches are reached, not only their "skip this line" paths.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labkit.errors import LabkitError
from labkit.exercises.progress import parse_progress
from labkit.limits import parse_count, parse_port, parse_seconds
from labkit.probes._transcript import TranscriptBuilder
from labkit.probes._wire import Reply, parse_ehlo
from labkit.probes.dns import lookup
from labkit.probes.server import (
    parse_local_dialog,
    parse_mail_log,
    parse_master,
    parse_postconf,
    parse_proc_net_tcp,
    parse_ss_listening,
)
from labkit.probes.tls import describe_certificate, parse_certificate
from labkit.testing.certs import CertFactory

FAST = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))

REAL_LINES = {
    "ss": [
        "LISTEN 0 100 0.0.0.0:25 0.0.0.0:*",
        'LISTEN 0 100 [::]:587 [::]:* users:(("master",pid=1,fd=13))',
        "State Recv-Q Send-Q Local Address:Port Peer Address:Port",
        "tcp LISTEN 0 4096 127.0.0.11%lo:44 0.0.0.0:*",
    ],
    "proc": [
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid",
        "   0: 00000000:0019 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0",
        "   1: 0000000000000000FFFF00000100007F:024B 00000000000000000000000000000000:0000 0A",
    ],
    "postconf": [
        "myhostname = metagross.zimmerman.test",
        "smtpd_tls_security_level = may",
        "   continued value",
        "# a comment",
        "mynetworks = 127.0.0.0/8 [::1]/128",
    ],
    "master": [
        "smtp      inet  n       -       y       -       -       smtpd",
        "submission inet n       -       y       -       -       smtpd",
        "  -o syslog_name=postfix/submission",
        "smtps inet n - y - - smtpd -o smtpd_tls_wrappermode=yes",
        "pickup    unix  n       -       y       60      1       pickup",
    ],
    "log": [
        "Jul  7 01:08:00 metagross postfix/smtpd[123]: warning: cannot get RSA certificate from "
        "file /etc/ssl/certs/x.pem: disabling TLS support",
        "2026-12-03T08:00:00.000000+00:00 metagross postfix/smtpd[9]: connect from x[1.2.3.4]",
        "Jul  7 01:09:00 metagross postfix/smtpd[1]: warning: SASL authentication failure: x",
        "Jul  7 01:09:00 metagross postfix/master[1]: reload -- version 3.7.11",
    ],
    "dialog": [
        "220 metagross.zimmerman.test ESMTP Postfix",
        "250-metagross.zimmerman.test",
        "250-STARTTLS",
        "250 DSN",
        "> EHLO localhost",
        "221 2.0.0 Bye",
    ],
}


def _mutated(line: str) -> st.SearchStrategy[str]:
    """A real line, cut, doubled, or with characters replaced by arbitrary ones."""
    return st.one_of(
        st.just(line),
        st.integers(0, len(line)).map(lambda n: line[:n]),
        st.tuples(st.integers(0, len(line)), st.text(max_size=8)).map(
            lambda cut: line[: cut[0]] + cut[1] + line[cut[0] :]
        ),
        st.just(line.replace(":", "：").replace("0", "٠")),  # full-width colon, Arabic zero
        st.just(line + "9" * 5000),
    )


def documents(kind: str) -> st.SearchStrategy[str]:
    line = st.one_of(st.text(max_size=80), st.sampled_from(REAL_LINES[kind]).flatmap(_mutated))
    return st.lists(line, max_size=12).map("\n".join)


def only_labkit_errors(parse: Callable[[], Any]) -> Any:
    try:
        return parse()
    except LabkitError:
        return None


@FAST
@given(documents("ss"))
def test_ss_output(text: str) -> None:
    for sock in parse_ss_listening(text):
        assert 0 <= sock.port <= 65535


@FAST
@given(documents("proc"))
def test_proc_net_tcp(text: str) -> None:
    for sock in parse_proc_net_tcp(text):
        assert 0 <= sock.port <= 65535


def test_proc_net_tcp_short_line_is_skipped() -> None:
    """The hostile tester's struct.error: an address of 3 bytes."""
    assert parse_proc_net_tcp("   0: 000000:0019 00000000:0000 0A") == ()


@FAST
@given(documents("postconf"))
def test_postconf(text: str) -> None:
    result = only_labkit_errors(lambda: parse_postconf(text))
    assert result is None or isinstance(result, dict)


@FAST
@given(documents("master"))
def test_master_cf(text: str) -> None:
    only_labkit_errors(lambda: parse_master(text))


@FAST
@given(documents("log"))
def test_mail_log(text: str) -> None:
    only_labkit_errors(lambda: parse_mail_log(text))


@FAST
@given(documents("dialog"), documents("dialog"), st.integers(-1, 255))
def test_local_smtp_dialog(stdout: str, stderr: str, code: int) -> None:
    only_labkit_errors(lambda: parse_local_dialog(stdout, stderr, code))


@FAST
@given(st.text(max_size=40), st.lists(st.text(max_size=60), max_size=12))
def test_ehlo(first: str, lines: list[str]) -> None:
    name, capabilities = parse_ehlo(Reply(250, (first, *lines)))
    assert isinstance(name, str) and all(k == k.upper() for k in capabilities)


@FAST
@given(st.lists(st.binary(max_size=300), max_size=30))
def test_transcripts_stay_bounded(chunks: list[bytes]) -> None:
    log = TranscriptBuilder(max_lines=20, max_chars=2000)
    for chunk in chunks:
        log.server_bytes(chunk)
    assert len(log.freeze()) <= 21


@pytest.fixture(scope="module")
def good_certificates(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    from cryptography.hazmat.primitives import serialization

    factory = CertFactory(tmp_path_factory.mktemp("certs"))
    made = [factory.leaf("mail.zimmerman.test"), factory.self_signed("x.test")]
    made.append(factory.duplicate_extension("dup.zimmerman.test"))
    return [m.cert.public_bytes(serialization.Encoding.DER) for m in made]


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.data())
def test_certificates(good_certificates: list[bytes], data: st.DataObject) -> None:
    der = data.draw(st.sampled_from(good_certificates))
    choice = data.draw(st.integers(0, 3))
    if choice == 0:
        der = data.draw(st.binary(max_size=600))
    elif choice == 1:  # flip bytes inside a real certificate
        positions = data.draw(st.lists(st.integers(0, len(der) - 1), max_size=6))
        raw = bytearray(der)
        for pos in positions:
            raw[pos] = data.draw(st.integers(0, 255))
        der = bytes(raw)
    elif choice == 2:
        der = der[: data.draw(st.integers(0, len(der)))]
    info = describe_certificate(der)
    assert info.sha256 and (info.problem is None or isinstance(info.problem, str))
    only_labkit_errors(lambda: parse_certificate(der))
    info.valid_until()
    info.expired(datetime.now(UTC))


@FAST
@given(
    st.one_of(
        st.binary(max_size=200),
        st.text(max_size=200).map(lambda t: ('{\n  "version": ' + t).encode()),
        st.recursive(
            st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=10),
            lambda inner: (
                st.lists(inner, max_size=4)
                | st.dictionaries(st.text(max_size=10), inner, max_size=4)
            ),
            max_leaves=20,
        ).map(
            lambda value: (
                __import__("json")
                .dumps({"format": "labkit-progress", "version": 1, "exercises": value})
                .encode()
            )
        ),
    )
)
def test_progress_files(raw: bytes) -> None:
    result = only_labkit_errors(lambda: parse_progress(raw, Path("progress.json")))
    if result is not None:
        records, problem = result
        assert isinstance(records, dict) and (problem is None or isinstance(problem, str))


@FAST
@given(st.text(max_size=30))
def test_typed_numbers(text: str) -> None:
    for parse in (
        parse_port,
        parse_seconds,
        lambda t: parse_count(t, 0, 100, "tail"),
    ):
        only_labkit_errors(lambda parse=parse: parse(text))


# --------------------------------------------------------------------------- DNS replies


class _ByteServer:
    """A UDP 'nameserver' on 127.0.0.1 answering each query with bytes a test chooses
    (the query's id first, so the client reads them as its reply)."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.05)
        self.port = self.sock.getsockname()[1]
        self.payload = b""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                query, peer = self.sock.recvfrom(4096)
            except OSError:
                continue
            self.sock.sendto(query[:2] + self.payload, peer)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(1)
        self.sock.close()


@pytest.fixture(scope="module")
def byte_server() -> Iterator[_ByteServer]:
    server = _ByteServer()
    yield server
    server.close()


def _dns_reply_bodies() -> st.SearchStrategy[bytes]:
    """Flags, counts and sections: random, or a real reply's with bytes changed."""
    import dns.message
    import dns.rrset

    query = dns.message.make_query("zimmerman.test", "MX")
    reply = dns.message.make_response(query)
    reply.answer.append(
        dns.rrset.from_text("zimmerman.test.", 300, "IN", "MX", "10 mail.zimmerman.test.")
    )
    reply.answer.append(
        dns.rrset.from_text("mail.zimmerman.test.", 300, "IN", "CNAME", "mail.zimmerman.test.")
    )
    body = reply.to_wire()[2:]
    mutated = st.lists(st.tuples(st.integers(0, len(body) - 1), st.integers(0, 255)), max_size=5)
    return st.one_of(
        st.binary(max_size=120),
        mutated.map(lambda edits: _apply(body, edits)),
        st.integers(0, len(body)).map(lambda n: body[:n]),
    )


def _apply(body: bytes, edits: list[tuple[int, int]]) -> bytes:
    raw = bytearray(body)
    for pos, value in edits:
        raw[pos] = value
    return bytes(raw)


@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
@given(_dns_reply_bodies(), st.sampled_from(["MX", "A", "TXT", "PTR", "CNAME"]))
def test_dns_replies(byte_server: _ByteServer, body: bytes, rdtype: str) -> None:
    byte_server.payload = body
    answer = lookup(
        "zimmerman.test", rdtype, nameserver="127.0.0.1", port=byte_server.port, timeout=0.3
    )
    assert answer.outcome is not None and answer.elapsed < 5
