"""Small helpers for the course notebooks: set up a scenario, check the lab, watch checks.

Each notebook opens with :func:`setup`, which puts the lab into the notebook's scenario
and says so in one line. It never throws away a learner's work: when the lab is already
in that scenario it is left alone (edits included), and when the learner has edited
*another* scenario it asks first, with a button, instead of switching silently.

* :func:`prepare` / :func:`setup`      the scenario (data, then a one-line card)
* :func:`health`                       is the lab usable from here (:mod:`labkit.doctor.health`)
* :class:`LiveBoard`                    a task's criteria turning green while you fix things
* :class:`SecondOpinion`                the doctor's findings, only when the learner asks

Like the rest of :mod:`labkit.widgets`, the data comes from plain functions and the
widgets only show it, so everything works (and is tested) without a browser.
"""

from __future__ import annotations

import html
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import ipywidgets as widgets

from labkit.errors import LabkitError, UsageError
from labkit.exercises.bank import get
from labkit.exercises.grade import Grade
from labkit.exercises.live import LiveTask
from labkit.lab.state import files_text
from labkit.target import Target
from labkit.widgets._style import COLORS, button, card_layout, error_html, message_html

if TYPE_CHECKING:
    from labkit.doctor import DoctorReport
    from labkit.doctor.health import HealthItem
    from labkit.lab.lifecycle import Lab
    from labkit.lab.state import ScenarioState

__all__ = [
    "LiveBoard",
    "Preparation",
    "SecondOpinion",
    "SetupCard",
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
    """Put the lab into ``scenario`` unless that would discard a learner's edits
    (the policy is :meth:`labkit.lab.Lab.ensure`; ``switch=True``: the learner agreed).

    Never raises for a lab problem: a :class:`LabkitError` comes back in
    ``Preparation.error``.
    """
    started = time.monotonic()
    try:
        done = (lab or _default_lab()).ensure(scenario, discard_edits=switch)
    except LabkitError as err:
        return Preparation(scenario, scenario, "failed", None, time.monotonic() - started, err)
    return Preparation(scenario, done.title, done.action, done.previous, time.monotonic() - started)


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
                f"{files_text(prep.edits)} are kept. {RESET_ADVICE}"
            )
        else:
            text = f"The lab was already in scenario {name}, untouched. {RESET_ADVICE}"
        return message_html(text, "ok", title="\u2714 Lab ready.")
    if prep.action == "blocked":
        before = prep.previous.name if prep.previous is not None else "?"
        return message_html(
            f"This notebook needs scenario {name}, but the lab is in `{before}` with your "
            f"changes to {files_text(prep.edits)}. Switching replaces them with the new "
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
    """:func:`labkit.doctor.health.check_health` as a card with a *Check again* button."""

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
            from labkit.doctor.health import check_health

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
