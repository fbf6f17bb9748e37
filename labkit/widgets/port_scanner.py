"""Which mail ports answer, and how the others fail: open, refused, timeout..."""

from __future__ import annotations

import re

import ipywidgets as widgets

from labkit.errors import UsageError
from labkit.probes.tcp import PortResult, PortState, scan_ports
from labkit.target import Target
from labkit.widgets._style import message_html, table_html
from labkit.widgets._tool import ToolWidget, default_target, text_input

__all__ = ["PortScanner", "parse_ports"]

#: The ports the blog cared about: SMTP, submission, smtps, IMAP, IMAPS.
MAIL_PORTS = "25, 465, 587, 143, 993"

_TONES = {
    PortState.OPEN: "ok",
    PortState.REFUSED: "bad",
    PortState.TIMEOUT: "partial",
    PortState.RESET: "partial",
    PortState.UNREACHABLE: "bad",
    PortState.NAME_ERROR: "bad",
}


def parse_ports(text: str) -> tuple[int, ...]:
    """``"25, 465 587"`` -> ``(25, 465, 587)``; anything else is a :class:`UsageError`."""
    items = [p for p in re.split(r"[\s,;]+", text.strip()) if p]
    if not items:
        raise UsageError("No ports given.", advice=f"Type ports like: {MAIL_PORTS}")
    ports: list[int] = []
    for item in items:
        if not item.isdigit() or not 1 <= int(item) <= 65535:
            raise UsageError(f"{item!r} is not a port.", advice="Ports are numbers 1-65535.")
        if int(item) not in ports:
            ports.append(int(item))
    return tuple(ports)


class PortScanner(ToolWidget[tuple[PortResult, ...]]):
    """A colour-coded table: one TCP connect per port, with the errno when it fails."""

    title = "Port scanner"
    run_label = "Scan"

    def __init__(self, target: Target | None = None, ports: str = MAIL_PORTS) -> None:
        ctx = default_target(target)
        self.timeout = ctx.timeout
        self.host = text_input("Host", ctx.host)
        self.ports = text_input("Ports", ports)
        super().__init__([widgets.HBox([self.host, self.ports])])

    def _probe(self) -> tuple[PortResult, ...]:
        return scan_ports(self.host.value, parse_ports(self.ports.value), timeout=self.timeout)

    def _render(self, result: tuple[PortResult, ...]) -> str:
        rows = []
        for r in result:
            errno = f"{r.errno_name} ({r.errno_number})" if r.errno_name else ""
            rows.append([str(r.port), r.state.value, errno, f"{r.elapsed * 1000:.0f} ms"])
        table = table_html(
            ["port", "state", "errno", "time"], rows, tones=[_TONES[r.state] for r in result]
        )
        notes = "".join(
            message_html(f"{r.state.value}: {r.explanation}", _TONES[r.state])
            for r in {r.state: r for r in result if not r.ok}.values()
        )
        return table + notes
