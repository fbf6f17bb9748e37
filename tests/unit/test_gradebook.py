"""The server-side gradebook's pure parts: task selection, reading what a seat's
`labkit check --json` printed (untrusted), and the CSV an instructor downloads.
tests/lab/test_workshop.py grades real seats."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict

import pytest

from labkit.errors import ProtocolError, UsageError
from labkit.exercises.gradebook import (
    SeatGrades,
    TaskResult,
    dump_results,
    grade_seats,
    gradebook_csv,
    live_tasks,
    parse_results,
)

FIXED = TaskResult("nb02.fix-submission", "Open 587 and 465", 1.0, 1.0, True, "All 2 pass.")
NOT_YET = TaskResult("nb05.fix-mx", "Fix the MX", 0.5, 1.0, False, "MX is a CNAME.")
BROKEN = TaskResult("nb05.fix-mx", "Fix the MX", 0.0, 1.0, False, "", "DNS timed out")


def test_live_tasks_are_the_banks_in_course_order():
    ids = [t.id for t in live_tasks()]
    assert ids[0] == "nb02.fix-submission" and "nb06.server-fixed" in ids
    assert ids == sorted(ids, key=lambda i: i.split(".")[0])
    assert [t.id for t in live_tasks(["nb05.fix-mx"])] == ["nb05.fix-mx"]


def test_an_unknown_task_is_a_usage_error_listing_the_real_ones():
    with pytest.raises(UsageError, match="not a live task") as err:
        live_tasks(["nb02.errno-linux"])  # a question, not a live task
    assert "nb02.fix-submission" in (err.value.advice or "")
    with pytest.raises(UsageError):
        grade_seats([], ["nope.task"])  # checked before any seat is asked


def test_results_round_trip_through_the_json_a_seat_prints():
    assert parse_results(dump_results([FIXED, NOT_YET, BROKEN])) == (FIXED, NOT_YET, BROKEN)


@pytest.mark.parametrize(
    "printed",
    [
        "",
        "not json",
        json.dumps({"tasks": [{"task": "x"}]}),
        json.dumps({"tasks": [dict(asdict(FIXED), score="lots")]}),
        json.dumps([1, 2]),
    ],
)
def test_what_a_seat_prints_is_untrusted(printed):
    with pytest.raises(ProtocolError):
        parse_results(printed)


def test_only_a_real_true_passes():
    forged = json.dumps({"tasks": [dict(asdict(NOT_YET), passed="yes")]})
    (result,) = parse_results(forged)
    assert result.passed is False


def test_the_gradebook_csv_has_a_row_per_seat_and_a_column_per_task():
    seats = [
        SeatGrades("lk-seat1", (FIXED, NOT_YET)),
        SeatGrades("lk-seat2", (FIXED, BROKEN)),
        SeatGrades("lk-seat3", (), "the seat's workstation is not running"),
    ]
    rows = list(csv.DictReader(io.StringIO(gradebook_csv(seats))))
    assert [r["seat"] for r in rows] == ["lk-seat1", "lk-seat2", "lk-seat3"]
    assert rows[0]["nb02.fix-submission"] == "1" and rows[0]["nb05.fix-mx"] == "0.5"
    assert rows[1]["nb05.fix-mx"] == ""  # could not be checked: no score, not zero
    assert rows[0]["earned"] == "1.5" and rows[0]["possible"] == "2"
    assert rows[2]["error"] == "the seat's workstation is not running"
