"""What ``openssl s_client`` tells you, as data: protocol, cipher, chain, verification.

The blog used ``openssl s_client -connect mail.zimmerman.io:465`` and
``-starttls smtp`` on port 25; :func:`probe_tls` does both (and ``-starttls imap``)
and returns a :class:`TlsResult` instead of a screenful of text.

Verification follows OpenSSL, with its numeric codes, because those are what
learners meet in ``s_client`` output and in Postfix logs::

     0  ok
    10  certificate has expired
    18  self-signed certificate                       (the blog's certificate)
    19  self-signed certificate in certificate chain  (a private CA the client lacks)
    20  unable to get local issuer certificate        (an unknown CA, chain not sent)
    62  hostname mismatch

How: the first handshake verifies (against ``cafile``, or the system store), so a
good server costs one connection and the verdict comes from OpenSSL itself
(``SSLCertVerificationError.verify_code``). When verification fails, a second,
unverified handshake fetches the chain to show *what* was presented. Like
``s_client``, a failed verification is reported, not fatal.

This module is the boundary for ``ssl`` handshake errors and ``cryptography``
parsing errors.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import os
import socket
import ssl
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal, TypeVar

from labkit.errors import ProtocolError, UsageError
from labkit.limits import check_timeout
from labkit.probes._transcript import Transcript, TranscriptBuilder
from labkit.probes._wire import (
    MASKED_KEYWORD_RE,
    ReplyCode,
    Wire,
    WireStop,
    address_literal,
    close_quietly,
    parse_ehlo,
)
from labkit.probes.tcp import PortResult, connect, validate_target

if TYPE_CHECKING:  # cryptography is imported where a certificate is read (0.1 s saved)
    from cryptography import x509

__all__ = [
    "CertInfo",
    "HandshakeFailed",
    "TlsPhase",
    "TlsResult",
    "TlsSession",
    "Verification",
    "VerifyCode",
    "describe_certificate",
    "parse_certificate",
    "probe_tls",
    "start_tls",
]

StartTls = Literal["smtp", "imap"]
T = TypeVar("T")
#: Untagged lines an IMAP server may send before its answer to STARTTLS (Dovecot: 0-1).
MAX_UNTAGGED_LINES = 100
#: Certificates of a chain that are described; a real chain has 2-4.
MAX_CHAIN = 10
#: The system bundle is about 200 KB; a CA file bigger than this is a mistake.
MAX_CAFILE_BYTES = 16 * 2**20


class VerifyCode(enum.IntEnum):
    """OpenSSL ``X509_V_*`` verification codes that a mail server commonly produces."""

    OK = 0
    UNABLE_TO_GET_ISSUER_CERT = 2
    CERT_SIGNATURE_FAILURE = 7
    CERT_NOT_YET_VALID = 9
    CERT_HAS_EXPIRED = 10
    DEPTH_ZERO_SELF_SIGNED_CERT = 18
    SELF_SIGNED_CERT_IN_CHAIN = 19
    UNABLE_TO_GET_ISSUER_CERT_LOCALLY = 20
    UNABLE_TO_VERIFY_LEAF_SIGNATURE = 21
    INVALID_CA = 24
    INVALID_PURPOSE = 26
    CERT_UNTRUSTED = 27
    HOSTNAME_MISMATCH = 62
    IP_ADDRESS_MISMATCH = 64


#: OpenSSL 3's wording, so messages do not change with the local OpenSSL version.
_VERIFY_MESSAGES: dict[int, str] = {
    0: "ok",
    2: "unable to get issuer certificate",
    7: "certificate signature failure",
    9: "certificate is not yet valid",
    10: "certificate has expired",
    18: "self-signed certificate",
    19: "self-signed certificate in certificate chain",
    20: "unable to get local issuer certificate",
    21: "unable to verify the first certificate",
    24: "invalid CA certificate",
    26: "unsupported certificate purpose",
    27: "certificate not trusted",
    62: "hostname mismatch",
    64: "IP address mismatch",
}


@dataclass(frozen=True)
class Verification:
    """The verdict on a peer's chain, as ``s_client`` prints ``Verify return code: 18 (...)``."""

    code: int
    message: str
    trust_store: str  # the CA file used, or "system store"
    hostname: str | None

    @property
    def ok(self) -> bool:
        return self.code == VerifyCode.OK

    @property
    def name(self) -> str:
        try:
            return VerifyCode(self.code).name
        except ValueError:
            return f"X509_V_ERR_{self.code}"

    def __str__(self) -> str:
        return f"{self.code} ({self.message})"


