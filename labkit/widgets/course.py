"""Small helpers for the course notebooks: set up a scenario, check the lab, watch checks.

Each notebook opens with :func:`setup`, which puts the lab into the notebook's scenario
and says so in one line. It never throws away a learner's work: when the lab is already
in that scenario it is left alone (edits included), and when the learner has edited
*another* scenario it asks first, with a button, instead of switching silently.

* :func:`prepare` / :func:`setup`      the scenario (data, then a one-line card)
* :func:`check_health` / :func:`health` is the lab usable from here, and if not, what to do
* :class:`LiveBoard`                    a task's criteria turning green while you fix things
* :class:`SecondOpinion`                the doctor's findings, only when the learner asks
* :class:`SmtpInspectingProxy`          a tiny stand-in for the blog's SMTP-inspecting
                                        middlebox (``220 ****``, ``250-XXXXXXXA``)

Like the rest of :mod:`labkit.widgets`, the data comes from plain functions and the
widgets only show it, so everything works (and is tested) without a browser.
"""

from __future__ import annotations

import contextlib
import html
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import ipywidgets as widgets

from labkit.errors import LabkitError, UsageError
from labkit.exercises.bank import get
from labkit.exercises.grade import Grade
from labkit.exercises.live import LiveTask
from labkit.lab.config import lab_target
from labkit.target import Target
from labkit.widgets._style import COLORS, button, card_layout, error_html, message_html

if TYPE_CHECKING:
    from labkit.doctor import DoctorReport
    from labkit.lab.lifecycle import Lab, ScenarioState

__all__ = [
    "HealthItem",
    "LiveBoard",
    "Preparation",
    "SecondOpinion",
    "SetupCard",
    "SmtpInspectingProxy",
    "check_health",
    "health",
    "prepare",
    "setup",
]

RESET_ADVICE = "To start this scenario over, run `labkit reset` in a terminal."

Action = Literal["applied", "kept", "blocked", "failed"]


def _default_lab() -> Lab:
    from labkit.lab.lifecycle import Lab

    return Lab()


# --------------------------------------------------------------------------- setup


@dataclass(frozen=True)
class Preparation:
    """What :func:`prepare` did about a notebook's scenario.

    ``applied``: the lab was switched to ``scenario`` (or set up again); ``kept``: it
    already was in it, and any edits (``previous.modified``) were kept; ``blocked``: it
    is in another scenario *with edits*, so nothing was changed until the learner says
    so; ``failed``: the lab could not be reached or changed (``error`` says why).
    """

    scenario: str
    title: str
    action: Action
    previous: ScenarioState | None = None
    elapsed: float = 0.0
    error: LabkitError | None = None

    @property
    def ready(self) -> bool:
        """The lab is in the wanted scenario."""
        return self.action in ("applied", "kept")

    @property
    def edits(self) -> tuple[str, ...]:
        """Files the learner changed in the scenario the lab was in before."""
        return self.previous.modified if self.previous is not None else ()


def prepare(scenario: str, *, lab: Lab | None = None, switch: bool = False) -> Preparation:
    """Put the lab into ``scenario`` unless that would discard a learner's edits.

    ``switch=True`` switches even then (the learner agreed). Never raises for a lab
    problem: a :class:`LabkitError` comes back in ``Preparation.error``.
    """
    from labkit.lab.scenarios import load_scenario

    started = time.monotonic()
    title = scenario
    previous: ScenarioState | None = None
    try:
        lab = lab or _default_lab()
        title = load_scenario(lab.home, scenario).title
        previous = lab.current()
        if previous.name == scenario:
            return Preparation(scenario, title, "kept", previous, time.monotonic() - started)
        if previous.modified and not switch:
            return Preparation(scenario, title, "blocked", previous, time.monotonic() - started)
        lab.apply(scenario)
    except LabkitError as err:
        return Preparation(scenario, title, "failed", previous, time.monotonic() - started, err)
    return Preparation(scenario, title, "applied", previous, time.monotonic() - started)


