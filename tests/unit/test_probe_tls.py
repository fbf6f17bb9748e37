"""probe_tls against real TLS servers on 127.0.0.1 with certificates made per test."""

from __future__ import annotations

import re

import pytest

from labkit.errors import ProtocolError, UsageError
from labkit.probes.smtp import smtp_session
from labkit.probes.tcp import PortState
from labkit.probes.tls import (
    TlsPhase,
    VerifyCode,
    describe_certificate,
    parse_certificate,
    probe_tls,
)
from labkit.testing.certs import CertFactory
from labkit.testing.servers import (
    imap_starttls_server,
    masked_middlebox_server,
    silent_server,
    tls_server,
)
from labkit.testing.smtpd import FakeMailServer

NAME = "mail.zimmerman.test"


def _probe(server, certs, **kwargs):
    kwargs.setdefault("servername", NAME)
    kwargs.setdefault("cafile", str(certs.ca_path))
    kwargs.setdefault("timeout", 2)
    return probe_tls(server.host, server.port, **kwargs)


def test_trusted_certificate_verifies_ok(serve, certs):
    leaf = certs.leaf(NAME, "127.0.0.1")
    result = _probe(serve(tls_server(leaf.server_context())), certs)
    assert result.ok and result.stopped_at is TlsPhase.DONE
    assert result.verification is not None
    assert (result.verification.code, result.verification.message) == (0, "ok")
    session = result.session
    assert session is not None and session.version in ("TLSv1.2", "TLSv1.3")
    assert session.cipher and session.cipher_bits
    cert = session.leaf
    assert cert is not None
    assert cert.common_name == NAME and cert.sans == (NAME, "127.0.0.1")
    assert cert.issuer == "O=labkit,CN=labkit test CA"
    assert not cert.self_signed and not cert.is_ca
    assert cert.key_type.startswith("EC") and cert.key_size == 256
    assert re.fullmatch(r"([0-9A-F]{2}:){31}[0-9A-F]{2}", cert.sha256)
    assert "Verify return code: 0 (ok)" in result.transcript.render_text()


def test_self_signed_is_18_and_the_chain_is_still_shown(serve, certs):
    leaf = certs.self_signed(NAME)
    result = _probe(serve(tls_server(leaf.server_context())), certs)
    assert not result.ok and result.stopped_at is TlsPhase.DONE
    assert result.verification is not None
    assert result.verification.code == VerifyCode.DEPTH_ZERO_SELF_SIGNED_CERT == 18
    assert result.verification.message == "self-signed certificate"
    assert result.session is not None and result.session.leaf is not None
    assert result.session.leaf.self_signed
    assert "verify error:num=18:self-signed certificate" in result.transcript.render_text()


def test_self_signed_against_the_system_store_is_also_18(serve, certs):
    leaf = certs.self_signed(NAME)
    result = _probe(serve(tls_server(leaf.server_context())), certs, cafile=None)
    assert result.verification is not None and result.verification.code == 18
    assert result.verification.trust_store == "system store"


def test_unknown_ca_is_20(serve, certs):
    leaf = certs.foreign_leaf(NAME)
    result = _probe(serve(tls_server(leaf.server_context())), certs)
    assert result.verification is not None and result.verification.code == 20
    assert result.verification.message == "unable to get local issuer certificate"


def test_untrusted_root_sent_in_chain_is_19(serve, certs):
    leaf = certs.foreign_leaf(NAME)
    result = _probe(serve(tls_server(leaf.server_context(send_chain=True))), certs)
    assert result.verification is not None and result.verification.code == 19
    assert result.session is not None and len(result.session.chain) == 2
    assert result.session.chain[1].is_ca and result.session.chain[1].self_signed


def test_expired_is_10(serve, certs):
    leaf = certs.expired(NAME)
    result = _probe(serve(tls_server(leaf.server_context())), certs)
    assert result.verification is not None and result.verification.code == 10
    assert result.session is not None and result.session.leaf.expired()


def test_wrong_name_is_62(serve, certs):
    leaf = certs.leaf("www.zimmerman.test")
    result = _probe(serve(tls_server(leaf.server_context())), certs)
    assert result.verification is not None and result.verification.code == 62
    assert result.verification.message == "hostname mismatch"
    assert result.verification.hostname == NAME


def test_starttls_smtp_shows_the_dialog(serve, certs):
    server = serve(FakeMailServer(tls=certs.leaf(NAME).server_context()))
    result = _probe(server, certs, starttls="smtp")
    assert result.ok, result.reason
    text = result.transcript.render_text()
    assert "-starttls smtp" in text.splitlines()[0]
    assert "> STARTTLS" in text and "  220 Ready to start TLS" in text


