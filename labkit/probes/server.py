"""The inside view: what the mail server itself says, as the blog's author saw it over SSH.

From outside you see symptoms (587 refused, no STARTTLS); from inside you see causes:

* ``postconf -n``       the parameters that differ from the defaults (main.cf);
* ``postconf -M``       the services in master.cf: is ``submission`` (587) or ``smtps``
                        (465) there at all? (Debian ships both commented out);
* ``ss -ltnH``          what really listens (``/proc/net/tcp`` when ``ss`` is missing):
                        a service in master.cf but not listening means "not reloaded";
* ``/var/log/mail.log`` the lines that explain a missing STARTTLS (``cannot get RSA
                        certificate from file ...: disabling TLS support``), SASL trouble,
                        relay rejections;
* ``telnet localhost 25`` a local SMTP dialog: STARTTLS offered from inside but not
                        outside means something on the path strips it.

Each command runs through a :class:`~labkit.transport.Transport` (``docker exec``
or ``ssh``). The parsers are pure functions of the command output, so they are tested
on captured output without a server. The mail server image is not assumed to have
Python: the local dialog uses bash's ``/dev/tcp``.
"""

from __future__ import annotations

import enum
import re
import shlex
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from labkit.errors import LabkitError, ProtocolError, TransportError
from labkit.limits import check_timeout
from labkit.probes._transcript import Transcript, TranscriptBuilder
from labkit.probes._wire import Reply, parse_ehlo, parse_reply
from labkit.transport import ListeningSocket, parse_proc_net_tcp, parse_ss_listening

if TYPE_CHECKING:
    from labkit.transport import ExecResult, Transport

__all__ = [
    "SERVICE_PORTS",
    "ListeningSocket",
    "LocalSmtpDialog",
    "LogEvent",
    "LogEventKind",
    "MasterService",
    "ServerInspection",
    "StepError",
    "TlsFile",
    "inspect_server",
    "local_smtp_script",
    "parse_local_dialog",
    "parse_mail_log",
    "parse_master",
    "parse_postconf",
    "parse_proc_net_tcp",
    "parse_ss_listening",
]

T = TypeVar("T")

#: master.cf service names that are really port names (from /etc/services).
SERVICE_PORTS = {
    "smtp": 25,
    "submission": 587,
    "smtps": 465,
    "submissions": 465,
    "urd": 465,
    "imap": 143,
    "imaps": 993,
    "pop3": 110,
    "pop3s": 995,
    "lmtp": 24,
}


# --------------------------------------------------------------------------- postconf -n


def parse_postconf(text: str) -> dict[str, str]:
    """``name = value`` lines (``postconf -n``, or main.cf itself) to a dict.

    Comments and blank lines are skipped; a line starting with whitespace continues
    the previous value, as in main.cf.
    """
    params: dict[str, str] = {}
    last: str | None = None
    for raw in text.splitlines():
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        if raw[0].isspace() and last is not None:
            params[last] = f"{params[last]} {raw.strip()}".strip()
            continue
        name, sep, value = raw.partition("=")
        if not sep:
            continue
        last = name.strip()
        params[last] = value.strip()
    return params


# --------------------------------------------------------------------------- postconf -M


@dataclass(frozen=True)
class MasterService:
    """One master.cf entry, e.g. ``submission inet n - y - - smtpd -o ...``."""

    name: str
    type: str
    private: str
    unprivileged: str
    chroot: str
    wakeup: str
    maxproc: str
    command: str
    args: tuple[str, ...] = ()
    options: dict[str, str] = field(default_factory=dict)

    @property
    def listen_address(self) -> str | None:
        host, sep, _ = self.name.rpartition(":")
        return host if sep else None

    @property
    def port(self) -> int | None:
        """The TCP port of an ``inet`` service (``submission`` -> 587, ``127.0.0.1:10025``
        -> 10025); ``None`` for unix services or unknown names."""
        if self.type != "inet":
            return None
        port = self.name.rpartition(":")[2]
        if port.isdigit():
            return int(port)
        return SERVICE_PORTS.get(port)

    @property
    def is_smtpd(self) -> bool:
        return self.command == "smtpd"

    def line(self) -> str:
        opts = " ".join(f"-o {k}={v}" for k, v in self.options.items())
        fields = [
            self.name,
            self.type,
            self.private,
            self.unprivileged,
            self.chroot,
            self.wakeup,
            self.maxproc,
            self.command,
            *self.args,
        ]
        return " ".join(fields) + (f" {opts}" if opts else "")