def _files(paths: Iterable[str]) -> str:
    return ", ".join(f"`{p.removeprefix('zones/')}`" for p in paths)


def preparation_html(prep: Preparation) -> str:
    """The one-line verdict a setup cell shows."""
    name = f"`{prep.scenario}` ({prep.title})"
    if prep.action == "applied":
        before = prep.previous.name if prep.previous is not None else None
        was = f", switched from `{before}`" if before and before != prep.scenario else ""
        return message_html(
            f"The lab is now in scenario {name}{was}. {RESET_ADVICE}",
            "ok",
            title="\u2714 Lab ready.",
        )
    if prep.action == "kept":
        if prep.edits:
            text = (
                f"The lab was already in scenario {name}. Your changes to "
                f"{_files(prep.edits)} are kept. {RESET_ADVICE}"
            )
        else:
            text = f"The lab was already in scenario {name}, untouched. {RESET_ADVICE}"
        return message_html(text, "ok", title="\u2714 Lab ready.")
    if prep.action == "blocked":
        before = prep.previous.name if prep.previous is not None else "?"
        return message_html(
            f"This notebook needs scenario {name}, but the lab is in `{before}` with your "
            f"changes to {_files(prep.edits)}. Switching replaces them with the new "
            "scenario's files. If you are done there, click the button, then run the "
            "cells below again.",
            "partial",
            title="Your work first.",
        )
    assert prep.error is not None
    return error_html(prep.error) + message_html(
        "The cells below need the lab. Check it with the health check in "
        "`00-welcome.ipynb`, then run this cell again.",
        "muted",
    )


class SetupCard(widgets.VBox):
    """The setup cell's output: one line, plus a *Switch* button when edits are at stake."""

    def __init__(self, scenario: str, *, lab: Lab | None = None) -> None:
        self.scenario = scenario
        self._lab = lab
        self.message = widgets.HTML()
        self.switch_button = button(
            f"Switch to {scenario} (discard my changes)", style="warning", icon="refresh"
        )
        self.switch_button.on_click(lambda _: self.switch())
        super().__init__([self.message, self.switch_button])
        self.preparation = self._show(prepare(scenario, lab=lab))

    def _show(self, prep: Preparation) -> Preparation:
        self.message.value = preparation_html(prep)
        self.switch_button.layout.display = None if prep.action == "blocked" else "none"
        return prep

    def switch(self) -> Preparation:
        """Switch to the scenario even though the lab holds edits (the learner agreed)."""
        self.switch_button.disabled = True
        try:
            self.preparation = self._show(prepare(self.scenario, lab=self._lab, switch=True))
        finally:
            self.switch_button.disabled = False
        return self.preparation

    def __repr__(self) -> str:
        prep = self.preparation
        return f"<labkit setup: scenario {prep.scenario} {prep.action}>"


def setup(scenario: str, *, lab: Lab | None = None) -> SetupCard:
    """For a notebook's first cell: ``setup("no-submission")``."""
    return SetupCard(scenario, lab=lab)


# --------------------------------------------------------------------------- health


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
    edits = f", your changes: {_files(state.modified)}" if state.modified else ", untouched"
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


def health_html(items: list[HealthItem]) -> str:
    """A verdict line, then one row per item (with the fix for those that fail)."""
    bad = [i for i in items if not i.ok]
    if bad:
        head = message_html(
            f"{len(bad)} of {len(items)} checks fail. Fix them from the top; each says how.",
            "bad",
            title="\u2718 The lab needs attention.",
        )
    else:
        head = message_html(
            f"All {len(items)} checks pass: the lab is ready.", "ok", title="\u2714 Healthy."
        )
    rows = []
    for item in items:
        fg = COLORS["ok" if item.ok else "bad"][0]
        mark = "&#10004;" if item.ok else "&#10008;"
        fix = (
            f'<div style="color:#424242">What to do: {_markup(item.fix)}</div>'
            if not item.ok and item.fix
            else ""
        )
        rows.append(
            f'<tr><td style="padding:2px 8px;color:{fg};vertical-align:top">{mark} '
            f"<b>{html.escape(item.name)}</b></td>"
            f'<td style="padding:2px 8px">{_markup(item.detail)}{fix}</td></tr>'
        )
    return head + '<table style="border-collapse:collapse">' + "".join(rows) + "</table>"


