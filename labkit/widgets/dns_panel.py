"""DNS lookups as a mail admin needs them: records, CNAME chains, PTR, a mail report."""

from __future__ import annotations

import html

import ipywidgets as widgets

from labkit.probes.dns import DnsAnswer, MailDnsReport, ReverseDns, lookup, mail_dns_report
from labkit.probes.dns import reverse_lookup as reverse_dns
from labkit.target import Target
from labkit.widgets._style import message_html, table_html
from labkit.widgets._tool import ToolWidget, default_target, text_input

__all__ = ["DnsPanel"]

RECORD_TYPES = ("MX", "A", "AAAA", "CNAME", "PTR", "TXT", "NS", "SOA", "mail report")
_SEVERITY_TONES = {"fail": "bad", "warn": "partial", "info": "info"}

DnsResult = DnsAnswer | ReverseDns | MailDnsReport


def _answer_html(answer: DnsAnswer) -> str:
    tone = "ok" if answer.ok else "bad"
    head = f"{answer.name} {answer.rdtype}: {answer.outcome.value} from {answer.nameserver}"
    parts = [message_html(head + (f" ({answer.error})" if answer.error else ""), tone)]
    if answer.is_alias:
        chain = " -> ".join(answer.cname_chain)
        parts.append(message_html(f"Alias chain: {chain}", "partial", title="CNAME"))
    if answer.aliases or answer.records:
        rows = [[r.name, str(r.ttl), r.rdtype, r.value] for r in answer.aliases + answer.records]
        parts.append(table_html(["name", "ttl", "type", "value"], rows))
    return "".join(parts)


class DnsPanel(ToolWidget[DnsResult]):
    """Look a name up on the lab's DNS server; PTR takes an address and checks FCrDNS."""

    title = "DNS lookup"
    run_label = "Look up"

    def __init__(self, target: Target | None = None) -> None:
        ctx = default_target(target)
        self.timeout = ctx.timeout
        self.port = ctx.dns_port
        self.name = text_input("Name or address", ctx.domain)
        self.rdtype = widgets.Dropdown(
            options=RECORD_TYPES, value="MX", layout=widgets.Layout(width="9em")
        )
        self.nameserver = text_input("Server", ctx.nameserver or "", width="16em")
        self.nameserver.placeholder = "system resolver"
        super().__init__([widgets.HBox([self.name, self.rdtype, self.nameserver])])

    def _probe(self) -> DnsResult:
        server = self.nameserver.value.strip() or None
        name = self.name.value.strip()
        if self.rdtype.value == "mail report":
            return mail_dns_report(name, server, port=self.port, timeout=self.timeout)
        if self.rdtype.value == "PTR" and not name.rstrip(".").endswith(".arpa"):
            # An address: its PTR, and whether that name leads back (FCrDNS).
            return reverse_dns(name, nameserver=server, port=self.port, timeout=self.timeout)
        return lookup(
            name, self.rdtype.value, nameserver=server, port=self.port, timeout=self.timeout
        )

    def _render(self, result: DnsResult) -> str:
        if isinstance(result, DnsAnswer):
            return _answer_html(result)
        if isinstance(result, ReverseDns):
            parts = [_answer_html(result.ptr)]
            if result.ptr.ok:
                confirmed = ", ".join(result.confirmed_names)
                parts.append(
                    message_html(f"Forward-confirmed: {confirmed} -> {result.address}", "ok")
                    if result.confirmed
                    else message_html(
                        f"No PTR name resolves back to {result.address} (no FCrDNS).", "bad"
                    )
                )
            return "".join(parts)
        if not result.issues:
            return message_html(f"No problems found for {result.domain}.", "ok")
        rows = "".join(
            message_html(
                f"{issue.title}. ({issue.reference})",
                _SEVERITY_TONES[issue.severity],
                title=issue.severity.upper(),
            )
            + f"<pre style='margin:0 0 6px 14px'>{html.escape(issue.evidence)}</pre>"
            for issue in result.issues
        )
        return rows