@dataclass(frozen=True)
class CertInfo:
    """The facts about one certificate that a mail admin needs to read."""

    subject: str
    issuer: str
    common_name: str | None
    sans: tuple[str, ...]
    not_before: datetime | None
    not_after: datetime | None
    key_type: str
    key_size: int | None
    self_signed: bool
    is_ca: bool
    serial: str
    signature_algorithm: str | None
    sha256: str
    #: What could not be read, when the certificate is malformed (then some fields
    #: above are defaults: validity None, no SANs). None for a well-formed certificate.
    problem: str | None = None

    def expired(self, now: datetime | None = None) -> bool:
        """Past its end; False when the end could not be read (see ``problem``)."""
        return self.not_after is not None and (now or datetime.now(UTC)) > self.not_after

    def valid_until(self) -> str:
        """The end of validity as a date, or ``?`` when it could not be read."""
        return f"{self.not_after:%Y-%m-%d}" if self.not_after is not None else "?"

    def valid_from(self) -> str:
        return f"{self.not_before:%Y-%m-%d}" if self.not_before is not None else "?"

    def names(self) -> tuple[str, ...]:
        """Names a client may match: the SANs, or the CN when there are none."""
        return self.sans or ((self.common_name,) if self.common_name else ())


@dataclass(frozen=True)
class TlsSession:
    """A completed handshake: what was negotiated and what the server presented."""

    version: str
    cipher: str
    cipher_bits: int | None
    servername: str | None
    chain: tuple[CertInfo, ...]
    verification: Verification | None  # None when the caller chose not to verify

    @property
    def leaf(self) -> CertInfo | None:
        return self.chain[0] if self.chain else None

    def summary(self) -> str:
        text = f"{self.version}, {self.cipher}"
        if self.leaf is not None:
            text += f", CN={self.leaf.common_name}"
        if self.verification is not None:
            text += f", verify {self.verification}"
        return text


class TlsPhase(enum.StrEnum):
    """How far :func:`probe_tls` got."""

    CONNECT = "connect"
    STARTTLS = "starttls"
    HANDSHAKE = "handshake"
    DONE = "done"


@dataclass(frozen=True)
class TlsResult:
    """The outcome of :func:`probe_tls`; ``session`` is set whenever a handshake worked."""

    host: str
    port: int
    starttls: str | None
    servername: str | None
    connection: PortResult
    stopped_at: TlsPhase
    reason: str
    session: TlsSession | None
    transcript: Transcript
    handshake_error: str | None
    elapsed: float

    @property
    def verification(self) -> Verification | None:
        return self.session.verification if self.session else None

    @property
    def ok(self) -> bool:
        """True only for a completed handshake whose chain verified (code 0)."""
        return self.verification is not None and self.verification.ok


class HandshakeFailed(ProtocolError):
    """A TLS handshake did not complete; :func:`start_tls` raises it, the probes catch it.

    ``openssl_reason`` is OpenSSL's short reason (``WRONG_VERSION_NUMBER``...) and
    ``verification`` is set when the failure was a verification failure.
    """

    def __init__(
        self,
        message: str,
        *,
        openssl_reason: str | None = None,
        verification: Verification | None = None,
    ) -> None:
        super().__init__(message)
        self.openssl_reason = openssl_reason
        self.verification = verification


# --------------------------------------------------------------------------- certificates


def _fingerprint(der: bytes) -> str:
    return ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest())