def _markup(text: str) -> str:
    from labkit.widgets._style import inline_markup

    return inline_markup(text)


class HealthPanel(widgets.VBox):
    """:func:`check_health` as a card with a *Check again* button."""

    def __init__(self, *, lab: Lab | None = None, target: Target | None = None) -> None:
        self._lab = lab
        self._target = target
        self.items: list[HealthItem] = []
        self.output = widgets.HTML()
        self.refresh_button = button("Check again", icon="refresh")
        self.refresh_button.on_click(lambda _: self.refresh())
        super().__init__(
            [widgets.HTML("<b>Lab health</b>"), self.output, self.refresh_button],
            layout=card_layout(),
        )
        self.refresh()

    @property
    def healthy(self) -> bool:
        return bool(self.items) and all(i.ok for i in self.items)

    def __repr__(self) -> str:
        ok = sum(i.ok for i in self.items)
        bad = "; ".join(f"{i.name}: {i.detail}" for i in self.items if not i.ok)
        return f"<labkit health: {ok}/{len(self.items)} ok{' (' + bad + ')' if bad else ''}>"

    def refresh(self) -> list[HealthItem]:
        self.refresh_button.disabled = True
        self.output.value = message_html("Checking the lab...", "muted")
        try:
            self.items = check_health(lab=self._lab, target=self._target)
        finally:
            self.refresh_button.disabled = False
        self.output.value = health_html(self.items)
        return self.items


def health(*, lab: Lab | None = None, target: Target | None = None) -> HealthPanel:
    """For a notebook cell: ``health()`` checks the lab and shows what to fix."""
    return HealthPanel(lab=lab, target=target)


# --------------------------------------------------------------------------- live board


