"""Talk SMTP like the blog did with telnet: write a short script, run it, read the dialog.

The probe runs a whole dialog per click (banner, EHLO, optional STARTTLS and AUTH,
your commands, QUIT), so the console is a script: pick commands from the list or
type them, then Run. The transcript uses the blog's marks: ``$`` shell, ``>`` sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import ipywidgets as widgets

from labkit.errors import UsageError
from labkit.probes.smtp import SmtpResult, smtp_session
from labkit.target import Target
from labkit.widgets._style import button, message_html, table_html
from labkit.widgets._tool import ToolWidget, default_target, text_input

__all__ = ["DialogPlan", "SmtpConsole", "plan_dialog"]

#: What a test message says when the script has DATA.
TEST_MESSAGE = "Subject: labkit test\r\n\r\nHello from the labkit SMTP console.\r\n"
_AFTER_TLS_ONLY = ("MAIL", "RCPT", "DATA", "VRFY", "EXPN")


@dataclass(frozen=True)
class DialogPlan:
    """A script turned into :func:`labkit.probes.smtp.smtp_session` arguments."""

    helo: str | None
    starttls: bool
    auth: str | None  # the SASL mechanism, or None for no AUTH
    commands: tuple[str, ...]
    message: str | None
    #: AUTH was planned before STARTTLS: it is sent there, and the reply shown.
    auth_first: bool = False


def plan_dialog(lines: Sequence[str]) -> DialogPlan:
    """Read a console script (one command per line), keeping the learner's order.

    EHLO and STARTTLS are handled by the probe itself (it says EHLO again after
    TLS), AUTH uses the lab's test user, everything else is sent as typed; a QUIT
    ends the script. AUTH written before STARTTLS is sent before STARTTLS, so the
    server's real answer to it shows (nothing is silently reordered).
    """
    helo: str | None = None
    starttls = False
    auth: str | None = None
    auth_first = False
    commands: list[str] = []
    for raw in lines:
        line = raw.strip()
        if not line:
            continue
        verb, _, rest = line.partition(" ")
        verb = verb.upper()
        if verb in ("EHLO", "HELO"):
            if commands or starttls:
                continue  # the probe repeats EHLO after STARTTLS by itself
            helo = rest.strip() or None
        elif verb == "STARTTLS":
            if any(c.split(" ", 1)[0].upper() in _AFTER_TLS_ONLY for c in commands):
                raise UsageError(
                    "STARTTLS comes after a mail command in the script.",
                    advice="Put STARTTLS right after EHLO: TLS starts before the transaction.",
                )
            starttls = True
        elif verb == "AUTH":
            mechanism = (rest.split() or ["PLAIN"])[0].upper()
            if mechanism not in ("PLAIN", "LOGIN"):
                raise UsageError(
                    f"AUTH {mechanism} is not supported here.",
                    advice="Use AUTH PLAIN or AUTH LOGIN.",
                )
            auth = mechanism
            auth_first = not starttls and any(
                ln.strip().upper().startswith("STARTTLS") for ln in lines
            )
        elif verb == "QUIT":
            break
        else:
            commands.append(line)
    has_data = any(c.split(" ", 1)[0].upper() == "DATA" for c in commands)
    return DialogPlan(
        helo, starttls, auth, tuple(commands), TEST_MESSAGE if has_data else None, auth_first
    )


class SmtpConsole(ToolWidget[SmtpResult]):
    """Host, port, a command list and a script; Run shows the marked transcript."""

    title = "SMTP console"
    run_label = "Run dialog"

    def __init__(self, target: Target | None = None, port: int = 25) -> None:
        ctx = default_target(target)
        self.target = ctx
        self.host = text_input("Host", ctx.host)
        self.port = widgets.BoundedIntText(
            value=port, min=1, max=65535, description="Port", layout=widgets.Layout(width="9em")
        )
        self.implicit_tls = widgets.Checkbox(
            value=port == 465, description="implicit TLS (465)", indent=False
        )
        self.command = widgets.Combobox(
            options=self._templates(ctx),
            placeholder="pick or type a command",
            ensure_option=False,
            layout=widgets.Layout(width="28em"),
        )
        self.add_button = button("Add", icon="plus")
        self.clear_button = button("Clear")
        self.script = widgets.Textarea(value="EHLO\n", rows=6, layout=widgets.Layout(width="40em"))
        self.add_button.on_click(lambda _: self.add_command())
        self.clear_button.on_click(lambda _: setattr(self.script, "value", ""))
        self.port.observe(self._on_port, names="value")
        super().__init__(
            [
                widgets.HBox([self.host, self.port, self.implicit_tls]),
                widgets.HBox([self.command, self.add_button, self.clear_button]),
                self.script,
            ]
        )

    @staticmethod
    def _templates(ctx: Target) -> tuple[str, ...]:
        return (
            "EHLO",
            "STARTTLS",
            "AUTH PLAIN",
            f"MAIL FROM:<{ctx.user}>",
            f"RCPT TO:<postmaster@{ctx.domain}>",
            f"RCPT TO:<someone@{ctx.outside_domain}>",
            "DATA",
            "VRFY postmaster",
            "NOOP",
            "RSET",
            "QUIT",
        )

    def _on_port(self, change: dict[str, object]) -> None:
        self.implicit_tls.value = change["new"] == 465

    def add_command(self, command: str | None = None) -> None:
        """Append ``command`` (or the chosen one) to the script."""
        line = (command if command is not None else self.command.value).strip()
        if line:
            text = self.script.value
            self.script.value = (
                text + ("" if not text or text.endswith("\n") else "\n") + line + "\n"
            )
            self.command.value = ""

    def _probe(self) -> SmtpResult:
        plan = plan_dialog(self.script.value.splitlines())
        ctx = self.target
        creds = ctx.credentials
        auth = (*creds, plan.auth) if plan.auth and creds else None
        return smtp_session(
            self.host.value,
            self.port.value,
            helo=plan.helo,
            starttls=plan.starttls,
            implicit_tls=self.implicit_tls.value,
            auth=auth,
            commands=plan.commands,
            message=plan.message,
            timeout=ctx.timeout,
            auth_first=plan.auth_first,
        )

    def _render(self, result: SmtpResult) -> str:
        title = None if result.ok else f"Stopped at {result.stopped_at.value}:"
        parts = [message_html(result.reason, "ok" if result.ok else "bad", title=title)]
        parts += [
            message_html(a.explanation, "partial", title=a.evidence) for a in result.anomalies
        ]
        parts.append(result.transcript.render_html())
        parts.append(capabilities_html(result))
        return "".join(parts)


def capabilities_html(result: SmtpResult) -> str:
    """EHLO keywords (with parameters) and whether each was offered before/after TLS."""
    before, after = result.capabilities_before_tls, result.capabilities_after_tls
    seen = {**(after or {}), **before}
    if not seen:
        return ""
    header = ["EHLO keyword", "before TLS"] + (["after TLS"] if after is not None else [])
    rows = []
    for keyword, params in seen.items():
        row = [" ".join([keyword, *params]), "yes" if keyword in before else "-"]
        if after is not None:
            row.append("yes" if keyword in after else "-")
        rows.append(row)
    return table_html(header, rows)