def _key_facts(cert: x509.Certificate) -> tuple[str, int | None]:
    from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa

    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return "RSA", key.key_size
    if isinstance(key, ec.EllipticCurvePublicKey):
        return f"EC ({key.curve.name})", key.key_size
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519", 256
    if isinstance(key, ed448.Ed448PublicKey):
        return "Ed448", 456
    if isinstance(key, dsa.DSAPublicKey):
        return "DSA", key.key_size
    return type(key).__name__, None


def _is_self_signed(cert: x509.Certificate) -> bool:
    from cryptography.exceptions import InvalidSignature

    if cert.issuer != cert.subject:
        return False
    try:
        cert.verify_directly_issued_by(cert)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _attempt_field(problems: list[str], what: str, read: Callable[[], T], default: T) -> T:
    """One field of a certificate; whatever ``cryptography`` raises on a malformed
    certificate (ValueError, DuplicateExtension, UnsupportedGeneralNameType, a Rust
    panic...) becomes a note in ``problems`` and the field's default."""
    try:
        return read()
    except Exception as exc:  # noqa: BLE001 - the boundary: any failure is data here
        problems.append(f"{what}: {type(exc).__name__}: {exc}"[:300])
        return default
    except BaseException as exc:  # pyo3's PanicException derives from BaseException
        if isinstance(exc, (KeyboardInterrupt, SystemExit, GeneratorExit)):
            raise
        problems.append(f"{what}: {type(exc).__name__}: {exc}"[:300])
        return default


def _sans(cert: x509.Certificate) -> tuple[str, ...]:
    from cryptography import x509
    from cryptography.x509.oid import ExtensionOID

    try:
        san = cert.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME).value
    except x509.ExtensionNotFound:
        return ()
    if not isinstance(san, x509.SubjectAlternativeName):
        return ()
    return tuple(san.get_values_for_type(x509.DNSName)) + tuple(
        str(ip) for ip in san.get_values_for_type(x509.IPAddress)
    )


def _is_ca(cert: x509.Certificate) -> bool:
    from cryptography import x509
    from cryptography.x509.oid import ExtensionOID

    try:
        bc = cert.extensions.get_extension_for_oid(ExtensionOID.BASIC_CONSTRAINTS).value
    except x509.ExtensionNotFound:
        return False
    return bool(getattr(bc, "ca", False))


def _signature_hash(cert: x509.Certificate) -> str | None:
    hash_alg = cert.signature_hash_algorithm
    return hash_alg.name if hash_alg is not None else None


def _common_name(cert: x509.Certificate) -> str | None:
    from cryptography.x509.oid import NameOID

    cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(cns[0].value) if cns else None


def parse_certificate(der: bytes) -> CertInfo:
    """Read a DER certificate with ``cryptography``.

    Bytes that are not a certificate at all raise :class:`ProtocolError`. A
    certificate that loads but is malformed inside (a duplicate extension, a name
    type cryptography does not support, a broken key) is still described: the
    fields that could be read are filled in, and ``problem`` says what could not.
    """
    from cryptography import x509

    try:
        cert = x509.load_der_x509_certificate(der)
    except Exception as exc:  # noqa: BLE001 - ValueError and whatever else the parser raises
        raise ProtocolError(
            f"The server sent a certificate that cannot be parsed: {exc}"[:300]
        ) from exc
    problems: list[str] = []
    no_key: tuple[str, int | None] = ("unknown", None)
    key_type, key_size = _attempt_field(problems, "public key", lambda: _key_facts(cert), no_key)
    info = CertInfo(
        subject=_attempt_field(problems, "subject", lambda: cert.subject.rfc4514_string(), "?"),
        issuer=_attempt_field(problems, "issuer", lambda: cert.issuer.rfc4514_string(), "?"),
        common_name=_attempt_field(problems, "common name", lambda: _common_name(cert), None),
        sans=_attempt_field(problems, "extensions", lambda: _sans(cert), ()),
        not_before=_attempt_field(problems, "validity", lambda: cert.not_valid_before_utc, None),
        not_after=_attempt_field(problems, "validity", lambda: cert.not_valid_after_utc, None),
        key_type=key_type,
        key_size=key_size,
        self_signed=_attempt_field(problems, "signature", lambda: _is_self_signed(cert), False),
        is_ca=_attempt_field(problems, "extensions", lambda: _is_ca(cert), False),
        serial=_attempt_field(problems, "serial", lambda: f"{cert.serial_number:X}", "?"),
        signature_algorithm=None,
        sha256=_fingerprint(der),
    )
    signature = _attempt_field([], "signature", lambda: _signature_hash(cert), None)
    problem = "; ".join(dict.fromkeys(problems)) or None
    return replace(info, signature_algorithm=signature, problem=problem)