class LiveBoard(widgets.VBox):
    """A live task's criteria, re-checked on demand or every few seconds.

    It only *watches*: nothing is recorded in the progress file. The task's own card
    (``ask(task_id)``, *Check my fix*) is what earns the points.
    """

    def __init__(
        self, task: str | LiveTask, *, target: Target | None = None, interval: float = 5.0
    ) -> None:
        found = get(task) if isinstance(task, str) else task
        if not isinstance(found, LiveTask):
            raise UsageError(f"{found.id} is a question, not a live task.")
        self.task = found
        self.target = target
        self.interval = interval
        self.grade: Grade | None = None
        self.output = widgets.HTML()
        self.refresh_button = button("Check now", style="primary", icon="refresh")
        self.watch_toggle = widgets.ToggleButton(
            value=False,
            description=f"Watch (every {interval:g} s)",
            icon="eye",
            layout=widgets.Layout(width="auto"),
        )
        self.status = widgets.HTML()
        self.refresh_button.on_click(lambda _: self.refresh())
        self.watch_toggle.observe(self._on_watch, names="value")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        header = widgets.HTML(
            f"<b>Live checks: {html.escape(self.task.title)}</b> "
            '<span style="color:#757575;font-size:0.85em">watching only; the task card '
            "records your points</span>"
        )
        super().__init__(
            [
                header,
                widgets.HBox([self.refresh_button, self.watch_toggle, self.status]),
                self.output,
            ],
            layout=card_layout(),
        )

    def refresh(self) -> Grade | None:
        """Probe the lab once and show every criterion."""
        with self._lock:
            try:
                self.grade = self.task.run(self.target)
            except LabkitError as err:
                self.output.value = error_html(err)
                return None
            self.output.value = board_html(self.grade)
            self.status.value = (
                f'<span style="color:#757575;font-size:0.85em">checked at '
                f"{time.strftime('%H:%M:%S')}</span>"
            )
            return self.grade

    def __repr__(self) -> str:
        if self.grade is None:
            return f"<labkit live board: {self.task.id}, not checked yet>"
        met = sum(c.met for c in self.grade.criteria)
        return f"<labkit live board: {self.task.id}, {met} of {len(self.grade.criteria)} pass>"

    def _on_watch(self, change: dict[str, object]) -> None:
        if change["new"]:
            self.watch()
        else:
            self.stop()

    def watch(self, duration: float = 1800.0) -> None:
        """Re-check every ``interval`` seconds for at most ``duration`` seconds."""
        self.stop()
        self._stop = threading.Event()
        stop = self._stop

        def loop() -> None:
            ends = time.monotonic() + duration
            while not stop.is_set() and time.monotonic() < ends:
                self.refresh()
                stop.wait(self.interval)
            self.watch_toggle.value = False

        self._thread = threading.Thread(target=loop, name="labkit-live-board", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()


def board_html(grade: Grade) -> str:
    """One coloured row per criterion, and how many pass: names only, no fixes.

    The board is the challenge's scoreboard; what to change is for the learner to
    find (the task card's hint ladder and the doctor help when asked).
    """
    met = sum(c.met for c in grade.criteria)
    total = len(grade.criteria)
    tone = "ok" if total and met == total else ("partial" if met else "bad")
    head = message_html(f"{met} of {total} checks pass.", tone)
    rows = "".join(
        f'<li style="color:{COLORS["ok" if c.met else "bad"][0]}">'
        f"{'&#10004;' if c.met else '&#10008;'} <b>{html.escape(c.name)}</b></li>"
        for c in grade.criteria
    )
    return head + f'<ul style="margin:2px 0 2px 8px;padding-left:12px">{rows}</ul>'


# --------------------------------------------------------------------------- doctor


_STATUS_TONES = {"fail": "bad", "warn": "partial", "info": "info", "ok": "ok"}
_STATUS_MARKS = {"fail": "\u2718", "warn": "!", "info": "i", "ok": "\u2714"}


def findings_html(report: DoctorReport) -> str:
    """Problems first (fail, warn), each with its evidence and hint; then what is fine."""
    from labkit.doctor import Status

    order = sorted(report.findings, key=lambda f: -f.status.rank)
    counts = report.counts()
    summary = ", ".join(f"{counts[s.value]} {s.value}" for s in reversed(Status))
    parts = [
        message_html(
            f"{summary}, in {report.elapsed:.1f} s. Compare with your own diagnosis.",
            _STATUS_TONES[report.worst.value],
            title="The doctor's findings:",
        )
    ]
    fine = []
    for f in order:
        if f.status is Status.OK:
            fine.append(f.title)
            continue
        body = html.escape(f.title)
        if f.evidence:
            body += (
                '<pre style="margin:4px 0;white-space:pre-wrap;font-size:0.9em">'
                f"{html.escape(f.evidence)}</pre>"
            )
        if f.hint:
            body += f"<div><b>Fix:</b> {_markup(f.hint)}</div>"
        if f.learn_more:
            body += f'<div style="color:#757575">Learn more: {html.escape(f.learn_more)}</div>'
        fg, bg, border = COLORS[_STATUS_TONES[f.status.value]]
        parts.append(
            f'<div style="color:{fg};background:{bg};border-left:4px solid {border};'
            f'padding:6px 10px;margin:4px 0">'
            f"<b>{_STATUS_MARKS[f.status.value]} {html.escape(f.check)}</b>: {body}</div>"
        )
    if fine:
        items = "".join(f"<li>{html.escape(t)}</li>" for t in fine)
        parts.append(f"<details><summary>{len(fine)} checks are fine</summary><ul>{items}</ul>")
        parts[-1] += "</details>"
    return "".join(parts)


class SecondOpinion(widgets.VBox):
    """A button that runs the doctor (from here, and inside the server over SSH).

    Nothing runs until the learner clicks: the doctor is a second opinion, to compare
    with a diagnosis of one's own, not a replacement for it.
    """

    def __init__(self, *, label: str = "I have my own diagnosis: show the doctor's") -> None:
        self.report: DoctorReport | None = None
        self.run_button = button(label, style="info", icon="stethoscope")
        self.output = widgets.HTML()
        self.run_button.on_click(lambda _: self.run())
        super().__init__([self.run_button, self.output], layout=card_layout())

    def run(self) -> DoctorReport | None:
        from labkit.doctor import doctor_target, inside_transport, run_doctor

        self.run_button.disabled = True
        self.output.value = message_html("Examining the server from outside and inside...", "muted")
        try:
            transport, _ = inside_transport()
            self.report = run_doctor(doctor_target(), transport=transport)
        except LabkitError as err:
            self.output.value = error_html(err)
            return None
        finally:
            self.run_button.disabled = False
        self.output.value = findings_html(self.report)
        return self.report


# --------------------------------------------------------------------------- middlebox


_STARTTLS_LINE = re.compile(rb"^(\d{3}[- ])STARTTLS(\r?\n)$", re.IGNORECASE)
_STARTTLS_COMMAND = re.compile(rb"^STARTTLS\b", re.IGNORECASE)


def _mask_banner(line: bytes) -> bytes:
    """``220 mail.example ESMTP Postfix`` -> ``220 *****...`` (same length)."""
    body = line.rstrip(b"\r\n")
    end = line[len(body) :]
    return body[:4] + b"*" * (len(body) - 4) + end


class SmtpInspectingProxy:
    """A local stand-in for an SMTP-inspecting firewall (Cisco ASA ``inspect esmtp``).

    Listens on 127.0.0.1 and forwards each connection to ``host:port``, rewriting the
    dialog the way such a box does: the 220 banner is masked with asterisks, the
    ``STARTTLS`` extension in EHLO replies becomes ``XXXXXXXA`` (same length, so the
    packet size does not change), and a client's ``STARTTLS`` command is garbled the
    same way before it reaches the server. Use it as a context manager::

        with SmtpInspectingProxy("10.125.25.25") as box:
            smtp_session("127.0.0.1", box.port)
    """

    def __init__(self, host: str, port: int = 25, *, timeout: float = 10.0) -> None:
        self.host = host
        self.target_port = port
        self.timeout = timeout
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> SmtpInspectingProxy:
        self._listener.listen(8)
        self._listener.settimeout(0.2)
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        self._listener.close()

    def __enter__(self) -> SmtpInspectingProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            server = socket.create_connection((self.host, self.target_port), self.timeout)
        except OSError:
            client.close()
            return
        for sock in (client, server):
            sock.settimeout(self.timeout)
        to_client = threading.Thread(
            target=self._pump, args=(server, client, self._rewrite_reply), daemon=True
        )
        to_client.start()
        self._pump(client, server, self._rewrite_command)
        to_client.join(timeout=self.timeout)

    @staticmethod
    def _rewrite_reply(line: bytes, first: bool) -> bytes:
        if first and line[:4] in (b"220 ", b"220-"):
            return _mask_banner(line)
        match = _STARTTLS_LINE.match(line)
        if match:
            return match.group(1) + b"XXXXXXXA" + match.group(2)
        return line

    @staticmethod
    def _rewrite_command(line: bytes, first: bool) -> bytes:
        if _STARTTLS_COMMAND.match(line):
            return b"XXXXXXXA" + line[8:]
        return line

    @staticmethod
    def _pump(
        source: socket.socket,
        sink: socket.socket,
        rewrite: Callable[[bytes, bool], bytes],
    ) -> None:
        reader = source.makefile("rb")
        first = True
        try:
            for line in reader:
                sink.sendall(rewrite(line, first))
                first = False
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