def test_starttls_smtp_not_offered(serve, certs):
    result = _probe(serve(FakeMailServer()), certs, starttls="smtp")
    assert result.stopped_at is TlsPhase.STARTTLS and result.session is None
    assert "does not offer STARTTLS" in result.reason


def test_starttls_behind_a_masking_middlebox(serve, certs):
    result = _probe(serve(masked_middlebox_server()), certs, starttls="smtp")
    assert result.stopped_at is TlsPhase.STARTTLS
    assert "XXXXXXXA" in result.reason and "middlebox" in result.reason


def test_starttls_imap(serve, certs):
    server = serve(imap_starttls_server(certs.leaf(NAME).server_context()))
    result = _probe(server, certs, starttls="imap")
    assert result.ok, result.reason
    assert "> a1 STARTTLS" in result.transcript.render_text()


def test_refused_port_stops_at_connect(closed, certs):
    result = probe_tls(*closed, cafile=str(certs.ca_path))
    assert result.stopped_at is TlsPhase.CONNECT
    assert result.connection.state is PortState.REFUSED
    assert result.session is None and not result.ok


def test_implicit_tls_against_plaintext_smtp(serve, certs):
    result = _probe(serve(FakeMailServer()), certs)
    assert result.stopped_at is TlsPhase.HANDSHAKE
    assert result.handshake_error == "WRONG_VERSION_NUMBER"
    assert "--starttls smtp" in result.reason


def test_handshake_timeout_on_a_silent_port(serve, certs):
    result = _probe(serve(silent_server()), certs, timeout=0.3)
    assert result.stopped_at is TlsPhase.HANDSHAKE
    assert "timed out" in result.reason


def test_rsa_certificates_are_described(tmp_path, serve):
    factory = CertFactory(tmp_path, key_type="rsa")
    result = probe_tls(
        "127.0.0.1",
        serve(tls_server(factory.leaf(NAME).server_context())).port,
        servername=NAME,
        cafile=str(factory.ca_path),
    )
    assert result.ok
    assert (result.session.leaf.key_type, result.session.leaf.key_size) == ("RSA", 2048)


def test_parse_certificate_rejects_junk():
    with pytest.raises(ProtocolError):
        parse_certificate(b"\x30\x03\x02\x01\x01")


def test_usage_errors(closed, tmp_path):
    with pytest.raises(UsageError, match="STARTTLS protocol"):
        probe_tls(*closed, starttls="pop3")  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="cannot be read"):
        probe_tls(*closed, cafile=str(tmp_path / "missing.pem"))
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate")
    with pytest.raises(UsageError, match="no usable PEM"):
        probe_tls(*closed, cafile=str(junk))


# --------------------------------------------------------------------------- malformed certificates


def test_a_malformed_certificate_in_the_chain_is_data_not_a_crash(certs, serve):
    """The hostile tester's server: a good leaf, then a certificate whose
    subjectAltName extension appears twice. cryptography raises DuplicateExtension on
    it; the chain must still be reported, with that certificate and why."""
    leaf = certs.leaf_with_malformed_chain("mail.zimmerman.test")
    server = serve(tls_server(leaf.server_context(send_chain=True)))
    result = probe_tls(
        server.host, server.port, servername="mail.zimmerman.test", cafile=str(certs.ca_path)
    )
    assert result.ok and result.session is not None
    good, bad = result.session.chain
    assert good.problem is None and good.names() == ("mail.zimmerman.test",)
    assert bad.problem is not None and "DuplicateExtension" in bad.problem
    assert bad.subject == "CN=broken.mail.zimmerman.test" and bad.sans == ()
    assert bad.not_after is not None and len(bad.sha256) == 95


def test_smtp_over_implicit_tls_survives_a_malformed_chain(certs, serve):
    leaf = certs.leaf_with_malformed_chain("mail.zimmerman.test")
    server = serve(tls_server(leaf.server_context(send_chain=True)))
    result = smtp_session(server.host, server.port, implicit_tls=True, timeout=2)
    assert result.tls is not None and len(result.tls.chain) == 2
    assert result.tls.chain[1].problem


def test_bytes_that_are_no_certificate_are_described():
    info = describe_certificate(b"\x30\x03\x02\x01\x01")
    assert info.problem and "cannot be parsed" in info.problem
    assert info.not_after is None and not info.expired() and info.valid_until() == "?"
