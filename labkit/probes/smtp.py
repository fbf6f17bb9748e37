"""A telnet-style SMTP dialog, recorded line by line and judged step by step.

:func:`smtp_session` does what the blog's author did by hand with ``telnet`` and
``openssl s_client``: read the banner, say EHLO, look at the extensions, optionally
STARTTLS and EHLO again, optionally AUTH, then any commands you give (VRFY, MAIL
FROM/RCPT TO for a relay test), then QUIT. The result keeps:

* the full :class:`Transcript`, printable in the blog's notation or as HTML;
* the EHLO capabilities **before and after TLS** (with ``smtpd_tls_auth_only = yes``
  Postfix shows ``AUTH`` only after STARTTLS: that difference *is* the lesson);
* ``stopped_at`` (a :class:`Phase`) and ``failure`` (a :class:`SmtpFailure`) with a
  reason, so "refused at connect", "silent after connect", "STARTTLS not offered"
  and "AUTH rejected" are distinct data, never exceptions;
* :class:`Anomaly` flags for fingerprints of an SMTP-inspection middlebox: a banner
  of asterisks (``220 ****``) and ``250-XXXXXXXA`` where ``STARTTLS`` should be
  (Cisco ASA "fixup smtp" / "inspect esmtp"), which explain the blog's laptop
  seeing no STARTTLS while the server itself offered it.

Passwords never reach the transcript (``AUTH PLAIN ****``). A server that never
speaks, sends garbage, splits a reply across packets, closes mid-reply or answers
every command just under the timeout yields a classified result within ``timeout``
for the whole dialog (connect, handshakes and every reply together).
"""

from __future__ import annotations

import base64
import contextlib
import enum
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from labkit.errors import UsageError
from labkit.limits import check_timeout
from labkit.probes._transcript import (
    Direction,
    Transcript,
    TranscriptBuilder,
    TranscriptLine,
)
from labkit.probes._wire import (
    MASKED_KEYWORD_RE,
    MASKED_TEXT_RE,
    EnhancedStatus,
    Reply,
    ReplyCode,
    StopKind,
    Wire,
    WireStop,
    address_literal,
    close_quietly,
    parse_ehlo,
    parse_reply,
)
from labkit.probes.tcp import PortResult, PortState, connect, validate_target
from labkit.probes.tls import HandshakeFailed, TlsSession, start_tls, tls_context

__all__ = [
    "Anomaly",
    "AnomalyKind",
    "Credentials",
    "Direction",
    "EnhancedStatus",
    "Exchange",
    "Phase",
    "Reply",
    "ReplyCode",
    "SmtpFailure",
    "SmtpResult",
    "Transcript",
    "TranscriptLine",
    "parse_ehlo",
    "parse_reply",
    "smtp_session",
]


class Phase(enum.StrEnum):
    """Where a dialog is (or where it stopped)."""

    CONNECT = "connect"
    BANNER = "banner"
    EHLO = "ehlo"
    STARTTLS = "starttls"
    TLS_HANDSHAKE = "tls-handshake"
    AUTH = "auth"
    MAIL = "mail"
    RCPT = "rcpt"
    DATA = "data"
    COMMAND = "command"  # VRFY, EXPN, NOOP, RSET, HELP...
    QUIT = "quit"
    DONE = "done"


class SmtpFailure(enum.StrEnum):
    """Why a dialog stopped before ``done``."""

    CONNECT_FAILED = "connect-failed"  # see ``connection.state`` for refused/timeout/...
    TIMEOUT = "timeout"  # connected, but the server went silent
    CLOSED = "closed"  # the server closed the connection
    RESET = "reset"
    GARBAGE = "garbage"  # the server does not speak SMTP
    REJECTED = "rejected"  # a negative reply (4xx/5xx)
    NOT_OFFERED = "not-offered"  # STARTTLS or an AUTH mechanism is not in EHLO
    TLS_FAILED = "tls-failed"
    AUTH_FAILED = "auth-failed"


class AnomalyKind(enum.StrEnum):
    MASKED_BANNER = "masked-banner"
    MASKED_EXTENSION = "masked-extension"
    BARE_LF = "bare-lf"
    DATA_AFTER_STARTTLS = "data-after-starttls"