def parse_master(text: str) -> tuple[MasterService, ...]:
    """``postconf -M`` output (or master.cf itself) to services.

    Continuation lines (starting with whitespace) belong to the previous service;
    commented-out services such as Debian's ``#submission inet ...`` do not count,
    which is exactly why 587 is refused on a fresh install.
    """
    entries: list[list[str]] = []
    for raw in text.splitlines():
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        if raw[0].isspace() and entries:
            entries[-1].extend(_split(raw))
        else:
            entries.append(_split(raw))
    services = []
    for words in entries:
        if len(words) < 8:
            continue
        name, kind, private, unpriv, chroot, wakeup, maxproc, command, *rest = words
        options: dict[str, str] = {}
        args: list[str] = []
        i = 0
        while i < len(rest):
            word = rest[i]
            if word == "-o" and i + 1 < len(rest):
                key, _, value = rest[i + 1].partition("=")
                options[key] = value
                i += 2
                continue
            if word.startswith("-o") and "=" in word:
                key, _, value = word[2:].partition("=")
                options[key] = value
            else:
                args.append(word)
            i += 1
        services.append(
            MasterService(
                name, kind, private, unpriv, chroot, wakeup, maxproc, command, tuple(args), options
            )
        )
    return tuple(services)


def _split(line: str) -> list[str]:
    try:
        return shlex.split(line, comments=False, posix=True)
    except ValueError:
        return line.split()


# --------------------------------------------------------------------------- mail.log


class LogEventKind(enum.StrEnum):
    """Log lines a mail admin must recognise, each with what it usually means."""

    TLS_CERT_MISSING = "tls-cert-missing"  # STARTTLS disabled: cert/key file unreadable
    TLS_LIBRARY_PROBLEM = "tls-library-problem"
    TLS_HANDSHAKE_FAILED = "tls-handshake-failed"  # a client rejected our certificate
    SASL_MISCONFIGURED = "sasl-misconfigured"  # Postfix cannot reach Dovecot's auth socket
    SASL_AUTH_FAILED = "sasl-auth-failed"  # wrong user or password
    RELAY_DENIED = "relay-denied"
    CONNECT_REFUSED = "connect-refused"  # outbound delivery refused by the next hop
    REVERSE_DNS_MISMATCH = "reverse-dns-mismatch"
    FATAL = "fatal"
    WARNING = "warning"


@dataclass(frozen=True)
class LogEvent:
    kind: LogEventKind
    line: str
    timestamp: str | None
    program: str | None  # e.g. postfix/smtpd, postfix/submission/smtpd
    message: str
    subject: str | None = None  # the file, client or recipient the line is about


_SYSLOG_RE = re.compile(
    r"^(?P<ts>\d{4}-\d\d-\d\dT\S+|[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d)\s+\S+\s+"
    r"(?P<prog>[\w./-]+)(?:\[\d+\])?:\s+(?P<msg>.*)$"
)

_PATTERNS: tuple[tuple[LogEventKind, re.Pattern[str]], ...] = (
    (
        LogEventKind.TLS_CERT_MISSING,
        re.compile(
            r"cannot get (?:RSA|DSA|ECDSA|EC)? ?(?:certificate|private key) from file "
            r"\"?(?P<subject>[^\":]+)\"?"
        ),
    ),
    (LogEventKind.TLS_CERT_MISSING, re.compile(r"No server certs available")),
    (
        LogEventKind.TLS_HANDSHAKE_FAILED,
        re.compile(
            r"SSL_accept error from (?P<subject>\S+)|TLS handshake failed|"
            r"alert (?:bad|unknown|unsupported) certificate"
        ),
    ),
    (LogEventKind.TLS_LIBRARY_PROBLEM, re.compile(r"TLS library problem")),
    (
        LogEventKind.SASL_MISCONFIGURED,
        re.compile(
            r"SASL: Connect to (?P<subject>\S+) failed|no SASL authentication mechanisms|"
            r"SASL authentication problem"
        ),
    ),
    (
        LogEventKind.SASL_AUTH_FAILED,
        re.compile(r"(?P<subject>\S+\[[^\]]*\]): SASL \S+ authentication failed"),
    ),
    (
        LogEventKind.RELAY_DENIED,
        re.compile(
            r"reject: RCPT from (?P<client>\S+): \d{3} [\d.]+ <(?P<subject>[^>]*)>: "
            r"Relay access denied"
        ),
    ),
    (LogEventKind.CONNECT_REFUSED, re.compile(r"connect to (?P<subject>\S+): Connection refused")),
    (
        LogEventKind.REVERSE_DNS_MISMATCH,
        re.compile(
            r"hostname (?P<subject>\S+) does not resolve to address|"
            r"address not listed for hostname (?P<subject2>\S+)"
        ),
    ),
)