def describe_certificate(der: bytes) -> CertInfo:
    """Like :func:`parse_certificate`, but never raises: bytes that are not a
    certificate at all are described by their fingerprint and the parser's reason."""
    try:
        return parse_certificate(der)
    except ProtocolError as exc:
        return CertInfo(
            subject="(certificate that cannot be parsed)",
            issuer="?",
            common_name=None,
            sans=(),
            not_before=None,
            not_after=None,
            key_type="unknown",
            key_size=None,
            self_signed=False,
            is_ca=False,
            serial="?",
            signature_algorithm=None,
            sha256=_fingerprint(der),
            problem=exc.message,
        )


def _peer_chain(sock: ssl.SSLSocket) -> tuple[CertInfo, ...]:
    """The chain as the server sent it (leaf first), like ``s_client -showcerts``."""
    ders: list[bytes] = []
    getter = getattr(sock, "get_unverified_chain", None)  # public from Python 3.13
    if getter is None:
        sslobj = getattr(sock, "_sslobj", None)
        getter = getattr(sslobj, "get_unverified_chain", None)
    if getter is not None:
        for item in getter() or ():
            if isinstance(item, bytes):
                ders.append(item)
            else:  # _ssl.Certificate on Python 3.10-3.12
                ders.append(item.public_bytes(ssl._ssl.ENCODING_DER))  # type: ignore[attr-defined]
    if not ders:
        leaf = sock.getpeercert(binary_form=True)
        if leaf:
            ders.append(leaf)
    return tuple(describe_certificate(der) for der in ders[:MAX_CHAIN])


# --------------------------------------------------------------------------- handshakes


def _trust_store_label(cafile: str | None) -> str:
    return cafile if cafile else "system store"


@functools.lru_cache(maxsize=32)
def _context(cafile: str | None, mtime: float | None, verify: bool) -> ssl.SSLContext:
    """One context per (CA file version, mode): loading a CA store costs milliseconds,
    and a context is safe to share between threads."""
    if verify:
        ctx = ssl.create_default_context(cafile=cafile) if cafile else ssl.create_default_context()
        return ctx
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    # A diagnostic client should still talk to an outdated server and say so.
    try:
        ctx.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
        ctx.set_ciphers("ALL:@SECLEVEL=0")
    except (ValueError, ssl.SSLError):
        pass
    return ctx


def tls_context(cafile: str | None, verify: bool) -> ssl.SSLContext:
    """A cached client context; a missing or broken CA file is a :class:`UsageError`."""
    mtime = None
    if cafile is not None:
        advice = "Give the path of a PEM file with the CA certificate(s), e.g. the lab's ca.pem."
        if not cafile.strip():
            raise UsageError("The CA file name is empty.", advice=advice)
        try:
            info = os.stat(cafile)
        except (OSError, ValueError) as exc:  # ValueError: a NUL in the name
            why = exc.strerror if isinstance(exc, OSError) else str(exc)
            raise UsageError(f"CA file {cafile!r} cannot be read: {why}.", advice=advice) from exc
        # A FIFO or /dev/zero would make OpenSSL read forever.
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_CAFILE_BYTES:
            raise UsageError(
                f"CA file {cafile!r} is not a regular file of at most "
                f"{MAX_CAFILE_BYTES // 2**20} MB.",
                advice=advice,
            )
        mtime = info.st_mtime
    try:
        return _context(cafile, mtime, verify)
    except (ssl.SSLError, OSError) as exc:
        raise UsageError(
            f"CA file {cafile!r} holds no usable PEM certificate ({exc}).",
            advice="Point --cafile at a PEM bundle (BEGIN CERTIFICATE blocks).",
        ) from exc


