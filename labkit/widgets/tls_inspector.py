"""``openssl s_client`` as a panel: connect or STARTTLS, show the chain and the verdict."""

from __future__ import annotations

from typing import Literal

import ipywidgets as widgets

from labkit.probes.tls import TlsResult, probe_tls
from labkit.target import Target
from labkit.verdicts import judge_certificate
from labkit.widgets._style import message_html, table_html
from labkit.widgets._tool import ToolWidget, default_target, text_input

__all__ = ["TlsInspector"]

#: Mode label -> ``probe_tls(starttls=...)``.
MODES: dict[str, Literal["smtp", "imap"] | None] = {
    "STARTTLS (smtp: 25, 587)": "smtp",
    "implicit TLS (465, 993)": None,
    "STARTTLS (imap: 143)": "imap",
}


class TlsInspector(ToolWidget[TlsResult]):
    """Handshake with a server and show protocol, cipher, chain and ``Verify return code``."""

    title = "TLS inspector"
    run_label = "Connect"

    def __init__(self, target: Target | None = None, port: int = 25) -> None:
        ctx = default_target(target)
        self.timeout = ctx.timeout
        self.host = text_input("Host", ctx.host)
        self.port = widgets.BoundedIntText(
            value=port, min=1, max=65535, description="Port", layout=widgets.Layout(width="9em")
        )
        self.mode = widgets.Dropdown(options=list(MODES), layout=widgets.Layout(width="16em"))
        self.servername = text_input("Name to verify", ctx.mail_host)
        self.cafile = text_input("CA file", ctx.cafile or "", width="28em")
        self.cafile.placeholder = "system store"
        super().__init__(
            [
                widgets.HBox([self.host, self.port, self.mode]),
                widgets.HBox([self.servername, self.cafile]),
            ]
        )

    def _probe(self) -> TlsResult:
        return probe_tls(
            self.host.value,
            self.port.value,
            starttls=MODES[self.mode.value],
            servername=self.servername.value.strip() or None,
            cafile=self.cafile.value.strip() or None,
            timeout=self.timeout,
        )

    def _render(self, result: TlsResult) -> str:
        session = result.session
        if session is None:
            return (
                message_html(f"Stopped at {result.stopped_at.value}: {result.reason}", "bad")
                + result.transcript.render_html()
            )
        parts = [message_html(f"{session.version}, {session.cipher}", "info", title="Session:")]
        verdict = judge_certificate(session, result.servername or result.host)
        if verdict.judged:
            parts.append(message_html(verdict.seen, "ok" if verdict.holds else "bad"))
        rows = [
            [
                str(depth),
                cert.subject,
                cert.issuer,
                ", ".join(cert.names()),
                cert.valid_until(),
                "yes" if cert.self_signed else "",
            ]
            for depth, cert in enumerate(session.chain)
        ]
        parts.append(
            table_html(["depth", "subject", "issuer", "names", "valid until", "self-signed"], rows)
        )
        return "".join(parts)