def _classify_log(message: str) -> tuple[LogEventKind, str | None] | None:
    for kind, pattern in _PATTERNS:
        match = pattern.search(message)
        if match:
            groups = match.groupdict()
            subject = groups.get("subject") or groups.get("subject2")
            return kind, subject
    if message.startswith(("fatal:", "panic:")):
        return LogEventKind.FATAL, None
    if message.startswith(("warning:", "error:")):
        return LogEventKind.WARNING, None
    return None


def parse_mail_log(text: str) -> tuple[LogEvent, ...]:
    """Recognise the known problem lines in a mail log; other lines are ignored.

    Accepts both the classic syslog timestamp (``Jul  7 01:08:00``) and rsyslog's
    RFC 3339 one (Debian 12's default); lines without a syslog prefix are still
    matched on their text.
    """
    events = []
    for line in text.splitlines():
        if not line.strip():
            continue
        match = _SYSLOG_RE.match(line)
        if match:
            timestamp, program, message = match.group("ts"), match.group("prog"), match.group("msg")
        else:
            timestamp, program, message = None, None, line.strip()
        found = _classify_log(message)
        if found is None:
            continue
        kind, subject = found
        events.append(LogEvent(kind, line, timestamp, program, message, subject))
    return tuple(events)


# --------------------------------------------------------------------------- telnet localhost 25


@dataclass(frozen=True)
class LocalSmtpDialog:
    """``telnet localhost 25`` run on the server itself."""

    port: int
    transcript: Transcript
    banner: Reply | None
    capabilities: dict[str, tuple[str, ...]]
    connected: bool
    error: str | None

    @property
    def ok(self) -> bool:
        return self.connected and self.banner is not None and self.error is None

    def offers(self, keyword: str) -> bool:
        return keyword.upper() in self.capabilities


def local_smtp_script(port: int = 25, helo: str = "localhost", timeout: int = 5) -> str:
    """A bash script that talks SMTP to 127.0.0.1 without telnet, nc or Python.

    It prints each client line as ``> ...`` and each server line as it came, so the
    output *is* the transcript. Reads wait at most ``timeout`` seconds per line.
    """
    return f"""exec 3<>/dev/tcp/127.0.0.1/{int(port)} || exit 111
reply() {{ while IFS= read -r -t {int(timeout)} line <&3; do
  printf '%s\\n' "${{line%$'\\r'}}"
  case "$line" in [0-9][0-9][0-9]-*) ;; *) return 0 ;; esac
done; echo '! no complete reply'; return 1; }}
reply || exit 2
printf '> EHLO {helo}\\n'; printf 'EHLO {helo}\\r\\n' >&3; reply || exit 2
printf '> QUIT\\n'; printf 'QUIT\\r\\n' >&3; reply
exit 0
"""


def parse_local_dialog(stdout: str, stderr: str, exit_code: int, port: int = 25) -> LocalSmtpDialog:
    """Turn the output of :func:`local_smtp_script` into a dialog with parsed replies."""
    log = TranscriptBuilder()
    log.shell(f"telnet localhost {port}")
    if exit_code == 111 and not stdout:  # the script's "could not connect" exit
        reason = stderr.strip().splitlines()[-1] if stderr.strip() else "Connection refused"
        log.note("Trying 127.0.0.1...")
        log.note("telnet: Unable to connect to remote host: Connection refused")
        return LocalSmtpDialog(port, log.freeze(), None, {}, False, reason)
    log.note("Trying 127.0.0.1...")
    log.note("Connected to localhost.")
    log.note("Escape character is '^]'.")
    replies: list[list[str]] = [[]]
    error = None
    for line in stdout.splitlines():
        if line.startswith("> "):
            log.client(line[2:])
            replies.append([])
        elif line.startswith("! "):
            error = line[2:]
            log.note(error)
        else:
            log.server([line])
            replies[-1].append(line)
    parsed: list[Reply | None] = []
    for lines in replies:
        try:
            parsed.append(
                parse_reply("".join(f"{ln}\r\n" for ln in lines).encode()) if lines else None
            )
        except ProtocolError as exc:
            parsed.append(None)
            error = error or str(exc)
    banner = parsed[0] if parsed else None
    capabilities: dict[str, tuple[str, ...]] = {}
    if len(parsed) > 1 and parsed[1] is not None and parsed[1].positive:
        _, capabilities = parse_ehlo(parsed[1])
    if exit_code != 0 and error is None:
        error = stderr.strip() or f"exit code {exit_code}"
    return LocalSmtpDialog(port, log.freeze(), banner, capabilities, True, error)


