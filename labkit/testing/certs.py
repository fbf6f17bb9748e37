"""Certificates made on the spot, one set per test, with ``cryptography``.

Each TLS verification outcome the course teaches needs a certificate that
produces it, and files on disk because ``ssl`` loads chains from files:

=================================  ======================================  ============
what                               how                                     OpenSSL code
=================================  ======================================  ============
``factory.leaf(name)``             signed by ``factory.ca`` (trusted)       0
``factory.self_signed(name)``      its own issuer (the blog's certificate)  18
``factory.foreign_leaf(name)``     signed by a CA the client lacks          20
``... send_chain=True``            same, with that CA sent along           19
``factory.expired(name)``          signed by ``factory.ca``, past its end  10
``factory.leaf("wrong.example")``  right CA, wrong name                    62
``factory.duplicate_extension()``  two subjectAltName extensions (invalid)  -
=================================  ======================================  ============

EC P-256 keys keep generation to about a millisecond; ``key_type="rsa"`` gives the
RSA certificate Postfix's log messages talk about.
"""

from __future__ import annotations

import ipaddress
import ssl
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["CertFactory", "IssuedCert"]

KeyType = Literal["ec", "rsa"]
_PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


def _new_key(key_type: KeyType) -> _PrivateKey:
    if key_type == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ec.generate_private_key(ec.SECP256R1())


