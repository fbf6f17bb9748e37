"""Probe results built by hand, for testing pure code (doctor checks, graders).

Real servers (the rest of :mod:`labkit.testing`) prove the probes; once a probe
result exists, the code that *judges* it should be testable with any combination
of facts, including ones no local server produces easily (a 465 that times out
while Postfix listens inside). These builders make results that look like the
real ones, transcripts included, with sensible defaults for everything not given.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

from labkit.probes._transcript import TranscriptBuilder
from labkit.probes._wire import MASKED_KEYWORD_RE, MASKED_TEXT_RE, Reply, parse_ehlo, parse_reply
from labkit.probes.server import (
    ListeningSocket,
    LocalSmtpDialog,
    ServerInspection,
    parse_local_dialog,
    parse_mail_log,
    parse_master,
    parse_postconf,
    parse_tls_files,
)
from labkit.probes.smtp import (
    Anomaly,
    AnomalyKind,
    Exchange,
    Phase,
    SmtpFailure,
    SmtpResult,
)
from labkit.probes.tcp import PortResult, PortState
from labkit.probes.tls import CertInfo, TlsPhase, TlsResult, TlsSession, Verification

__all__ = [
    "cert_info",
    "port_result",
    "reply",
    "server_inspection",
    "smtp_result",
    "tls_result",
    "tls_session",
]

HOST = "mail.zimmerman.test"
POSTFIX_EHLO = (
    "PIPELINING",
    "SIZE 10240000",
    "VRFY",
    "ETRN",
    "STARTTLS",
    "ENHANCEDSTATUSCODES",
    "8BITMIME",
    "DSN",
)

_ERRNO = {
    PortState.REFUSED: ("ECONNREFUSED", 111),
    PortState.TIMEOUT: ("ETIMEDOUT", 110),
    PortState.RESET: ("ECONNRESET", 104),
    PortState.UNREACHABLE: ("EHOSTUNREACH", 113),
    PortState.NAME_ERROR: ("EAI_NONAME", -2),
}


def port_result(
    port: int,
    state: PortState = PortState.OPEN,
    *,
    host: str = HOST,
    address: str | None = "172.29.25.25",
) -> PortResult:
    errno_name, errno_number = _ERRNO.get(state, (None, None))
    return PortResult(
        host,
        port,
        state,
        None if state is PortState.NAME_ERROR else address,
        0.001,
        errno_name,
        errno_number,
        None if state is PortState.OPEN else state.value,
    )


def reply(code: int, *lines: str) -> Reply:
    """``reply(250, "mx", "STARTTLS")`` -> a parsed multi-line reply."""
    texts = lines or ("",)
    wire = "".join(
        f"{code}{'-' if i < len(texts) - 1 else ' '}{t}\r\n" for i, t in enumerate(texts)
    )
    return parse_reply(wire.encode())


def smtp_result(
    port: int = 25,
    *,
    host: str = HOST,
    connection: PortState = PortState.OPEN,
    banner: str | None = f"{HOST} ESMTP Postfix (Debian/GNU)",
    name: str = HOST,
    ehlo: Sequence[str] | None = POSTFIX_EHLO,
    after_tls: Sequence[str] | None = None,
    tls: TlsSession | None = None,
    authenticated: bool | None = None,
    commands: Iterable[tuple[str, Reply]] = (),
    stopped_at: Phase = Phase.DONE,
    failure: SmtpFailure | None = None,
    reason: str = "The dialog completed.",
) -> SmtpResult:
    """An SMTP dialog as :func:`labkit.probes.smtp.smtp_session` would return it.

    ``ehlo`` lists the extensions before TLS (None: no EHLO reply); ``after_tls`` the
    ones after STARTTLS (give ``tls`` too); ``commands`` are (command, reply) pairs.
    """
    log = TranscriptBuilder()
    log.shell(f"telnet {host} {port}")
    exchanges: list[Exchange] = []
    anomalies: list[Anomaly] = []
    if connection is not PortState.OPEN:
        log.note("telnet: Unable to connect to remote host: Connection refused")
        return SmtpResult(
            host,
            port,
            port_result(port, connection, host=host),
            log.freeze(),
            Phase.CONNECT,
            SmtpFailure.CONNECT_FAILED,
            reason,
            None,
            None,
            False,
            {},
            None,
            None,
            None,
            (),
            (),
            0.001,
        )
    log.note(f"Connected to {host}.")
    banner_reply = reply(220, banner) if banner is not None else None
    if banner_reply is not None:
        log.server(banner_reply.wire_lines())
        if MASKED_TEXT_RE.fullmatch(banner_reply.lines[0]):
            anomalies.append(Anomaly(AnomalyKind.MASKED_BANNER, str(banner_reply), "masked banner"))

    def ehlo_exchange(extensions: Sequence[str]) -> dict[str, tuple[str, ...]]:
        r = reply(250, name, *extensions)
        log.client("EHLO [172.29.25.100]")
        log.server(r.wire_lines())
        exchanges.append(Exchange(Phase.EHLO, "EHLO [172.29.25.100]", r))
        for keyword in parse_ehlo(r)[1]:
            if MASKED_KEYWORD_RE.fullmatch(keyword):
                anomalies.append(
                    Anomaly(AnomalyKind.MASKED_EXTENSION, f"250-{keyword}", "masked extension")
                )
        return parse_ehlo(r)[1]

    before = ehlo_exchange(ehlo) if ehlo is not None else {}
    after = None
    if after_tls is not None:
        log.client("STARTTLS")
        log.server(["220 2.0.0 Ready to start TLS"])
        after = ehlo_exchange(after_tls)
    for command, answer in commands:
        log.client(command)
        log.server(answer.wire_lines())
        verb = command.split()[0].upper()
        phase = {"MAIL": Phase.MAIL, "RCPT": Phase.RCPT, "AUTH": Phase.AUTH}.get(
            verb, Phase.COMMAND
        )
        exchanges.append(Exchange(phase, command, answer))
    return SmtpResult(
        host,
        port,
        port_result(port, host=host),
        log.freeze(),
        stopped_at,
        failure,
        reason,
        banner_reply,
        name if ehlo is not None else None,
        False,
        before,
        after,
        tls,
        authenticated,
        tuple(exchanges),
        tuple(anomalies),
        0.01,
    )


def cert_info(
    *names: str,
    issuer: str = "O=labkit,CN=labkit test CA",
    self_signed: bool = False,
    not_after: datetime | None = None,
) -> CertInfo:
    names = names or (HOST,)
    now = datetime.now(UTC)
    subject = f"CN={names[0]}"
    return CertInfo(
        subject,
        subject if self_signed else issuer,
        names[0],
        names,
        now - timedelta(days=1),
        not_after or now + timedelta(days=90),
        "RSA",
        2048,
        self_signed,
        False,
        "01",
        "sha256",
        "AA:" * 31 + "AA",
    )


def tls_session(
    verify_code: int | None = 0,
    *,
    message: str | None = None,
    chain: Sequence[CertInfo] | None = None,
) -> TlsSession:
    messages = {
        0: "ok",
        10: "certificate has expired",
        18: "self-signed certificate",
        19: "self-signed certificate in certificate chain",
        20: "unable to get local issuer certificate",
        62: "hostname mismatch",
    }
    verification = None
    if verify_code is not None:
        verification = Verification(
            verify_code, message or messages.get(verify_code, "error"), "system store", HOST
        )
    return TlsSession(
        "TLSv1.3",
        "TLS_AES_256_GCM_SHA384",
        256,
        HOST,
        tuple(chain) if chain is not None else (cert_info(),),
        verification,
    )


def tls_result(
    port: int,
    session: TlsSession | None = None,
    *,
    stopped_at: TlsPhase = TlsPhase.DONE,
    reason: str = "handshake completed",
    handshake_error: str | None = None,
) -> TlsResult:
    log = TranscriptBuilder()
    log.shell(f"openssl s_client -connect {HOST}:{port}")
    if session is None and stopped_at is TlsPhase.DONE:
        session = tls_session()
    return TlsResult(
        HOST,
        port,
        None,
        HOST,
        port_result(port),
        stopped_at,
        reason,
        session,
        log.freeze(),
        handshake_error,
        0.01,
    )


def _dialog(ehlo: Sequence[str] | None, port: int) -> LocalSmtpDialog | None:
    if ehlo is None:
        return None
    lines = ["220 metagross ESMTP Postfix (Debian/GNU)", "> EHLO localhost"]
    lines += [f"250-{x}" for x in ("metagross", *ehlo[:-1])] + [f"250 {ehlo[-1]}"]
    lines += ["> QUIT", "221 2.0.0 Bye"]
    return parse_local_dialog("\n".join(lines) + "\n", "", 0, port)


def server_inspection(
    *,
    postconf: str | None = "",
    master: str | None = "smtp       inet  n       -       n       -       -       smtpd\n",
    listening: Sequence[int] | None = (25,),
    log: str | None = "",
    local_ehlo: Sequence[str] | None = POSTFIX_EHLO,
    smtp_port: int = 25,
    tls_files: str | None = "",
) -> ServerInspection:
    """An inside view from captured-style text (``postconf -n`` text, ``postconf -M`` text,
    listening ports, mail.log text, the extensions the local EHLO shows, the TLS files'
    ``param state path`` lines); None means that step failed."""
    return ServerInspection(
        vantage="ssh root@mx",
        postconf=parse_postconf(postconf) if postconf is not None else None,
        services=parse_master(master) if master is not None else None,
        listening=(
            tuple(ListeningSocket("0.0.0.0", p) for p in listening)
            if listening is not None
            else None
        ),
        log_path="/var/log/mail.log",
        log_events=parse_mail_log(log) if log is not None else None,
        local_smtp=_dialog(local_ehlo, smtp_port),
        errors=(),
        elapsed=0.01,
        tls_files=parse_tls_files(tls_files) if tls_files is not None else None,
    )