def _openssl_reason(exc: ssl.SSLError) -> str | None:
    reason = getattr(exc, "reason", None)
    return str(reason) if reason else None


def _explain_handshake(exc: BaseException) -> str:
    reason = _openssl_reason(exc) if isinstance(exc, ssl.SSLError) else None
    if reason == "WRONG_VERSION_NUMBER":
        return (
            "TLS handshake failed (WRONG_VERSION_NUMBER): the server answered in "
            "plaintext. This port expects STARTTLS (try --starttls smtp), not implicit TLS."
        )
    if reason in {"UNSUPPORTED_PROTOCOL", "TLSV1_ALERT_PROTOCOL_VERSION", "NO_PROTOCOLS_AVAILABLE"}:
        return f"TLS handshake failed ({reason}): no TLS version in common with the server."
    if reason and "HANDSHAKE_FAILURE" in reason:
        return f"TLS handshake failed ({reason}): no cipher or key type in common."
    if isinstance(exc, ssl.SSLEOFError) or reason == "UNEXPECTED_EOF_WHILE_READING":
        return (
            "TLS handshake failed: the server closed the connection during the handshake "
            "(no certificate configured, or it does not speak TLS here)."
        )
    if isinstance(exc, TimeoutError):
        return "TLS handshake timed out: the server never answered the ClientHello."
    if isinstance(exc, ConnectionError):
        return f"TLS handshake failed: the connection broke ({exc})."
    return f"TLS handshake failed: {reason or exc}"


def start_tls(
    sock: socket.socket,
    *,
    server_hostname: str | None,
    cafile: str | None,
    verify: bool,
    timeout: float,
) -> tuple[ssl.SSLSocket, TlsSession]:
    """Run a TLS handshake on a connected socket (after STARTTLS, or at once for 465).

    With ``verify`` the chain and the host name are checked and a failure raises
    :class:`HandshakeFailed` carrying the OpenSSL code; without, the session is
    returned with ``verification=None``. The plain socket belongs to the returned
    TLS socket, or is closed on failure.
    """
    ctx = tls_context(cafile, verify)
    sni = server_hostname
    sock.settimeout(timeout)
    try:
        tls_sock = ctx.wrap_socket(sock, server_hostname=sni)
    except ssl.SSLCertVerificationError as exc:
        sock.close()
        code = int(exc.verify_code)
        verification = Verification(
            code,
            _VERIFY_MESSAGES.get(code, exc.verify_message),
            _trust_store_label(cafile),
            server_hostname,
        )
        raise HandshakeFailed(
            f"certificate verify failed: {verification}",
            openssl_reason="CERTIFICATE_VERIFY_FAILED",
            verification=verification,
        ) from exc
    except (ssl.SSLError, OSError, ValueError) as exc:
        sock.close()
        raise HandshakeFailed(
            _explain_handshake(exc),
            openssl_reason=_openssl_reason(exc) if isinstance(exc, ssl.SSLError) else None,
        ) from exc
    cipher = tls_sock.cipher()
    verdict = Verification(0, "ok", _trust_store_label(cafile), server_hostname) if verify else None
    session = TlsSession(
        version=tls_sock.version() or "unknown",
        cipher=cipher[0] if cipher else "unknown",
        cipher_bits=cipher[2] if cipher else None,
        servername=sni,
        chain=_peer_chain(tls_sock),
        verification=verdict,
    )
    return tls_sock, session


# --------------------------------------------------------------------------- STARTTLS dialogs


