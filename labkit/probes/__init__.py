"""Probes: plain functions that look at a mail server and return frozen dataclasses.

=========================  ===============================================================
module                     what it answers
=========================  ===============================================================
:mod:`.tcp`                does HOST:PORT accept a connection, and if not, why not
:mod:`.smtp`               what does the server say in an SMTP dialog (the blog's telnet)
:mod:`.tls`                what does the TLS handshake show (the blog's ``s_client``)
:mod:`.dns`                what do MX, A, CNAME, PTR and SPF say, and which rule is broken
:mod:`.server`             what does the server itself say (postconf, ss, mail.log)
=========================  ===============================================================

Expected network outcomes are data in the results; misuse raises
:class:`labkit.errors.UsageError`. No probe prints, and none keeps state.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from labkit.probes._transcript import Direction, Transcript, TranscriptLine
    from labkit.probes.dns import (
        DnsAnswer,
        DnsIssue,
        DnsOutcome,
        DnsRule,
        MailDnsReport,
        ReverseDns,
        lookup,
        mail_dns_report,
        reverse_lookup,
    )
    from labkit.probes.server import ServerInspection, inspect_server
    from labkit.probes.smtp import (
        Credentials,
        Phase,
        Reply,
        SmtpFailure,
        SmtpResult,
        parse_reply,
        smtp_session,
    )
    from labkit.probes.tcp import PortResult, PortState, probe_port, scan_ports
    from labkit.probes.tls import TlsPhase, TlsResult, TlsSession, Verification, probe_tls

__all__ = [
    "Credentials",
    "Direction",
    "DnsAnswer",
    "DnsIssue",
    "DnsOutcome",
    "DnsRule",
    "MailDnsReport",
    "Phase",
    "PortResult",
    "PortState",
    "Reply",
    "ReverseDns",
    "ServerInspection",
    "SmtpFailure",
    "SmtpResult",
    "TlsPhase",
    "TlsResult",
    "TlsSession",
    "Transcript",
    "TranscriptLine",
    "Verification",
    "inspect_server",
    "lookup",
    "mail_dns_report",
    "parse_reply",
    "probe_port",
    "probe_tls",
    "reverse_lookup",
    "scan_ports",
    "smtp_session",
]

#: Where each name lives: imported on first use, so ``labkit probe smtp`` does not pay
#: for dnspython, nor a port scan for ``cryptography``.
_HOME = {
    "Credentials": "smtp",
    "Direction": "_transcript",
    "DnsAnswer": "dns",
    "DnsIssue": "dns",
    "DnsOutcome": "dns",
    "DnsRule": "dns",
    "MailDnsReport": "dns",
    "Phase": "smtp",
    "PortResult": "tcp",
    "PortState": "tcp",
    "Reply": "smtp",
    "ReverseDns": "dns",
    "ServerInspection": "server",
    "SmtpFailure": "smtp",
    "SmtpResult": "smtp",
    "TlsPhase": "tls",
    "TlsResult": "tls",
    "TlsSession": "tls",
    "Transcript": "_transcript",
    "TranscriptLine": "_transcript",
    "Verification": "tls",
    "inspect_server": "server",
    "lookup": "dns",
    "mail_dns_report": "dns",
    "parse_reply": "smtp",
    "probe_port": "tcp",
    "probe_tls": "tls",
    "reverse_lookup": "dns",
    "scan_ports": "tcp",
    "smtp_session": "smtp",
}


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module 'labkit.probes' has no attribute {name!r}")
    return getattr(importlib.import_module(f"labkit.probes.{module}"), name)