@dataclass(frozen=True)
class Anomaly:
    """Something odd about the server's replies, with the evidence and what it suggests."""

    kind: AnomalyKind
    evidence: str
    explanation: str


@dataclass(frozen=True)
class Credentials:
    """Test credentials; the password is left out of ``repr`` and of every transcript."""

    user: str
    password: str = field(repr=False)
    mechanism: str = "PLAIN"


@dataclass(frozen=True)
class Exchange:
    """One command (as shown, i.e. redacted) and the reply it got."""

    phase: Phase
    command: str
    reply: Reply


@dataclass(frozen=True)
class SmtpResult:
    """Everything one SMTP dialog showed. ``ok`` means it reached ``done``."""

    host: str
    port: int
    connection: PortResult
    transcript: Transcript
    stopped_at: Phase
    failure: SmtpFailure | None
    reason: str
    banner: Reply | None
    ehlo_name: str | None
    used_helo: bool
    capabilities_before_tls: dict[str, tuple[str, ...]]
    capabilities_after_tls: dict[str, tuple[str, ...]] | None
    tls: TlsSession | None
    authenticated: bool | None  # None when AUTH was not attempted
    exchanges: tuple[Exchange, ...]
    anomalies: tuple[Anomaly, ...]
    elapsed: float

    @property
    def ok(self) -> bool:
        return self.stopped_at is Phase.DONE

    @property
    def capabilities(self) -> dict[str, tuple[str, ...]]:
        """The extensions in force last: after TLS when STARTTLS ran, before otherwise."""
        if self.capabilities_after_tls is not None:
            return self.capabilities_after_tls
        return self.capabilities_before_tls

    def _caps(self, after_tls: bool | None) -> dict[str, tuple[str, ...]]:
        if after_tls is None:
            return self.capabilities
        if after_tls:
            return self.capabilities_after_tls or {}
        return self.capabilities_before_tls

    def offers(self, keyword: str, *, after_tls: bool | None = None) -> bool:
        """Whether EHLO listed ``keyword`` (``after_tls``: None = the last EHLO)."""
        return keyword.upper() in self._caps(after_tls)

    def auth_mechanisms(self, *, after_tls: bool | None = None) -> tuple[str, ...]:
        return tuple(m.upper() for m in self._caps(after_tls).get("AUTH", ()))

    @property
    def middlebox_suspected(self) -> bool:
        return any(
            a.kind in (AnomalyKind.MASKED_BANNER, AnomalyKind.MASKED_EXTENSION)
            for a in self.anomalies
        )

    def reply_to(self, verb: str) -> Reply | None:
        """The reply to the last command starting with ``verb`` (e.g. ``"RCPT"``)."""
        verb = verb.upper()
        for exchange in reversed(self.exchanges):
            if exchange.command.split(" ", 1)[0].upper() == verb:
                return exchange.reply
        return None


_VERB_PHASES = {"MAIL": Phase.MAIL, "RCPT": Phase.RCPT, "DATA": Phase.DATA, "QUIT": Phase.QUIT}
_TRANSACTION_VERBS = frozenset({"MAIL", "RCPT", "DATA"})
_AUTH_RE = re.compile(r"^(AUTH\s+\S+)\s+\S.*$", re.IGNORECASE)

_STOP_FAILURES = {
    StopKind.CLOSED: SmtpFailure.CLOSED,
    StopKind.TIMEOUT: SmtpFailure.TIMEOUT,
    StopKind.RESET: SmtpFailure.RESET,
    StopKind.GARBAGE: SmtpFailure.GARBAGE,
    StopKind.TOO_LARGE: SmtpFailure.GARBAGE,
}


def _redact(line: str) -> str:
    """``AUTH PLAIN <base64>`` -> ``AUTH PLAIN ****`` for lines a caller typed."""
    return _AUTH_RE.sub(r"\1 ****", line)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _credentials(auth: object) -> Credentials | None:
    if auth is None or isinstance(auth, Credentials):
        creds = auth
    elif (
        isinstance(auth, (tuple, list))
        and len(auth) in (2, 3)
        and all(isinstance(x, str) for x in auth)
    ):
        creds = Credentials(*auth)
    else:
        raise UsageError(
            "auth must be (user, password) or (user, password, mechanism).",
            advice="For example auth=('jez@zimmerman.test', 'secret', 'LOGIN').",
        )
    if creds is not None:
        mechanism = creds.mechanism.upper()
        if mechanism not in ("PLAIN", "LOGIN"):
            raise UsageError(
                f"AUTH mechanism {creds.mechanism!r} is not supported.",
                advice="Use PLAIN or LOGIN (what Postfix with Dovecot SASL offers).",
            )
        creds = Credentials(creds.user, creds.password, mechanism)
    return creds