class _StartTlsRefused(ProtocolError):
    """The plaintext part of STARTTLS did not lead to a handshake."""


def _smtp_starttls(wire: Wire, log: TranscriptBuilder, helo: str) -> None:
    banner, raw = wire.read_reply()
    log.server_bytes(raw)
    if banner.code != ReplyCode.SERVICE_READY:
        raise _StartTlsRefused(f"The server's greeting was not 220: {banner.code} {banner.message}")
    log.client(f"EHLO {helo}")
    wire.send(f"EHLO {helo}\r\n".encode())
    ehlo, raw = wire.read_reply()
    log.server_bytes(raw)
    if not ehlo.positive:
        raise _StartTlsRefused(f"EHLO was rejected: {ehlo.code} {ehlo.message}")
    _, caps = parse_ehlo(ehlo)
    if "STARTTLS" not in caps:
        masked = [k for k in caps if MASKED_KEYWORD_RE.fullmatch(k)]
        hint = (
            f" The EHLO reply has {masked[0]} where STARTTLS would be: an SMTP-inspection "
            "middlebox on the path is hiding it."
            if masked
            else ""
        )
        raise _StartTlsRefused("The server does not offer STARTTLS." + hint)
    log.client("STARTTLS")
    wire.send(b"STARTTLS\r\n")
    reply, raw = wire.read_reply()
    log.server_bytes(raw)
    if reply.code != ReplyCode.SERVICE_READY:
        raise _StartTlsRefused(f"STARTTLS was refused: {reply.code} {reply.message}")


def _imap_starttls(wire: Wire, log: TranscriptBuilder) -> None:
    greeting = wire.read_line()
    log.server_bytes(greeting)
    if not greeting.upper().startswith((b"* OK", b"* PREAUTH")):
        raise _StartTlsRefused(f"Not an IMAP greeting: {greeting[:60]!r}")
    log.client("a1 STARTTLS")
    wire.send(b"a1 STARTTLS\r\n")
    for _ in range(MAX_UNTAGGED_LINES):
        line = wire.read_line()
        log.server_bytes(line)
        if line.startswith(b"a1 "):
            break
    else:
        raise _StartTlsRefused(
            f"The server sent more than {MAX_UNTAGGED_LINES} lines without answering "
            "a1 STARTTLS: not a working IMAP server."
        )
    if not line[3:].upper().startswith(b"OK"):
        raise _StartTlsRefused(f"STARTTLS was refused: {line.decode('utf-8', 'replace')}")


def _attempt(
    host: str,
    port: int,
    *,
    starttls: StartTls | None,
    servername: str | None,
    cafile: str | None,
    verify: bool,
    timeout: float,
    deadline: float,
    log: TranscriptBuilder,
    prior: PortResult | None = None,
) -> tuple[PortResult, TlsPhase, str, TlsSession | None, HandshakeFailed | None]:
    if prior is not None and not prior.ok:
        sock, connection = None, prior  # a scan already saw it fail: not again
    else:
        sock, connection = connect(host, port, max(deadline - time.monotonic(), 0.001))
    if sock is None:
        log.note(f"connect:errno={connection.errno_number} ({connection.errno_name})")
        return connection, TlsPhase.CONNECT, connection.explanation, None, None
    log.note(f"CONNECTED({connection.address})")
    try:
        if starttls is not None:
            wire = Wire(sock, timeout=timeout, deadline=deadline)
            try:
                if starttls == "smtp":
                    _smtp_starttls(wire, log, address_literal(sock))
                else:
                    _imap_starttls(wire, log)
            except WireStop as exc:
                log.server_bytes(exc.partial)
                sock.close()
                return connection, TlsPhase.STARTTLS, f"STARTTLS dialog failed: {exc}", None, None
            except _StartTlsRefused as exc:
                sock.close()
                return connection, TlsPhase.STARTTLS, str(exc), None, None
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            sock.close()
            return connection, TlsPhase.HANDSHAKE, "The probe's time ran out.", None, None
        try:
            tls_sock, session = start_tls(
                sock, server_hostname=servername, cafile=cafile, verify=verify, timeout=remaining
            )
        except HandshakeFailed as exc:
            return connection, TlsPhase.HANDSHAKE, str(exc), None, exc
        close_quietly(tls_sock)
        return connection, TlsPhase.DONE, "handshake completed", session, None
    except BaseException:
        sock.close()
        raise


