"""The instructor's live grid: every learner's lab, checked now, as one page.

:class:`Room` looks at every learner's running lab behind the hub: the live tasks,
checked from the learner's own workstation by the same code as the notebooks' "Check
my fix" buttons (:func:`labkit.exercises.gradebook.grade_seat`), the questions' results
from their progress file (self-reported, shown as such), and the lab's scenario and
edits. It remembers when each learner's results last changed, so the grid can say who
has been stuck for a while. :func:`render_grid` draws the page (pure: rows in, HTML
out); :mod:`labkit.hub.grid_service` serves it inside the hub, for instructors only
(learners see their own row).
"""

from __future__ import annotations

import html
import json
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

from labkit.errors import LabkitError
from labkit.exercises.gradebook import SeatGrades, TaskResult, grade_seat, live_tasks
from labkit.hub.seats import seat_from_settings
from labkit.lab.config import find_home
from labkit.lab.engine import WORKSTATION_LABKIT
from labkit.lab.lifecycle import Lab
from labkit.lab.scenarios import scenario_names

__all__ = ["LearnerRow", "Room", "render_grid"]

#: After this long without any result changing, a learner who is not done is "stuck".
STUCK_AFTER_S = 10 * 60
#: A lab whose server-side files, routes and progress file did not change is checked in
#: full again only this often: a full check runs every live task's probes (seconds of
#: CPU), a look at what changed costs two tiny execs.
FULL_EVERY_S = 5 * 60

#: What a learner's fix can change, as one digest per container: the mail server's
#: configuration, certificates and whether Postfix runs; the laptop's route, the zones
#: and the progress file.
MX_PRINT = (
    "{ cat /etc/postfix/main.cf /etc/postfix/master.cf; "
    "ls -l --time-style=+%s /etc/postfix /etc/ssl/private /etc/ssl/certs /etc/dovecot; "
    "pgrep -x master; pgrep -x dovecot; } 2>/dev/null | md5sum"
)
WS_PRINT = (
    "{ ip -4 route show default; ls -l --time-style=+%s /lab/zones; "
    "stat -c %Y /home/learner/.labkit/progress.json; } 2>/dev/null | md5sum"
)


@dataclass(frozen=True)
class LearnerRow:
    """One learner, as the grid shows them."""

    name: str
    running: bool
    tasks: tuple[TaskResult, ...] = ()
    questions_passed: int = 0
    questions_total: int = 0
    scenario: str | None = None
    edited: tuple[str, ...] = ()
    error: str | None = None
    #: Seconds since any of their results last changed (None: not seen yet).
    quiet_for: float | None = None
    #: The swarm node their lab runs on (None: on the hub's own machine, with Compose).
    node: str | None = None

    @property
    def earned(self) -> float:
        return sum(t.score for t in self.tasks)

    @property
    def possible(self) -> float:
        return sum(t.points for t in self.tasks)

    @property
    def done(self) -> bool:
        return bool(self.tasks) and all(t.passed for t in self.tasks)

    @property
    def stuck(self) -> bool:
        return (
            self.running
            and not self.done
            and self.quiet_for is not None
            and self.quiet_for >= STUCK_AFTER_S
        )

    def result(self, task: str) -> TaskResult | None:
        return next((t for t in self.tasks if t.task == task), None)


def _signature(row: LearnerRow) -> tuple[Any, ...]:
    return (tuple((t.task, t.score) for t in row.tasks), row.questions_passed)


