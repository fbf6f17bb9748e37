"""The notebook's stand-in middlebox, between a real client and a real SMTP server."""

from __future__ import annotations

from collections.abc import Callable

from labkit.probes.smtp import smtp_session
from labkit.testing.certs import CertFactory
from labkit.testing.inspecting_proxy import SmtpInspectingProxy
from labkit.testing.smtpd import FakeMailServer

Serve = Callable[[FakeMailServer], FakeMailServer]


def test_banner_masked_and_starttls_blanked(serve: Serve, certs: CertFactory) -> None:
    server = serve(FakeMailServer(tls=certs.leaf("mail.zimmerman.test").server_context()))
    direct = smtp_session(server.host, server.port, timeout=3)
    assert direct.offers("STARTTLS") and not direct.middlebox_suspected
    assert direct.banner is not None
    with SmtpInspectingProxy(server.host, server.port, timeout=3) as box:
        seen = smtp_session("127.0.0.1", box.port, starttls=True, timeout=3)
    banner = seen.banner.wire_lines()[0] if seen.banner else ""
    assert banner.startswith("220 ") and set(banner[4:]) == {"*"}
    assert len(banner) == len(direct.banner.wire_lines()[0])
    assert not seen.offers("STARTTLS")
    assert "XXXXXXXA" in seen.transcript.excerpt("")
    assert seen.middlebox_suspected


def test_a_starttls_command_is_garbled_on_its_way(serve: Serve, certs: CertFactory) -> None:
    server = serve(FakeMailServer(tls=certs.leaf("mail.zimmerman.test").server_context()))
    with SmtpInspectingProxy(server.host, server.port, timeout=3) as box:
        seen = smtp_session("127.0.0.1", box.port, commands=("STARTTLS",), timeout=3)
    reply = next(e.reply for e in seen.exchanges if "STARTTLS" in e.command)
    assert reply.code == 500  # the server saw XXXXXXXA, not STARTTLS


def test_an_unreachable_server_closes_the_client(closed: tuple[str, int]) -> None:
    with SmtpInspectingProxy(*closed, timeout=2) as box:
        seen = smtp_session("127.0.0.1", box.port, timeout=2)
    assert seen.banner is None and not seen.ok