def probe_tls(
    host: str,
    port: int,
    *,
    starttls: StartTls | None = None,
    servername: str | None = None,
    cafile: str | None = None,
    timeout: float = 5.0,
    prior: PortResult | None = None,
) -> TlsResult:
    """Connect, optionally negotiate STARTTLS, handshake, and judge the certificate.

    ``timeout`` bounds the whole probe: connect, STARTTLS dialog, handshake and the
    unverified second look when verification fails.
    ``servername`` is both the SNI sent and the name verified (default: ``host``).
    ``cafile`` is a PEM bundle to trust instead of the system store (the lab's CA).
    ``prior``: a failed connection attempt a port scan just made (reported, not retried).
    Expected failures are data in the result; only misuse raises :class:`UsageError`.
    """
    host, port = validate_target(host, port)
    timeout = check_timeout(timeout)
    if servername is not None:
        validate_target(servername, port)
    if starttls not in (None, "smtp", "imap"):
        raise UsageError(
            f"Unknown STARTTLS protocol {starttls!r}.",
            advice="Use --starttls smtp or --starttls imap, or leave it out "
            "for implicit TLS (465, 993).",
        )
    tls_context(cafile, True)  # fail early on a bad CA file
    name = servername or host
    started = time.monotonic()
    log = TranscriptBuilder()
    command = f"openssl s_client -connect {host}:{port} -servername {name}"
    if starttls:
        command += f" -starttls {starttls}"
    if cafile:
        command += f" -CAfile {cafile}"
    log.shell(command)
    deadline = started + timeout
    connection, phase, reason, session, failure = _attempt(
        host,
        port,
        starttls=starttls,
        servername=name,
        cafile=cafile,
        verify=True,
        timeout=timeout,
        deadline=deadline,
        log=log,
        prior=prior,
    )
    handshake_error = failure.openssl_reason if failure else None
    if failure is not None and failure.verification is not None:
        # Verification failed: look again without verifying, to show what was presented.
        verification = failure.verification
        log.note(f"verify error:num={verification.code}:{verification.message}")
        retry_log = TranscriptBuilder()
        first_connection = connection
        connection, phase, retry_reason, session, retry_failure = _attempt(
            host,
            port,
            starttls=starttls,
            servername=name,
            cafile=cafile,
            verify=False,
            timeout=timeout,
            deadline=deadline,
            log=retry_log,
        )
        if not connection.ok:  # the port answered a moment ago: keep that, not a retry's luck
            connection = first_connection
        if session is not None:
            session = replace(session, verification=verification)
            reason = f"handshake completed; certificate verify failed: {verification}"
        else:
            phase = TlsPhase.HANDSHAKE  # what failed is verification, whatever the retry met
            reason = f"{reason}; retry without verification failed: {retry_reason}"
            handshake_error = retry_failure.openssl_reason if retry_failure else handshake_error
    if session is not None:
        log.note(f"Protocol: {session.version}, Cipher: {session.cipher}")
        if session.leaf is not None:
            log.note(f"subject={session.leaf.subject}")
            log.note(f"issuer={session.leaf.issuer}")
        if session.verification is not None:
            log.note(f"Verify return code: {session.verification}")
    elif phase is not TlsPhase.CONNECT:
        log.note(reason)
    return TlsResult(
        host=host,
        port=port,
        starttls=starttls,
        servername=name,
        connection=connection,
        stopped_at=phase,
        reason=reason,
        session=session,
        transcript=log.freeze(),
        handshake_error=handshake_error,
        elapsed=time.monotonic() - started,
    )