@dataclass
class Room:
    """Every learner's lab behind one hub, looked at again on :meth:`refresh`."""

    settings: Mapping[str, Any]
    clock: Callable[[], float] = time.monotonic
    rows: dict[str, LearnerRow] = field(default_factory=dict)
    checked_at: float | None = None
    _changed: dict[str, tuple[tuple[Any, ...], float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _round: threading.Lock = field(default_factory=threading.Lock)
    #: Per learner: the fingerprint at their last full check, and when it ran.
    _full: dict[str, tuple[tuple[str, ...], float]] = field(default_factory=dict)
    #: Swarm node IDs -> host names, asked again when a lab is on a node not seen yet.
    _nodes: dict[str, str] = field(default_factory=dict)

    @property
    def learners(self) -> list[str]:
        admins = set(self.settings.get("admins", []))
        return [u for u in self.settings.get("users", []) if u not in admins]

    def lab(self, name: str) -> Lab:
        return Lab(seat_from_settings(self.settings, name), behind_hub=True)

    def scenarios(self) -> list[str]:
        """The scenarios an instructor may put labs in (the checkout's own)."""
        return scenario_names(find_home())

    def ensure_checked(self) -> None:
        """Look now if nobody has yet (the first request after a start waits for it)."""
        if self.checked_at is None:
            self.refresh()

    def refresh(
        self, look: Callable[[str], LearnerRow] | None = None, *, force: bool = False
    ) -> None:
        """Look at every learner's lab now (four at a time; one round at a time). Labs in
        which nothing changed keep their last full check unless ``force`` or it is
        older than :data:`FULL_EVERY_S`."""
        with self._round:
            self._refresh(look or (lambda name: self.look(name, force=force)))

    def _refresh(self, look: Callable[[str], LearnerRow]) -> None:
        with ThreadPoolExecutor(max_workers=4) as pool:
            fresh = dict(zip(self.learners, pool.map(look, self.learners), strict=True))
        now = self.clock()
        with self._lock:
            for name, row in fresh.items():
                signature = _signature(row)
                before = self._changed.get(name)
                if before is None or before[0] != signature:
                    self._changed[name] = (signature, now)
                since = self._changed[name][1]
                fresh[name] = _with_quiet(row, now - since)
            self.rows = fresh
            self.checked_at = now

    def fingerprint(self, lab: Lab, found: Mapping[str, Any]) -> tuple[str, ...]:
        """What a fix could have changed in this lab, as digests (two small execs)."""
        prints = []
        for service, script in (("mx", MX_PRINT), ("workstation", WS_PRINT)):
            c = found.get(service)
            if c is None or not c.running:
                prints.append("down")
                continue
            done = lab.engine.exec(c, ["sh", "-c", script], timeout=15)
            prints.append(done.stdout.strip())
        return tuple(prints)

    def look(self, name: str, *, force: bool = False) -> LearnerRow:
        """One learner's lab; checked in full when something changed there (or the
        last full check is old, or ``force``); a lab that is not running is just that."""
        try:
            config = seat_from_settings(self.settings, name)
            lab = Lab(config, behind_hub=True)
            found = lab.containers()
            ws = found.get("workstation")
            if ws is None or not ws.running:
                return LearnerRow(name, running=False)
            node = self.node_name(lab, ws.node) if ws.node else None
            printed = self.fingerprint(lab, found)
            last = self._full.get(name)
            now = self.clock()
            if (
                not force
                and last is not None
                and last[0] == printed
                and now - last[1] < FULL_EVERY_S
                and name in self.rows
            ):
                return self.rows[name]
            grades = grade_seat(config)
            passed, total = _questions(lab, ws)
            state = lab.current()
        except LabkitError as exc:
            return LearnerRow(name, running=True, error=exc.message)
        self._full[name] = (printed, now)
        return LearnerRow(
            name,
            running=True,
            tasks=grades.results,
            questions_passed=passed,
            questions_total=total,
            scenario=state.name,
            edited=state.modified,
            error=grades.error,
            node=node,
        )

    def node_name(self, lab: Lab, node_id: str) -> str:
        """The host name of swarm node ``node_id`` (asked once per new node)."""
        if node_id not in self._nodes:
            from labkit.lab.stack import nodes_by_id

            self._nodes.update({n.id: n.hostname for n in nodes_by_id(lab.manager).values()})
        return self._nodes.get(node_id, node_id[:12])


def _with_quiet(row: LearnerRow, quiet: float) -> LearnerRow:
    return replace(row, quiet_for=quiet)


def _questions(lab: Lab, workstation: Any) -> tuple[int, int]:
    """How many of the course's questions the learner's progress file says they passed."""
    done = lab.engine.exec(
        workstation, [WORKSTATION_LABKIT, "progress", "--json"], user="learner", timeout=30
    )
    if done.exit_code != 0:
        return 0, 0
    try:
        notebooks = json.loads(done.stdout).get("notebooks", [])
        return (
            sum(int(n.get("passed", 0)) for n in notebooks),
            sum(int(n.get("exercises", 0)) for n in notebooks),
        )
    except (ValueError, AttributeError, TypeError):
        return 0, 0


def grades_of(rows: Sequence[LearnerRow]) -> list[SeatGrades]:
    """The rows as a gradebook (labkit.exercises.gradebook.gradebook_csv)."""
    return [SeatGrades(r.name, r.tasks, r.error) for r in rows]


# --------------------------------------------------------------------------- the page

_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:1.5rem;color:#1f2937}
h1{font-size:1.4rem;margin:0 0 .2rem} .sub{color:#6b7280;margin:0 0 1rem}
table{border-collapse:collapse;font-size:.9rem} th,td{padding:.35rem .5rem;text-align:center}
th{font-weight:600;border-bottom:2px solid #d1d5db;vertical-align:bottom}
th.task{writing-mode:vertical-rl;transform:rotate(180deg);white-space:nowrap;
font-weight:500;font-size:.8rem}
td.name{text-align:left;font-weight:600} tr{border-bottom:1px solid #e5e7eb}
.cell{display:inline-block;width:1.6rem;height:1.6rem;border-radius:.3rem;line-height:1.6rem;
color:#fff;font-weight:700}
.pass{background:#16a34a}.part{background:#f59e0b}.todo{background:#e5e7eb;color:#6b7280}
.err{background:#dc2626}.off{color:#9ca3af}
.bar{width:9rem;height:.7rem;background:#e5e7eb;border-radius:.35rem;overflow:hidden;
display:inline-block;vertical-align:middle}.bar>span{display:block;height:100%;background:#16a34a}
.badge{display:inline-block;padding:.05rem .45rem;border-radius:.6rem;font-size:.75rem;
font-weight:600}.stuck{background:#fee2e2;color:#991b1b}.done{background:#dcfce7;color:#166534}
.edited{background:#fef3c7;color:#92400e}
form{display:inline} button{font-size:.8rem;margin:0 .1rem;cursor:pointer}
.actions{margin:1rem 0;padding:.6rem;background:#f9fafb;border:1px solid #e5e7eb;
border-radius:.4rem}
"""


def _cell(result: TaskResult | None) -> str:
    if result is None:
        return '<span class="cell todo">·</span>'
    tip = html.escape(result.error or result.feedback, quote=True)
    if result.error:
        return f'<span class="cell err" title="{tip}">!</span>'
    if result.passed:
        return f'<span class="cell pass" title="{tip}">✓</span>'
    if result.score > 0:
        return f'<span class="cell part" title="{tip}">½</span>'
    return f'<span class="cell todo" title="{tip}">✗</span>'


def render_grid(
    rows: Sequence[LearnerRow],
    *,
    viewer: str,
    admin: bool,
    scenarios: Sequence[str] = (),
    xsrf: str = "",
    checked_ago: float | None = None,
    refresh_s: int = 20,
) -> str:
    """The grid page: one row per learner (``viewer``'s own row only unless ``admin``)."""
    tasks = live_tasks()
    shown = list(rows) if admin else [r for r in rows if r.name == viewer]
    esc = html.escape
    head = "".join(
        f'<th class="task" title="{esc(t.title)}">{esc(t.id.replace(".", " · "))}</th>'
        for t in tasks
    )
    # On a swarm, where each lab runs: a node column (none for one machine).
    nodes = any(r.node for r in rows)
    body = []
    for row in shown:
        where = f'<td class="node">{esc(row.node or "")}</td>' if nodes else ""
        if not row.running:
            body.append(
                f'<tr><td class="name">{esc(row.name)}</td>{where}'
                f'<td colspan="{len(tasks) + 4}" class="off">not logged in (lab stopped)</td></tr>'
            )
            continue
        cells = "".join(f"<td>{_cell(row.result(t.id))}</td>" for t in tasks)
        share = row.earned / row.possible if row.possible else 0.0
        badges = []
        if row.done:
            badges.append('<span class="badge done">done</span>')
        elif row.stuck and row.quiet_for is not None:
            badges.append(f'<span class="badge stuck">stuck {row.quiet_for / 60:.0f} min</span>')
        if row.edited:
            badges.append(
                f'<span class="badge edited" title="{esc(", ".join(row.edited))}">edited</span>'
            )
        if row.error:
            badges.append(f'<span class="badge stuck" title="{esc(row.error)}">error</span>')
        actions = ""
        if admin:
            actions = (
                f'<a href="doctor/{esc(row.name)}">doctor</a> '
                f'<form method="post" action="reset/{esc(row.name)}">'
                f'<input type="hidden" name="_xsrf" value="{esc(xsrf)}">'
                "<button>reset</button></form>"
            )
        body.append(
            f'<tr><td class="name">{esc(row.name)}</td>{where}{cells}'
            f'<td><span class="bar"><span style="width:{share * 100:.0f}%"></span></span> '
            f"{row.earned:.1f} / {row.possible:g}</td>"
            f"<td>{row.questions_passed}/{row.questions_total}</td>"
            f"<td>{esc(row.scenario or '?')}</td>"
            f"<td>{' '.join(badges)}</td><td>{actions}</td></tr>"
        )
    controls = ""
    if admin:
        options = '<option value="" selected disabled>choose…</option>' + "".join(
            f'<option value="{esc(s)}">{esc(s)}</option>' for s in scenarios
        )
        learners = "".join(f'<option value="{esc(r.name)}">{esc(r.name)}</option>' for r in rows)
        controls = (
            '<div class="actions"><form method="post" action="apply">'
            f'<input type="hidden" name="_xsrf" value="{esc(xsrf)}">'
            f'Put <select name="who"><option value="*">every running lab</option>{learners}'
            f'</select> in scenario <select name="scenario">{options}</select> '
            '<button>apply</button></form> · <a href="gradebook.csv">gradebook (CSV)</a>'
            ' · <a href="grid.json">JSON</a></div>'
        )
    ago = "" if checked_ago is None else f" · checked {checked_ago:.0f} s ago"
    running = sum(r.running for r in rows)
    sub = (
        f"{running} of {len(rows)} learners' labs running{ago} · live tasks are checked in "
        "each learner's own lab; questions are what their progress file says"
        if admin
        else f"Your live tasks, checked in your lab{ago}."
    )
    return (
        "<!doctype html><html><head><meta charset=utf-8>"
        f'<meta http-equiv="refresh" content="{int(refresh_s)}">'
        f"<title>labkit · the room</title><style>{_STYLE}</style></head><body>"
        f"<h1>{'The room' if admin else esc(viewer)}</h1><p class=sub>{sub}</p>{controls}"
        f"<table><tr><th>learner</th>{'<th>node</th>' if nodes else ''}{head}"
        "<th>live tasks</th><th>questions</th>"
        f"<th>scenario</th><th></th><th></th></tr>{''.join(body)}</table></body></html>"
    )


def grid_json(rows: Sequence[LearnerRow]) -> list[dict[str, Any]]:
    """The rows for scripts."""
    return [
        {
            "learner": r.name,
            "running": r.running,
            "earned": r.earned,
            "possible": r.possible,
            "tasks": {t.task: {"score": t.score, "passed": t.passed} for t in r.tasks},
            "questions_passed": r.questions_passed,
            "questions_total": r.questions_total,
            "scenario": r.scenario,
            "edited": list(r.edited),
            "stuck": r.stuck,
            "quiet_for": r.quiet_for,
            "error": r.error,
            "node": r.node,
        }
        for r in rows
    ]
