"""The instructor's grid, without a hub: rows in, judgements and HTML out."""

from __future__ import annotations

import json

from labkit.exercises.gradebook import TaskResult, gradebook_csv
from labkit.hub.grid import STUCK_AFTER_S, LearnerRow, Room, grades_of, grid_json, render_grid
from labkit.hub.roster import parse_roster
from labkit.hub.settings import hub_settings

SETTINGS = json.loads(
    hub_settings(parse_roster("username,role\nteach,instructor\nada\nbob\n"), scenario="blog")
)


def _task(task: str, score: float) -> TaskResult:
    return TaskResult(task, task, score, 1.0, score >= 1.0, f"feedback for {task}")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_room_is_its_learners_not_its_instructors():
    assert Room(SETTINGS).learners == ["ada", "bob"]


def test_a_learner_whose_results_do_not_change_becomes_stuck_and_a_change_frees_them():
    clock = Clock()
    room = Room(SETTINGS, clock=clock)
    scores = {"ada": 0.0, "bob": 0.0}

    def look(name: str) -> LearnerRow:
        return LearnerRow(
            name, True, (_task("nb02.fix-submission", scores[name]),), scenario="blog"
        )

    room.refresh(look)
    assert not room.rows["ada"].stuck
    clock.now += STUCK_AFTER_S + 1
    scores["bob"] = 1.0  # bob fixed it: done, never stuck
    room.refresh(look)
    assert room.rows["ada"].stuck and room.rows["ada"].quiet_for == STUCK_AFTER_S + 1
    assert room.rows["bob"].done and not room.rows["bob"].stuck
    scores["ada"] = 0.5  # progress resets the clock
    room.refresh(look)
    assert not room.rows["ada"].stuck and room.rows["ada"].quiet_for == 0


def test_a_lab_that_is_not_running_is_never_stuck():
    row = LearnerRow("ada", False, quiet_for=STUCK_AFTER_S * 5)
    assert not row.stuck


ROWS = [
    LearnerRow(
        "ada",
        True,
        (_task("nb02.fix-submission", 1.0), _task("nb03.fix-starttls", 0.5)),
        questions_passed=3,
        questions_total=57,
        scenario="blog",
        edited=("/etc/postfix/main.cf",),
        quiet_for=STUCK_AFTER_S + 60,
    ),
    LearnerRow("bob<script>", True, (_task("nb02.fix-submission", 0.0),), scenario="fixed"),
    LearnerRow("cy", False),
]


def test_instructors_see_everyone_and_the_controls():
    page = render_grid(ROWS, viewer="teach", admin=True, scenarios=["blog", "fixed"], xsrf="T")
    assert "ada" in page and "bob&lt;script&gt;" in page and "<script>" not in page
    assert 'action="apply"' in page and 'value="T"' in page and "gradebook.csv" in page
    assert "stuck 11 min" in page and "edited" in page and "not logged in" in page
    assert page.count('class="cell pass"') == 1 and page.count('class="cell part"') == 1


def test_a_learner_sees_their_own_row_and_no_controls():
    page = render_grid(ROWS, viewer="ada", admin=False, scenarios=["blog"], xsrf="T")
    assert "ada" in page and "bob" not in page and "cy" not in page
    assert 'action="apply"' not in page and "reset" not in page and "gradebook" not in page


def test_the_same_rows_as_json_and_as_the_gradebook():
    rows = grid_json(ROWS)
    assert [r["learner"] for r in rows] == ["ada", "bob<script>", "cy"]
    assert rows[0]["tasks"]["nb03.fix-starttls"] == {"score": 0.5, "passed": False}
    assert rows[0]["stuck"] and not rows[2]["running"]
    csv = gradebook_csv(grades_of(ROWS))
    assert csv.splitlines()[1].startswith("ada,1,0.5,")