def _san(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


@dataclass(frozen=True)
class IssuedCert:
    """A certificate, its key and the files holding them.

    ``chain_path`` holds the leaf followed by its issuer (what a server sends when
    it "sends the chain"); ``cert_path`` holds the leaf alone.
    """

    name: str
    cert: x509.Certificate
    key: _PrivateKey = field(repr=False)
    cert_path: Path
    key_path: Path
    chain_path: Path

    @property
    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def server_context(self, *, send_chain: bool = False) -> ssl.SSLContext:
        """A server-side context presenting this certificate (and its issuer if asked)."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(
            str(self.chain_path if send_chain else self.cert_path), str(self.key_path)
        )
        return ctx


#: A private-use OID with as many bytes as subjectAltName's (2.5.29.17), so that one
#: can be turned into the other inside a signed certificate without moving anything.
_SPARE_OID = x509.ObjectIdentifier("2.5.29.99")
_SPARE_OID_DER = b"\x06\x03\x55\x1d\x63"
_SAN_OID_DER = b"\x06\x03\x55\x1d\x11"


def _der_length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def _der_elements(data: bytes) -> list[bytes]:
    """The TLV elements inside one DER SEQUENCE's body, as raw bytes."""
    out, pos = [], 0
    while pos < len(data):
        length, start = data[pos + 1], pos + 2
        if length & 0x80:
            count = length & 0x7F
            length = int.from_bytes(data[start : start + count], "big")
            start += count
        out.append(data[pos : start + length])
        pos = start + length
    return out


def _resign(original: x509.Certificate, tbs: bytes, key: _PrivateKey) -> bytes:
    """``original`` with its to-be-signed part replaced by ``tbs`` and signed by ``key``."""
    der = original.public_bytes(serialization.Encoding.DER)
    body = _der_elements(der)[0]
    _, algorithm, _ = _der_elements(body[2 + (body[1] & 0x7F if body[1] & 0x80 else 0) :])
    if isinstance(key, rsa.RSAPrivateKey):
        signature = key.sign(tbs, padding.PKCS1v15(), hashes.SHA256())
    else:
        signature = key.sign(tbs, ec.ECDSA(hashes.SHA256()))
    bits = b"\x03" + _der_length(len(signature) + 1) + b"\x00" + signature
    inner = tbs + algorithm + bits
    return b"\x30" + _der_length(len(inner)) + inner


class CertFactory:
    """Makes CAs and leaves under ``directory`` (give it pytest's ``tmp_path``)."""

    def __init__(self, directory: Path | str, *, key_type: KeyType = "ec") -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.key_type: KeyType = key_type
        self._count = 0
        self.ca = self._make_ca("labkit test CA")
        self._foreign_ca: IssuedCert | None = None

    @property
    def ca_path(self) -> Path:
        """The PEM file a client should trust (``cafile=``)."""
        return self.ca.cert_path

    def _paths(self, stem: str) -> tuple[Path, Path, Path]:
        self._count += 1
        base = f"{self._count:02d}-{stem}"
        return (
            self.directory / f"{base}.crt",
            self.directory / f"{base}.key",
            self.directory / f"{base}-chain.pem",
        )

    def _write(
        self, name: str, cert: x509.Certificate, key: _PrivateKey, issuer: x509.Certificate | None
    ) -> IssuedCert:
        cert_path, key_path, chain_path = self._paths(name.replace("*", "star"))
        pem = cert.public_bytes(serialization.Encoding.PEM)
        cert_path.write_bytes(pem)
        key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        chain = pem + (issuer.public_bytes(serialization.Encoding.PEM) if issuer else b"")
        chain_path.write_bytes(chain)
        return IssuedCert(name, cert, key, cert_path, key_path, chain_path)

    def _make_ca(self, name: str) -> IssuedCert:
        key = _new_key(self.key_type)
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.COMMON_NAME, name),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "labkit"),
            ]
        )
        now = datetime.now(UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
            .sign(key, hashes.SHA256())
        )
        return self._write(name, cert, key, None)

    def _make_leaf(
        self,
        names: tuple[str, ...],
        *,
        issuer: IssuedCert | None,
        not_before: datetime | None = None,
        not_after: datetime | None = None,
        spare_extension: bool = False,
    ) -> IssuedCert:
        if not names:
            raise ValueError("a certificate needs at least one name")
        key = _new_key(self.key_type)
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
        now = datetime.now(UTC)
        signer_key = issuer.key if issuer else key
        issuer_name = issuer.cert.subject if issuer else subject
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before or now - timedelta(days=1))
            .not_valid_after(not_after or now + timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([_san(n) for n in names]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
        )
        if issuer is not None:
            builder = builder.add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
                critical=False,
            )
        if spare_extension:  # same length as subjectAltName's OID, to be renamed to it
            san = x509.SubjectAlternativeName([_san(n) for n in names]).public_bytes()
            builder = builder.add_extension(
                x509.UnrecognizedExtension(_SPARE_OID, san), critical=False
            )
        cert = builder.sign(signer_key, hashes.SHA256())
        return self._write(names[0], cert, key, issuer.cert if issuer else None)

    def leaf(self, *names: str) -> IssuedCert:
        """A certificate for ``names`` signed by the trusted :attr:`ca` (verifies: 0)."""
        return self._make_leaf(names, issuer=self.ca)

    def self_signed(self, *names: str) -> IssuedCert:
        """A certificate that is its own issuer, like the blog's (verify error 18)."""
        return self._make_leaf(names, issuer=None)

    def expired(self, *names: str) -> IssuedCert:
        """Signed by the trusted CA but past its end date (verify error 10)."""
        now = datetime.now(UTC)
        return self._make_leaf(
            names,
            issuer=self.ca,
            not_before=now - timedelta(days=60),
            not_after=now - timedelta(days=1),
        )

    def duplicate_extension(self, *names: str) -> IssuedCert:
        """Signed by the trusted CA, but with its subjectAltName extension twice, which
        RFC 5280 §4.2 forbids. ``cryptography`` raises ``DuplicateExtension`` as soon as
        its extensions are read; OpenSSL refuses to serve it as a leaf, but sends it
        along in a chain (see :meth:`leaf_with_malformed_chain`)."""
        good = self._make_leaf(names, issuer=self.ca, spare_extension=True)
        tbs = good.cert.tbs_certificate_bytes
        if tbs.count(_SPARE_OID_DER) != 1:
            raise ValueError("the spare extension's OID is not unique in the certificate")
        tbs = tbs.replace(_SPARE_OID_DER, _SAN_OID_DER)
        cert = x509.load_der_x509_certificate(_resign(good.cert, tbs, self.ca.key))
        return self._write(f"dup-{names[0]}", cert, good.key, self.ca.cert)

    def leaf_with_malformed_chain(self, *names: str) -> IssuedCert:
        """A good leaf for ``names`` whose ``chain_path`` also holds a malformed
        certificate (:meth:`duplicate_extension`): serve it with
        ``server_context(send_chain=True)``, as the hostile tester's server did."""
        leaf = self.leaf(*names)
        bad = self.duplicate_extension(f"broken.{names[0]}")
        leaf.chain_path.write_bytes(leaf.pem + bad.pem)
        return leaf

    def foreign_leaf(self, *names: str) -> IssuedCert:
        """Signed by a second CA that clients of this factory do not trust (20, or 19
        when the server sends that CA along)."""
        if self._foreign_ca is None:
            self._foreign_ca = self._make_ca("some other CA")
        return self._make_leaf(names, issuer=self._foreign_ca)