def _check_commands(commands: Sequence[str], message: str | bytes | None) -> tuple[str, ...]:
    checked = []
    for command in commands:
        if not isinstance(command, str) or not command.strip():
            raise UsageError(
                f"Empty or non-text SMTP command: {command!r}.",
                advice="Give commands as strings, e.g. 'VRFY root'.",
            )
        if "\r" in command or "\n" in command:
            raise UsageError(
                f"SMTP command {command!r} contains a line break.",
                advice="Give one command per item; labkit adds CRLF itself.",
            )
        if command.split()[0].upper() == "DATA" and message is None:
            raise UsageError(
                "DATA needs a message body.",
                advice="Pass message='Subject: test\\r\\n\\r\\nbody', or stop at RCPT "
                "(enough for a relay test).",
            )
        checked.append(command.strip())
    return tuple(checked)


def _dot_stuff(message: str | bytes) -> bytes:
    data = message.encode("utf-8") if isinstance(message, str) else message
    lines = data.replace(b"\r\n", b"\n").split(b"\n")
    stuffed = b"\r\n".join(b"." + line if line.startswith(b".") else line for line in lines)
    return stuffed.rstrip(b"\r\n") + b"\r\n.\r\n"


class _Stop(Exception):
    """Internal: ends a dialog; never leaves this module."""

    def __init__(
        self, phase: Phase, failure: SmtpFailure, reason: str, *, alive: bool = True
    ) -> None:
        super().__init__(reason)
        self.phase = phase
        self.failure = failure
        self.reason = reason
        self.alive = alive  # may we still send QUIT?


_SILENCE_HINTS = {
    Phase.BANNER: (
        " The port accepted the connection but sent no greeting: a port that expects TLS "
        "first (465: use implicit TLS), a tarpit, or not an SMTP server."
    ),
}
_CLOSED_HINTS = {
    Phase.BANNER: (
        " Accepted, then closed before any greeting: typical of a published Docker port "
        "whose container has nothing listening (docker-proxy), or of a server that rejects "
        "clients at connect (check mail.log)."
    ),
}


