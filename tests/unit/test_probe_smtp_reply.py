"""The SMTP reply parser: exact cases, and properties over arbitrary bytes (hypothesis)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labkit.errors import LabkitError, ProtocolError
from labkit.probes._wire import StopKind, WireStop, _reply_end
from labkit.probes.smtp import Reply, parse_ehlo, parse_reply


def test_single_line():
    reply = parse_reply(b"220 mail.zimmerman.test ESMTP Postfix\r\n")
    assert reply == Reply(220, ("mail.zimmerman.test ESMTP Postfix",), None)
    assert reply.positive and not reply.permanent


def test_multi_line_ehlo_from_the_blog():
    data = (
        b"250-metagross\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-VRFY\r\n"
        b"250-ETRN\r\n250-XXXXXXXA\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n"
        b"250-STARTTLS\r\n250 DSN\r\n"
    )
    reply = parse_reply(data)
    assert reply.code == 250 and len(reply.lines) == 10
    name, caps = parse_ehlo(reply)
    assert name == "metagross"
    assert caps["SIZE"] == ("10240000",)
    assert "STARTTLS" in caps and "XXXXXXXA" in caps
    assert str(reply).encode() + b"\n" == data.replace(b"\r\n", b"\n")


def test_enhanced_status_code():
    reply = parse_reply(b"454 4.7.1 <x@example.net>: Relay access denied\r\n")
    assert reply.transient
    assert reply.enhanced is not None and str(reply.enhanced) == "4.7.1"
    assert reply.message == "<x@example.net>: Relay access denied"


def test_enhanced_status_must_match_the_reply_class():
    assert parse_reply(b"250 5.7.1 looks odd\r\n").enhanced is None


def test_bare_code_and_bare_lf_are_accepted():
    assert parse_reply(b"250\r\n").lines == ("",)
    assert parse_reply(b"250-a\n250 b\n").lines == ("a", "b")


def test_auth_variants_in_ehlo():
    _, caps = parse_ehlo(parse_reply(b"250-x\r\n250-AUTH PLAIN LOGIN\r\n250 AUTH=LOGIN\r\n"))
    assert caps["AUTH"] == ("PLAIN", "LOGIN")


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"", "Empty"),
        (b"250 ok", "Incomplete"),
        (b"250-first\r\n", "continuation"),
        (b"250 first\r\n250 second\r\n", "after the final line"),
        (b"250-first\r\n251 second\r\n", "changed"),
        (b"199 nope\r\n", "Not an SMTP reply line"),
        (b"600 nope\r\n", "Not an SMTP reply line"),
        (b"25 short\r\n", "Not an SMTP reply line"),
        (b"250xtext\r\n", "not followed by a space"),
        (b"HTTP/1.1 400 Bad Request\r\n", "Not an SMTP reply line"),
    ],
)
def test_malformed_replies_raise_protocol_error(data, fragment):
    with pytest.raises(ProtocolError) as info:
        parse_reply(data)
    assert fragment in str(info.value)
    assert isinstance(info.value, LabkitError)


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_parse_or_raise_only_protocol_error(data):
    try:
        reply = parse_reply(data)
    except ProtocolError:
        return
    assert 200 <= reply.code <= 559
    assert reply.lines


_code = st.integers(min_value=200, max_value=559).filter(lambda c: (c // 10) % 10 <= 5)
_text = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"), max_size=40
)


@settings(max_examples=200, deadline=None)
@given(_code, st.lists(_text, min_size=1, max_size=6), st.booleans())
def test_well_formed_replies_round_trip(code, lines, crlf):
    end = "\r\n" if crlf else "\n"
    wire = "".join(
        f"{code}{'-' if i < len(lines) - 1 else ' '}{t}{end}" for i, t in enumerate(lines)
    )
    reply = parse_reply(wire.encode("utf-8"))
    assert reply.code == code
    assert reply.lines == tuple(lines)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_reader_scan_never_raises_foreign_errors(data):
    try:
        end = _reply_end(bytearray(data))
    except WireStop as exc:
        assert exc.kind is StopKind.GARBAGE
        return
    assert end == -1 or 0 < end <= len(data)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=60))
def test_reply_scan_is_independent_of_packet_boundaries(data):
    """However the bytes are cut into packets, the reply ends at the same place, and
    no prefix of a valid reply is mistaken for garbage."""
    full = b"250-a\r\n250-" + data.replace(b"\n", b"") + b"\r\n250 end\r\n"
    try:
        expected = _reply_end(bytearray(full))
    except WireStop:
        return  # the random middle line made it invalid
    assert expected == len(full)
    for cut in range(len(full)):
        assert _reply_end(bytearray(full[:cut])) == -1