# --------------------------------------------------------------------------- TLS files

#: The main.cf parameters that name files Postfix must read to offer TLS.
TLS_FILE_PARAMS = (
    "smtpd_tls_cert_file",
    "smtpd_tls_key_file",
    "smtpd_tls_chain_files",
    "smtpd_tls_eccert_file",
    "smtpd_tls_eckey_file",
)


@dataclass(frozen=True)
class TlsFile:
    """A file main.cf names for TLS, and whether it is there for Postfix (run as root)."""

    param: str
    path: str
    state: str  # "readable", "unreadable" or "missing"

    @property
    def ok(self) -> bool:
        return self.state == "readable"

    def line(self) -> str:
        said = {"missing": "no such file", "unreadable": "exists but cannot be read"}
        return f"{self.param} = {self.path}: {said.get(self.state, self.state)}"


def tls_files_script() -> str:
    """A POSIX sh script: one ``param state path`` line per file a TLS parameter names
    (values expanded, as Postfix reads them; a list such as chain_files gives one line
    per file)."""
    names = " ".join(TLS_FILE_PARAMS)
    return (
        f"values=$(postconf -xh {names}) || exit 1\n"
        f"set -- {names}\n"
        "printf '%s\\n' \"$values\" | while IFS= read -r v; do\n"
        "  p=$1; shift\n"
        "  for f in $(printf '%s' \"$v\" | tr ',' ' '); do\n"
        '    if [ -r "$f" ]; then s=readable; elif [ -e "$f" ]; then s=unreadable; '
        "else s=missing; fi\n"
        '    printf \'%s %s %s\\n\' "$p" "$s" "$f"\n'
        "  done\n"
        "done\n"
    )


def parse_tls_files(text: str) -> tuple[TlsFile, ...]:
    """Parse :func:`tls_files_script` output; lines of any other shape are skipped."""
    files = []
    for line in text.splitlines():
        parts = line.split(" ", 2)
        if (
            len(parts) == 3
            and parts[0] in TLS_FILE_PARAMS
            and parts[1] in ("readable", "unreadable", "missing")
            and parts[2]
        ):
            files.append(TlsFile(parts[0], parts[2], parts[1]))
    return tuple(files)


# --------------------------------------------------------------------------- inspect_server


@dataclass(frozen=True)
class StepError:
    """A command of the inspection that could not run or failed."""

    step: str
    command: str
    message: str


@dataclass(frozen=True)
class ServerInspection:
    """Everything the inside view gathered; any step may be missing (see ``errors``)."""

    vantage: str
    postconf: dict[str, str] | None
    services: tuple[MasterService, ...] | None
    listening: tuple[ListeningSocket, ...] | None
    log_path: str
    log_events: tuple[LogEvent, ...] | None
    local_smtp: LocalSmtpDialog | None
    errors: tuple[StepError, ...]
    elapsed: float
    tls_files: tuple[TlsFile, ...] | None = None

    def service_for_port(self, port: int) -> MasterService | None:
        for service in self.services or ():
            if service.port == port:
                return service
        return None

    def is_listening(self, port: int) -> bool | None:
        """True/False, or None when the listening sockets are unknown."""
        if self.listening is None:
            return None
        return any(s.port == port and not s.loopback_only for s in self.listening)

    def param(self, name: str) -> str | None:
        return (self.postconf or {}).get(name)

    def events(self, *kinds: LogEventKind) -> tuple[LogEvent, ...]:
        return tuple(e for e in self.log_events or () if not kinds or e.kind in kinds)

    def unusable_tls_files(self) -> tuple[TlsFile, ...]:
        """The TLS files main.cf names that Postfix cannot read (known even before
        mail.log says so: Postfix only logs it when an smtpd process starts)."""
        return tuple(f for f in self.tls_files or () if not f.ok)


#: A prefilter run on the server: lines that :func:`parse_mail_log` may recognise.
#: The master's own line when it starts or reloads: the log window begins after the last.
_RELOAD_MARK = r"postfix/master\[[0-9]+\]: (reload|daemon started)"
_AWK_SINCE_RELOAD = (
    'index($0, "postfix/master[") && /: (reload|daemon started) / {n=0; next} '
    "{a[++n]=$0} END {for (i = 1; i <= n; i++) print a[i]}"
)
_LOG_FILTER = (
    "warning:|error:|fatal:|panic:|reject:|Connection refused|SSL_accept error|"
    "does not resolve|No server certs"
)


