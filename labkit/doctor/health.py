"""Is the lab usable from here, and if not, what to do: the course's health check.

Only the *lab's* health: a mail server that is broken on purpose still passes as long
as it answers on port 25. Each item is a plain function returning a frozen
:class:`HealthItem`; :func:`check_health` runs them all at once. The course's
``health()`` widget only draws the result.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from labkit.errors import LabkitError
from labkit.lab.config import lab_target
from labkit.target import Target

if TYPE_CHECKING:
    from labkit.lab.lifecycle import Lab

__all__ = ["HealthItem", "check_health"]


def _default_lab() -> Lab:
    from labkit.lab.lifecycle import Lab

    return Lab()


@dataclass(frozen=True)
class HealthItem:
    """One thing the course needs from the lab: does it work, what was seen, what to do."""

    name: str
    ok: bool
    detail: str
    fix: str = ""


_ON_HOST = (
    "on your own computer (not in this notebook), run `labkit status`; `labkit up` starts "
    "or repairs the lab without losing your notebooks."
)
_ON_HOST_FIX = _ON_HOST[0].upper() + _ON_HOST[1:]


def _dns_item(ctx: Target) -> HealthItem:
    from labkit.probes.dns import lookup

    answer = lookup(ctx.domain, "SOA", nameserver=ctx.nameserver, port=ctx.dns_port, timeout=2.0)
    if answer.ok:
        return HealthItem("DNS server", True, f"ns1 answers for {ctx.domain}.")
    return HealthItem(
        "DNS server",
        False,
        f"No SOA for {ctx.domain}: {answer.outcome.value} ({answer.error or 'no answer'}).",
        "If you edited a zone file, `labkit reset` restores it. Otherwise, " + _ON_HOST,
    )


def _smtp_item(ctx: Target) -> HealthItem:
    from labkit.probes.smtp import smtp_session

    # By address, so that a DNS exercise in progress cannot make the server look down.
    where = ctx.mx_address or ctx.host
    result = smtp_session(where, ctx.smtp_port, timeout=3.0)
    if result.banner is not None and result.banner.code == 220:
        return HealthItem("Mail server (port 25)", True, f"`{result.banner.wire_lines()[0]}`")
    seen = result.connection.summary() if not result.connection.ok else result.reason
    return HealthItem(
        "Mail server (port 25)",
        False,
        seen,
        "If you stopped Postfix, `ssh mx postfix start`; if it refuses to start, "
        "`ssh mx postfix check` says why, and `labkit reset` restores the scenario's "
        "configuration. If the whole server is gone, " + _ON_HOST,
    )


def _ssh_item(_: Target) -> HealthItem:
    from labkit.transport import SSHTransport

    try:
        result = SSHTransport("mx").run(["postconf", "-h", "mail_version"], timeout=10)
    except LabkitError as err:
        return HealthItem("ssh mx", False, err.message, _ON_HOST_FIX)
    if result.ok:
        return HealthItem("ssh mx", True, f"Logged in as root; Postfix {result.stdout.strip()}.")
    return HealthItem(
        "ssh mx",
        False,
        (result.stderr or result.stdout).strip()[:200] or f"exit code {result.exit_code}",
        _ON_HOST_FIX,
    )


def _ca_item(ctx: Target) -> HealthItem:
    if ctx.cafile and Path(ctx.cafile).is_file():
        return HealthItem("Lab CA", True, f"Trusted here: `{ctx.cafile}`.")
    return HealthItem(
        "Lab CA",
        False,
        "The lab's CA certificate is not installed on this machine.",
        "The workstation installs it when it starts: " + _ON_HOST,
    )


def _progress_item(_: Target) -> HealthItem:
    from labkit.exercises.progress import ProgressStore

    path = ProgressStore().path
    folder = path.parent
    if (folder.is_dir() and os.access(folder, os.W_OK)) or (
        not folder.exists() and os.access(folder.parent, os.W_OK)
    ):
        return HealthItem("Progress file", True, f"`{path}`")
    return HealthItem(
        "Progress file",
        False,
        f"Cannot write to `{folder}`, so answers would not be recorded.",
        "Set LABKIT_PROGRESS to a file in a folder you can write, or fix the folder's owner.",
    )


def _scenario_item(lab: Lab) -> HealthItem:
    state = lab.current()
    if state.name is None:
        return HealthItem(
            "Scenario",
            False,
            "No scenario has been applied.",
            "Run `labkit scenario apply blog` in a terminal (or the setup cell of a notebook).",
        )
    edits = f", your changes: {state.edited_files}" if state.modified else ", untouched"
    return HealthItem("Scenario", True, f"`{state.name}`{edits}.")


def check_health(*, lab: Lab | None = None, target: Target | None = None) -> list[HealthItem]:
    """Everything the course needs, checked at once (a few seconds at worst).

    Only the *lab's* health: a mail server that is broken on purpose still passes as
    long as it answers on port 25.
    """
    ctx = target if target is not None else lab_target()
    checks: list[tuple[str, Callable[[], HealthItem]]] = [
        ("DNS server", lambda: _dns_item(ctx)),
        ("Mail server (port 25)", lambda: _smtp_item(ctx)),
        ("ssh mx", lambda: _ssh_item(ctx)),
        ("Scenario", lambda: _scenario_item(lab or _default_lab())),
        ("Lab CA", lambda: _ca_item(ctx)),
        ("Progress file", lambda: _progress_item(ctx)),
    ]

    def run(name: str, check: Callable[[], HealthItem]) -> HealthItem:
        try:
            return check()
        except LabkitError as err:
            return HealthItem(name, False, err.message, err.advice or _ON_HOST_FIX)

    with ThreadPoolExecutor(max_workers=len(checks)) as pool:
        futures = [pool.submit(run, name, check) for name, check in checks]
        return [f.result() for f in futures]