class _Session:
    def __init__(
        self,
        host: str,
        port: int,
        *,
        helo: str | None,
        starttls: bool,
        implicit_tls: bool,
        creds: Credentials | None,
        commands: tuple[str, ...],
        message: str | bytes | None,
        timeout: float,
        cafile: str | None,
        verify: bool,
        servername: str | None,
        auth_first: bool = False,
        prior: PortResult | None = None,
    ) -> None:
        self.host, self.port = host, port
        self.prior = prior
        self.auth_first = auth_first
        self.helo = helo
        self.want_starttls, self.implicit_tls = starttls, implicit_tls
        self.creds, self.commands, self.message = creds, commands, message
        self.timeout, self.cafile, self.verify = timeout, cafile, verify
        self.servername = servername or host
        self.log = TranscriptBuilder()
        self.exchanges: list[Exchange] = []
        self.anomalies: list[Anomaly] = []
        self.banner: Reply | None = None
        self.ehlo_name: str | None = None
        self.used_helo = False
        self.caps_before: dict[str, tuple[str, ...]] = {}
        self.caps_after: dict[str, tuple[str, ...]] | None = None
        self.tls: TlsSession | None = None
        self.authenticated: bool | None = None
        self.wire: Wire | None = None
        self.quit_sent = False
        self.deadline = time.monotonic() + timeout

    # -- wire helpers -------------------------------------------------------------------

    def _stop_from_wire(self, phase: Phase, exc: WireStop) -> _Stop:
        self.log.server_bytes(exc.partial)
        if exc.kind is StopKind.CLOSED:
            self.log.note("Connection closed by foreign host.")
        reason = str(exc)
        if exc.kind is StopKind.GARBAGE:
            reason = f"This does not look like an SMTP server. {reason}"
        elif exc.kind is StopKind.TIMEOUT:
            reason += _SILENCE_HINTS.get(phase, "")
        elif exc.kind is StopKind.CLOSED:
            reason += _CLOSED_HINTS.get(phase, "")
        return _Stop(phase, _STOP_FAILURES[exc.kind], reason, alive=False)

    def _read(self, phase: Phase) -> Reply:
        assert self.wire is not None
        try:
            reply, raw = self.wire.read_reply()
        except WireStop as exc:
            raise self._stop_from_wire(phase, exc) from None
        self.log.server_bytes(raw)
        if reply.code == ReplyCode.SERVICE_NOT_AVAILABLE and phase is not Phase.QUIT:
            raise _Stop(
                phase,
                SmtpFailure.REJECTED,
                f"The server is closing the connection: {reply.code} {reply.message}",
                alive=False,
            )
        return reply

    def _command(self, phase: Phase, line: str, shown: str | None = None) -> Reply:
        assert self.wire is not None
        shown = _redact(line) if shown is None else shown
        self.log.client(shown)
        try:
            self.wire.send(line.encode("utf-8") + b"\r\n")
        except WireStop as exc:
            raise self._stop_from_wire(phase, exc) from None
        reply = self._read(phase)
        self.exchanges.append(Exchange(phase, shown, reply))
        return reply

    def _handshake(self) -> None:
        assert self.wire is not None
        remaining = self.wire.remaining()
        if remaining <= 0:
            raise _Stop(
                Phase.TLS_HANDSHAKE,
                SmtpFailure.TIMEOUT,
                "The probe's time ran out before the TLS handshake.",
                alive=False,
            )
        try:
            tls_sock, session = start_tls(
                self.wire.sock,
                server_hostname=self.servername,
                cafile=self.cafile,
                verify=self.verify,
                timeout=remaining,
            )
        except HandshakeFailed as exc:
            self.log.note(str(exc))
            raise _Stop(
                Phase.TLS_HANDSHAKE, SmtpFailure.TLS_FAILED, str(exc), alive=False
            ) from None
        self.wire.replace_socket(tls_sock)
        self.tls = session
        self.log.note(f"TLS handshake done: {session.summary()}")

    # -- steps --------------------------------------------------------------------------

    def _greeting(self) -> None:
        banner = self._read(Phase.BANNER)
        self.banner = banner
        if banner.lines and MASKED_TEXT_RE.fullmatch(banner.lines[0]):
            self.anomalies.append(
                Anomaly(
                    AnomalyKind.MASKED_BANNER,
                    str(banner).splitlines()[0],
                    "The greeting text is all asterisks: an SMTP-inspection middlebox (e.g. "
                    "Cisco ASA 'inspect esmtp' / 'fixup smtp') rewrote it on the way.",
                )
            )
        if banner.code != ReplyCode.SERVICE_READY:
            raise _Stop(
                Phase.BANNER,
                SmtpFailure.REJECTED,
                f"The server refuses service: {banner.code} {banner.message}",
            )

    def _ehlo(self) -> dict[str, tuple[str, ...]]:
        reply = self._command(Phase.EHLO, f"EHLO {self.helo}")
        if reply.positive:
            name, caps = parse_ehlo(reply)
            self.ehlo_name = name
            for keyword in caps:
                if MASKED_KEYWORD_RE.fullmatch(keyword):
                    self._flag_masked(keyword)
            return caps
        if reply.permanent:
            helo = self._command(Phase.EHLO, f"HELO {self.helo}")
            if helo.positive:
                self.used_helo = True
                words = helo.lines[0].split() if helo.lines else []
                self.ehlo_name = words[0] if words else None
                return {}
            reply = helo
        raise _Stop(
            Phase.EHLO,
            SmtpFailure.REJECTED,
            f"EHLO/HELO was rejected: {reply.code} {reply.message}",
        )

    def _flag_masked(self, keyword: str) -> None:
        if any(a.evidence == f"250-{keyword}" for a in self.anomalies):
            return
        self.anomalies.append(
            Anomaly(
                AnomalyKind.MASKED_EXTENSION,
                f"250-{keyword}",
                f"{keyword} is an extension blanked out by an SMTP-inspection middlebox "
                "(Cisco ASA 'fixup smtp' turns STARTTLS into XXXXXXXA). The server may offer "
                "STARTTLS; something on the path hides it.",
            )
        )

    def _starttls(self) -> None:
        assert self.wire is not None
        if "STARTTLS" not in self.caps_before:
            masked = [a.evidence for a in self.anomalies if a.kind is AnomalyKind.MASKED_EXTENSION]
            hint = (
                f" EHLO shows {masked[0]} instead: a middlebox on the path strips it."
                if masked
                else " With Postfix: smtpd_tls_security_level = may and a readable "
                "smtpd_tls_cert_file/smtpd_tls_key_file (see mail.log)."
            )
            raise _Stop(
                Phase.STARTTLS,
                SmtpFailure.NOT_OFFERED,
                "The server does not offer STARTTLS." + hint,
            )
        reply = self._command(Phase.STARTTLS, "STARTTLS")
        if reply.code != ReplyCode.SERVICE_READY:
            raise _Stop(
                Phase.STARTTLS,
                SmtpFailure.REJECTED,
                f"STARTTLS was refused: {reply.code} {reply.message}",
            )
        if self.wire.buffer:
            self.anomalies.append(
                Anomaly(
                    AnomalyKind.DATA_AFTER_STARTTLS,
                    repr(bytes(self.wire.buffer[:80])),
                    "The server sent plaintext after '220' to STARTTLS; it is discarded. A "
                    "server that buffers it into the TLS session is vulnerable to command "
                    "injection (CVE-2011-0411).",
                )
            )
        self._handshake()
        self.caps_after = self._ehlo()

    def _auth(self, creds: Credentials) -> None:
        caps = self.caps_after if self.caps_after is not None else self.caps_before
        offered = tuple(m.upper() for m in caps.get("AUTH", ()))
        if "AUTH" not in caps:
            why = (
                ""
                if self.tls
                else " Before TLS this is expected with smtpd_tls_auth_only = yes: use STARTTLS "
                "(or port 465/587)."
            )
            raise _Stop(
                Phase.AUTH, SmtpFailure.NOT_OFFERED, "The server does not offer AUTH." + why
            )
        if creds.mechanism not in offered:
            raise _Stop(
                Phase.AUTH,
                SmtpFailure.NOT_OFFERED,
                f"AUTH {creds.mechanism} is not offered (offered: {' '.join(offered)}).",
            )
        user, password = creds.user.encode("utf-8"), creds.password.encode("utf-8")
        if creds.mechanism == "PLAIN":
            token = _b64(b"\0" + user + b"\0" + password)
            reply = self._command(Phase.AUTH, f"AUTH PLAIN {token}", "AUTH PLAIN ****")
            if reply.code == ReplyCode.AUTH_CONTINUE:
                reply = self._command(Phase.AUTH, token, "****")
        else:
            reply = self._command(Phase.AUTH, "AUTH LOGIN")
            if reply.code == ReplyCode.AUTH_CONTINUE:
                reply = self._command(Phase.AUTH, _b64(user))
            if reply.code == ReplyCode.AUTH_CONTINUE:
                reply = self._command(Phase.AUTH, _b64(password), "****")
        self.authenticated = reply.code == ReplyCode.AUTH_SUCCESSFUL
        if not self.authenticated:
            failure = (
                SmtpFailure.AUTH_FAILED
                if reply.code == ReplyCode.AUTH_FAILED
                else SmtpFailure.REJECTED
            )
            status = f" {reply.enhanced}" if reply.enhanced else ""
            raise _Stop(
                Phase.AUTH, failure, f"Authentication failed: {reply.code}{status} {reply.message}"
            )

    def _auth_as_planned(self, creds: Credentials) -> None:
        """AUTH where the learner put it (before STARTTLS), and the server's real answer.

        When the server does not offer AUTH, the bare ``AUTH MECHANISM`` is sent anyway
        (no credentials) so its reply (Postfix: ``503 5.5.1 Error: authentication not
        enabled``) is shown; a ``334`` challenge is cancelled with ``*`` (RFC 4954 §4).
        A refusal does not end the dialog: STARTTLS and the rest of the plan follow.
        """
        caps = self.caps_after if self.caps_after is not None else self.caps_before
        if "AUTH" in caps:
            try:
                self._auth(creds)
            except _Stop as stop:
                if stop.failure not in (SmtpFailure.AUTH_FAILED, SmtpFailure.REJECTED):
                    raise
            return
        reply = self._command(Phase.AUTH, f"AUTH {creds.mechanism}")
        if reply.code == ReplyCode.AUTH_CONTINUE:
            self._command(Phase.AUTH, "*")
        self.authenticated = False

    def _run_commands(self) -> None:
        assert self.wire is not None
        for command in self.commands:
            verb = command.split()[0].upper()
            phase = _VERB_PHASES.get(verb, Phase.COMMAND)
            reply = self._command(phase, command)
            if verb == "QUIT":
                self.quit_sent = True
                return
            if verb == "DATA" and reply.code == ReplyCode.START_MAIL_INPUT:
                assert self.message is not None
                self.log.client(f"... message body ({len(_dot_stuff(self.message))} bytes) ...")
                self.log.client(".")
                try:
                    self.wire.send(_dot_stuff(self.message))
                except WireStop as exc:
                    raise self._stop_from_wire(phase, exc) from None
                reply = self._read(Phase.DATA)
                self.exchanges.append(Exchange(Phase.DATA, ".", reply))
            if verb in _TRANSACTION_VERBS and not reply.positive:
                status = f" {reply.enhanced}" if reply.enhanced else ""
                raise _Stop(
                    phase,
                    SmtpFailure.REJECTED,
                    f"{verb} was rejected: {reply.code}{status} {reply.message}",
                )

    def _quit(self) -> None:
        self.quit_sent = True
        reply = self._command(Phase.QUIT, "QUIT")
        if reply.code == ReplyCode.CLOSING:
            self.log.note("Connection closed by foreign host.")

    # -- driver -------------------------------------------------------------------------

    def run(self) -> SmtpResult:
        started = time.monotonic()
        self.deadline = started + self.timeout
        if self.implicit_tls:
            self.log.shell(f"openssl s_client -connect {self.host}:{self.port} -crlf -quiet")
        else:
            self.log.shell(f"telnet {self.host} {self.port}")
        if self.prior is not None and not self.prior.ok:
            sock, connection = None, self.prior  # a scan already saw it fail: not again
        else:
            sock, connection = connect(self.host, self.port, self.timeout)
        phase, failure, reason = Phase.DONE, None, "The dialog completed."
        if sock is None:
            self._log_connect_failure(connection)
            phase, failure = Phase.CONNECT, SmtpFailure.CONNECT_FAILED
            reason = f"{connection.summary()}: {connection.explanation}"
        else:
            self.log.note(f"Trying {connection.address}...")
            self.log.note(f"Connected to {self.host}.")
            if not self.implicit_tls:
                self.log.note("Escape character is '^]'.")
            if self.helo is None:
                self.helo = address_literal(sock)
            self.wire = Wire(sock, timeout=self.timeout, deadline=self.deadline)
            try:
                phase, failure, reason = self._dialog()
            finally:
                close_quietly(self.wire.sock)
        if self.wire is not None and self.wire.bare_lf:
            self.anomalies.append(
                Anomaly(
                    AnomalyKind.BARE_LF,
                    "reply lines end in LF, not CRLF",
                    "The server ends lines with a bare LF; RFC 5321 requires CRLF.",
                )
            )
        return SmtpResult(
            host=self.host,
            port=self.port,
            connection=connection,
            transcript=self.log.freeze(),
            stopped_at=phase,
            failure=failure,
            reason=reason,
            banner=self.banner,
            ehlo_name=self.ehlo_name,
            used_helo=self.used_helo,
            capabilities_before_tls=self.caps_before,
            capabilities_after_tls=self.caps_after,
            tls=self.tls,
            authenticated=self.authenticated,
            exchanges=tuple(self.exchanges),
            anomalies=tuple(self.anomalies),
            elapsed=time.monotonic() - started,
        )

    def _dialog(self) -> tuple[Phase, SmtpFailure | None, str]:
        try:
            if self.implicit_tls:
                self._handshake()
            self._greeting()
            caps = self._ehlo()
            if self.tls is not None:  # implicit TLS: the first EHLO is already encrypted
                self.caps_after = caps
            else:
                self.caps_before = caps
            if self.creds is not None and self.auth_first:
                self._auth_as_planned(self.creds)
            if self.want_starttls:
                self._starttls()
            if self.creds is not None and not self.auth_first:
                self._auth(self.creds)
            self._run_commands()
        except _Stop as stop:
            if stop.alive and not self.quit_sent:
                self._polite_quit()
            return stop.phase, stop.failure, stop.reason
        if not self.quit_sent:
            try:
                self._quit()
            except _Stop as stop:
                return stop.phase, stop.failure, stop.reason
        return Phase.DONE, None, "The dialog completed."

    def _polite_quit(self) -> None:
        """After a rejection, say goodbye briefly; the verdict is already made."""
        assert self.wire is not None
        self.wire.timeout = min(self.timeout, 1.0)
        with contextlib.suppress(_Stop):
            self._quit()

    def _log_connect_failure(self, connection: PortResult) -> None:
        if connection.state is PortState.NAME_ERROR:
            self.log.note(
                f"telnet: could not resolve {self.host}/{self.port}: Name or service not known"
            )
            return
        if connection.address:
            self.log.note(f"Trying {connection.address}...")
        what = {
            PortState.REFUSED: "Connection refused",
            PortState.TIMEOUT: "Connection timed out",
            PortState.RESET: "Connection reset by peer",
            PortState.UNREACHABLE: "No route to host",
        }.get(connection.state, connection.error or connection.state.value)
        self.log.note(f"telnet: Unable to connect to remote host: {what}")


