"""A real SMTP server (aiosmtpd) in a thread, configured like the lab's Postfix.

The knobs mirror Postfix parameters so tests read like the lesson:

* ``tls=`` a server context -> ``STARTTLS`` offered (``smtpd_tls_security_level = may``);
  ``implicit_tls=True`` -> TLS from the first byte (the ``smtps`` service on 465);
* ``users=`` -> ``AUTH PLAIN LOGIN`` against that table (Dovecot SASL);
* ``auth_require_tls=True`` -> AUTH only after STARTTLS (``smtpd_tls_auth_only = yes``);
* ``local_domains`` and ``open_relay`` -> ``454 4.7.1 ... Relay access denied`` for
  unauthenticated mail to other domains, unless the server is an open relay
  (``smtpd_relay_restrictions`` gone wrong).

Messages that are accepted are kept in :attr:`FakeMailServer.messages`; nothing is
ever delivered anywhere.
"""

from __future__ import annotations

import logging
import socket
import ssl
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

__all__ = ["FakeMailServer", "ReceivedMessage"]

# aiosmtpd logs every client that rejects its certificate as an error with a traceback;
# for these servers that is the expected outcome, not news.
logging.getLogger("mail.log").setLevel(logging.CRITICAL)


@dataclass(frozen=True)
class ReceivedMessage:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    content: bytes
    authenticated_as: str | None


class _Handler:
    def __init__(self, server: FakeMailServer) -> None:
        self.server = server

    async def handle_EHLO(
        self, smtp: SMTP, session: Session, envelope: Envelope, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        lines = [r[4:] for r in responses if r[4:] != "HELP"]
        if not self.server.users:  # no SASL configured: Postfix shows no AUTH at all
            lines = [line for line in lines if not line.startswith("AUTH")]
        return [f"250-{line}" for line in lines[:-1]] + [f"250 {lines[-1]}"]

    async def handle_RCPT(
        self,
        smtp: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        domain = address.rpartition("@")[2].lower()
        if (
            domain not in self.server.local_domains
            and not session.authenticated
            and not self.server.open_relay
        ):
            return f"454 4.7.1 <{address}>: Relay access denied"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, smtp: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        user = None
        if session.authenticated and isinstance(session.auth_data, LoginPassword):
            user = session.auth_data.login.decode("utf-8", "replace")
        self.server.messages.append(
            ReceivedMessage(envelope.mail_from or "", tuple(envelope.rcpt_tos), content, user)
        )
        return "250 2.0.0 Ok: queued as LABKIT"


class _Controller(Controller):
    """aiosmtpd's Controller on a socket bound in advance to 127.0.0.1:0, so tests
    never race for a port number."""

    def __init__(self, handler: Any, sock: socket.socket, **kwargs: Any) -> None:
        self._sock = sock
        host, port = sock.getsockname()[:2]
        super().__init__(handler, hostname=host, port=port, **kwargs)

    def _create_server(self) -> Any:
        return self.loop.create_server(self._factory_invoker, sock=self._sock, ssl=self.ssl_context)


class FakeMailServer:
    """A context manager running one aiosmtpd server on 127.0.0.1:<free port>."""

    def __init__(
        self,
        *,
        hostname: str = "mail.zimmerman.test",
        tls: ssl.SSLContext | None = None,
        implicit_tls: bool = False,
        users: Mapping[str, str] | None = None,
        auth_require_tls: bool = True,
        local_domains: Iterable[str] = ("zimmerman.test",),
        open_relay: bool = False,
    ) -> None:
        if implicit_tls and tls is None:
            raise ValueError("implicit_tls needs a tls= server context")
        self.hostname = hostname
        self.tls = tls
        self.implicit_tls = implicit_tls
        self.users = dict(users or {})
        self.auth_require_tls = auth_require_tls
        self.local_domains = frozenset(d.lower() for d in local_domains)
        self.open_relay = open_relay
        self.messages: list[ReceivedMessage] = []
        self.host = "127.0.0.1"
        self.port = 0
        self._controller: _Controller | None = None

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if isinstance(auth_data, LoginPassword):
            user = auth_data.login.decode("utf-8", "replace")
            ok = self.users.get(user) == auth_data.password.decode("utf-8", "replace")
            # handled=False: let aiosmtpd send "535 5.7.8 ... credentials invalid" itself.
            return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)
        return AuthResult(success=False, handled=False)

    def start(self) -> FakeMailServer:
        # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY only on sockets that say
        # so, and aiosmtpd writes each EHLO line separately; with Nagle on, every
        # multi-line reply would wait ~40 ms for the client's delayed ACK.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.bind((self.host, 0))
        self.port = sock.getsockname()[1]
        kwargs: dict[str, Any] = {
            "server_hostname": self.hostname,
            "ident": "ESMTP Postfix (Debian/GNU)",
            "data_size_limit": 10240000,
            "enable_SMTPUTF8": False,
            # With implicit TLS the whole connection is encrypted already.
            "auth_require_tls": self.auth_require_tls and not self.implicit_tls,
        }
        kwargs["authenticator"] = self._authenticate
        if self.implicit_tls:
            kwargs["ssl_context"] = self.tls
        elif self.tls is not None:
            kwargs["tls_context"] = self.tls
        self._controller = _Controller(_Handler(self), sock, **kwargs)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> FakeMailServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<FakeMailServer {self.hostname} {self.host}:{self.port}>"
