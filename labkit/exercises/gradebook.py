"""The graded record an instructor can trust: the live tasks, checked from the lab.

A learner's progress file lives on their own volume and they can edit it; what the
server really does cannot be faked from a notebook. :func:`check_tasks` runs every
live task's probes and pure check (the same code the notebooks' "Check my fix"
buttons run) from where it is called, the learner's workstation, and returns one
:class:`TaskResult` per task: the server-side column of a gradebook. Hints and
solutions the learner used are self-reported and stay in their progress file; the
scores here are what the server earns, help aside.

``labkit check`` prints them (``--json`` for scripts); ``labkit workshop grade`` runs
it in every seat's workstation at once and makes the room's gradebook.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from labkit.errors import LabkitError, ProtocolError, UsageError

if TYPE_CHECKING:
    from labkit.exercises.live import LiveTask
    from labkit.lab.config import LabConfig
    from labkit.target import Target

__all__ = [
    "SeatGrades",
    "TaskResult",
    "check_tasks",
    "dump_results",
    "grade_seat",
    "grade_seats",
    "gradebook_csv",
    "gradebook_rows",
    "live_tasks",
    "parse_results",
]


@dataclass(frozen=True)
class TaskResult:
    """One live task, checked now: its score on the task's points, help aside."""

    task: str
    title: str
    score: float
    points: float
    passed: bool
    feedback: str
    error: str | None = None  # the check could not run (no answer is no pass)


@dataclass(frozen=True)
class SeatGrades:
    """One seat's (one learner's) live tasks, as checked from its workstation."""

    seat: str
    results: tuple[TaskResult, ...]
    error: str | None = None

    @property
    def earned(self) -> float:
        return sum(r.score for r in self.results)

    @property
    def possible(self) -> float:
        return sum(r.points for r in self.results)

    def result(self, task: str) -> TaskResult | None:
        return next((r for r in self.results if r.task == task), None)


def live_tasks(ids: Sequence[str] | None = None) -> tuple[LiveTask, ...]:
    """The bank's live tasks in course order, or those named (unknown ids: UsageError)."""
    from labkit.exercises.bank import all_exercises
    from labkit.exercises.live import LiveTask

    tasks = tuple(e for e in all_exercises() if isinstance(e, LiveTask))
    if not ids:
        return tasks
    known = {t.id: t for t in tasks}
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise UsageError(
            f"{unknown[0]!r} is not a live task.",
            advice="Live tasks: " + ", ".join(known),
        )
    return tuple(known[i] for i in ids)


def _check_one(task: LiveTask, target: Target | None) -> TaskResult:
    try:
        grade = task.run(target)
    except LabkitError as exc:
        return TaskResult(task.id, task.title, 0.0, task.points, False, "", exc.describe())
    return TaskResult(task.id, task.title, grade.score, task.points, grade.passed, grade.feedback)


def check_tasks(
    ids: Sequence[str] | None = None, target: Target | None = None
) -> tuple[TaskResult, ...]:
    """Probe the lab for every live task (or those named), all at once, and grade it."""
    tasks = live_tasks(ids)
    with ThreadPoolExecutor(max_workers=max(len(tasks), 1)) as pool:
        return tuple(pool.map(lambda t: _check_one(t, target), tasks))


def dump_results(results: Sequence[TaskResult]) -> str:
    return json.dumps({"tasks": [asdict(r) for r in results]}, indent=1)


def parse_results(text: str) -> tuple[TaskResult, ...]:
    """Read what ``labkit check --json`` printed (in a seat's workstation): its output
    is treated as untrusted, so anything malformed is a ProtocolError, not a grade."""
    try:
        raw = json.loads(text)
        results = []
        for item in raw["tasks"]:
            results.append(
                TaskResult(
                    str(item["task"]),
                    str(item["title"]),
                    float(item["score"]),
                    float(item["points"]),
                    item["passed"] is True,
                    str(item["feedback"]),
                    None if item.get("error") is None else str(item["error"]),
                )
            )
        return tuple(results)
    except (ValueError, KeyError, TypeError) as exc:
        raise ProtocolError(f"Unreadable task results ({exc}): {text[:200]!r}") from exc


def gradebook_rows(seats: Sequence[SeatGrades]) -> list[dict[str, Any]]:
    """One row per seat: its score per task (blank where the check could not run)."""
    tasks = list(dict.fromkeys(r.task for s in seats for r in s.results))
    rows = []
    for seat in seats:
        row: dict[str, Any] = {"seat": seat.seat}
        for task in tasks:
            result = seat.result(task)
            row[task] = "" if result is None or result.error else f"{result.score:g}"
        row["earned"] = f"{seat.earned:g}"
        row["possible"] = f"{seat.possible:g}"
        row["error"] = seat.error or ""
        rows.append(row)
    return rows


def gradebook_csv(seats: Sequence[SeatGrades]) -> str:
    """The gradebook as CSV (one row per seat, one column per live task)."""
    rows = gradebook_rows(seats)
    out = io.StringIO()
    if rows:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return out.getvalue()


# --------------------------------------------------------------------------- the room

#: A seat's checks all run at once; this bounds one seat's whole `labkit check`.
SEAT_TIMEOUT = 120.0


def grade_seat(config: LabConfig, tasks: Sequence[str] = ()) -> SeatGrades:
    """Run ``labkit check --json`` in one seat's workstation, as its learner."""
    from labkit.lab.engine import WORKSTATION_LABKIT
    from labkit.lab.lifecycle import Lab

    lab = Lab(config)
    try:
        ws = lab.containers().get("workstation")
        if ws is None or not ws.running:
            return SeatGrades(config.project, (), "the seat's workstation is not running")
        done = lab.engine.exec(
            ws,
            [WORKSTATION_LABKIT, "check", "--json", *tasks],
            user="learner",
            timeout=SEAT_TIMEOUT,
        )
        if done.exit_code not in (0, 1):
            said = (done.stderr or done.stdout).strip().splitlines()
            return SeatGrades(
                config.project, (), f"`labkit check` failed: {said[-1] if said else done.exit_code}"
            )
        return SeatGrades(config.project, parse_results(done.stdout))
    except LabkitError as exc:
        return SeatGrades(config.project, (), exc.message)


def grade_seats(configs: Sequence[LabConfig], tasks: Sequence[str] = ()) -> list[SeatGrades]:
    """Every seat's live tasks, checked in its own workstation, all seats at once."""
    live_tasks(tasks)  # unknown task ids fail before any work
    if not configs:
        return []
    with ThreadPoolExecutor(max_workers=min(len(configs), 8)) as pool:
        return list(pool.map(lambda c: grade_seat(c, tasks), configs))