def smtp_session(
    host: str,
    port: int = 25,
    *,
    helo: str | None = None,
    starttls: bool = False,
    implicit_tls: bool = False,
    auth: Credentials | tuple[str, str] | tuple[str, str, str] | None = None,
    commands: Sequence[str] = (),
    message: str | bytes | None = None,
    timeout: float = 5.0,
    cafile: str | None = None,
    verify: bool = False,
    servername: str | None = None,
    auth_first: bool = False,
    prior: PortResult | None = None,
) -> SmtpResult:
    """Talk SMTP to ``host:port`` like the blog did with telnet, and record everything.

    Steps: banner, EHLO (HELO if EHLO is refused), then STARTTLS + EHLO when
    ``starttls``, then AUTH when ``auth`` is given, then each of ``commands``
    (e.g. ``("MAIL FROM:<a@example.net>", "RCPT TO:<b@example.net>")`` for a relay
    test; DATA sends ``message``), then QUIT. ``implicit_tls`` handshakes before the
    banner (port 465).

    ``auth_first`` sends AUTH *before* STARTTLS, as a learner may plan it, and records
    the server's real reply even when AUTH is not offered in plain text.

    ``prior`` is a connection attempt to the same port made just before (a port
    scan's): when it failed, the dialog reports that failure instead of waiting for
    another timeout.

    ``helo`` defaults to the client's address literal, e.g. ``[172.20.0.5]``.
    ``verify`` (default off, like ``s_client``): when on, a certificate that does
    not verify against ``cafile`` (or the system store) stops the dialog at
    ``tls-handshake``; when off the dialog goes on and ``tls.verification`` is None
    (use :func:`labkit.probes.tls.probe_tls` for the verdict).

    Misuse (bad host, both TLS modes, an unknown AUTH mechanism, CR/LF inside a
    command) raises :class:`UsageError`; everything the server does is data.
    """
    host, port = validate_target(host, port)
    timeout = check_timeout(timeout)
    if servername is not None:
        validate_target(servername, port)
    if starttls and implicit_tls:
        raise UsageError(
            "starttls and implicit_tls exclude each other.",
            advice="Use implicit TLS for 465 (smtps) and STARTTLS for 25 and 587.",
        )
    if helo is not None and (not helo.strip() or any(c in helo for c in "\r\n ")):
        raise UsageError(
            f"Invalid EHLO name {helo!r}.",
            advice="Give a host name or an address literal like [192.0.2.1].",
        )
    if starttls or implicit_tls:
        tls_context(cafile, verify)  # a bad CA file is a usage error, before any packet
    session = _Session(
        host,
        port,
        helo=helo,
        starttls=starttls,
        implicit_tls=implicit_tls,
        creds=_credentials(auth),
        commands=_check_commands(commands, message),
        message=message,
        timeout=timeout,
        cafile=cafile,
        verify=verify,
        servername=servername,
        auth_first=auth_first,
        prior=prior,
    )
    return session.run()