def _run(transport: Transport, argv: list[str], timeout: float) -> ExecResult:
    return transport.run(argv, timeout=timeout)


def _attempt(
    step: str, argv: list[str], work: Callable[[], T], errors: list[StepError]
) -> T | None:
    try:
        return work()
    except (LabkitError, OSError, ValueError) as exc:
        message = exc.describe() if isinstance(exc, LabkitError) else str(exc)
        errors.append(StepError(step, shlex.join(argv), message))
        return None


def inspect_server(
    transport: Transport,
    *,
    smtp_port: int = 25,
    log_lines: int = 200,
    mail_log: str = "/var/log/mail.log",
    timeout: float = 10.0,
) -> ServerInspection:
    """Run the inside checks concurrently through ``transport``; never raises for a
    failing step (it is recorded in ``errors``), so a half-broken server still gives
    a half-full picture."""
    started = time.monotonic()
    deadline = started + check_timeout(timeout)
    errors: list[StepError] = []
    log_path = mail_log
    postconf_argv = ["postconf", "-n"]
    master_argv = ["postconf", "-M"]
    ss_argv = ["ss", "-ltnpH"]
    # Postfix 3.4+ may log to its own file (maillog_file) instead of syslog. Only the
    # lines that can matter are kept, so routine chatter does not push them out, and
    # only those since Postfix last (re)loaded its configuration: older complaints are
    # about a configuration that no longer runs.
    log_argv = [
        "sh",
        "-c",
        (
            'f=$(postconf -h maillog_file 2>/dev/null); [ -f "$f" ] || f="$1"; '
            '[ -r "$f" ] || { echo "cannot read $f" >&2; exit 1; }; '
            f"tail -n 20000 \"$f\" | grep -E '{_LOG_FILTER}|{_RELOAD_MARK}' "
            f"| awk '{_AWK_SINCE_RELOAD}' "
            f"| tail -n {int(log_lines)}; exit 0"
        ),
        "sh",
        log_path,
    ]
    dialog_argv = ["bash", "-c", local_smtp_script(smtp_port)]
    tls_argv = ["sh", "-c", tls_files_script()]

    def left() -> float:
        """The time left for the next command: the whole inspection has ``timeout``."""
        return max(deadline - time.monotonic(), 0.1)

    def checked(argv: list[str]) -> str:
        result = _run(transport, argv, left())
        if not result.ok:
            raise TransportError(
                f"`{result.command}` exited with {result.exit_code}: "
                f"{(result.stderr or result.stdout).strip()[:300]}"
            )
        return result.stdout

    def listening() -> tuple[ListeningSocket, ...]:
        try:
            return parse_ss_listening(checked(ss_argv))
        except TransportError:
            proc = checked(["cat", "/proc/net/tcp", "/proc/net/tcp6"])
            return parse_proc_net_tcp(proc)

    def dialog() -> LocalSmtpDialog:
        result = _run(transport, dialog_argv, left())
        return parse_local_dialog(result.stdout, result.stderr, result.exit_code, smtp_port)

    with ThreadPoolExecutor(max_workers=6) as pool:
        postconf = pool.submit(
            _attempt,
            "postconf",
            postconf_argv,
            lambda: parse_postconf(checked(postconf_argv)),
            errors,
        )
        services = pool.submit(
            _attempt, "master", master_argv, lambda: parse_master(checked(master_argv)), errors
        )
        sockets = pool.submit(_attempt, "listening", ss_argv, listening, errors)
        events = pool.submit(
            _attempt, "log", log_argv, lambda: parse_mail_log(checked(log_argv)), errors
        )
        local = pool.submit(_attempt, "dialog", dialog_argv, dialog, errors)
        tls = pool.submit(
            _attempt, "tls-files", tls_argv, lambda: parse_tls_files(checked(tls_argv)), errors
        )
    return ServerInspection(
        vantage=getattr(transport, "description", "?"),
        postconf=postconf.result(),
        services=services.result(),
        listening=sockets.result(),
        log_path=log_path,
        log_events=events.result(),
        local_smtp=local.result(),
        errors=tuple(sorted(errors, key=lambda e: e.step)),
        elapsed=time.monotonic() - started,
        tls_files=tls.result(),
    )
