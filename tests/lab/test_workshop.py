"""Workshop seats: several labs side by side, each isolated, with an instructor's view.

The seats' project prefix and /16 come from ``LABKIT_WORKSHOP_TEST_PREFIX`` and
``LABKIT_WORKSHOP_TEST_NET``, so test sessions running side by side on one machine
(each with its own values) do not take each other's seats down.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess

import pytest

from labkit.lab.workshop import Workshop

pytestmark = pytest.mark.lab

SEAT_PREFIX = os.environ.get("LABKIT_WORKSHOP_TEST_PREFIX", "labkit-testseat")
SEAT_NET = os.environ.get("LABKIT_WORKSHOP_TEST_NET", "10.127")


def _free_block(n: int) -> int:
    for start in range(18901, 19901, 10):
        try:
            for port in range(start, start + n):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", port))
            return start
        except OSError:
            continue
    raise RuntimeError("no free ports")


def _labkit(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("LABKIT_PROJECT", "LABKIT_LOCAL")}
    return subprocess.run(["labkit", *args], capture_output=True, text=True, env=env, timeout=120)


def test_two_seats_are_separate_labs_with_their_own_urls_and_state(lab, tmp_path):
    workshop = Workshop(prefix=SEAT_PREFIX, net=SEAT_NET)
    first = _free_block(2)
    try:
        seats = workshop.up(2, first_port=first, scenario="blog")
        assert [s.seat for s in seats] == [1, 2]
        assert all(s.healthy and s.scenario == "blog" for s in seats), seats
        assert [s.url.split("/?")[0] for s in seats] == [
            f"http://127.0.0.1:{first}",
            f"http://127.0.0.1:{first + 1}",
        ]
        assert seats[0].possible > 0 and seats[0].earned == 0

        # One participant's fix does not leak into the other seat.
        seat1 = workshop._lab(workshop.seats()[0])
        seat1.apply("fixed")
        by_seat = {s.seat: s.scenario for s in workshop.status()}
        assert by_seat == {1: "fixed", 2: "blog"}

        # -p points every per-lab command at one seat, whatever the environment says.
        fixed_seat, blog_seat = (c.project for c in workshop.seats())
        assert _labkit("doctor", "-p", fixed_seat, "--json").returncode == 0
        broken = _labkit("doctor", "-p", blog_seat, "--json")
        assert broken.returncode == 1, broken.stderr
        assert blog_seat in broken.stderr  # it ran in that seat's workstation
        status = json.loads(_labkit("status", "-p", blog_seat, "--json").stdout)
        assert status["project"] == blog_seat and status["healthy"] is True
        assert status["scenario"]["name"] == "blog"

        # The gradebook checks each seat's server from its own workstation; a learner
        # who writes full marks into their own progress file gains nothing there.
        forged = json.dumps({"exercises": {"nb02.fix-submission": {"score": 1, "correct": True}}})
        subprocess.run(
            [
                "docker",
                "exec",
                "-u",
                "learner",
                f"{blog_seat}-workstation-1",
                "sh",
                "-c",
                f"mkdir -p ~/.labkit && printf '%s' '{forged}' > ~/.labkit/progress.json",
            ],
            check=True,
        )
        book = tmp_path / "gradebook.csv"
        graded = _labkit(
            "workshop",
            "grade",
            "--json",
            "--csv",
            str(book),
            "--seat-prefix",
            SEAT_PREFIX,
            "--seat-net",
            SEAT_NET,
        )
        assert graded.returncode == 0, graded.stderr
        by_seat = {
            s["seat"]: {r["task"]: r["passed"] for r in s["results"]}
            for s in json.loads(graded.stdout)
        }
        assert set(by_seat) == {fixed_seat, blog_seat}
        assert all(by_seat[fixed_seat].values()), by_seat[fixed_seat]
        assert by_seat[blog_seat]["nb02.fix-submission"] is False
        assert by_seat[blog_seat]["nb04.no-open-relay"] is True  # the blog's one right thing
        assert book.read_text().splitlines()[0].startswith("seat,nb02.fix-submission")

        workshop.apply("no-submission")
        assert {s.scenario for s in workshop.status()} == {"no-submission"}
    finally:
        workshop.down(volumes=True)
    assert workshop.status() == []


def test_a_seat_that_cannot_start_is_shown_failed_and_leaves_nothing_behind(lab):
    """A seat whose network cannot be made (here: its cafe subnet is taken) fails with
    the reason in its row, the other seat starts, and the failed seat leaves no
    container or network behind. Every seat network has a fixed subnet from the seat's
    own /24, so Docker's default address pools (about 30 networks) never run out."""
    net = f"{SEAT_NET.split('.')[0]}.{int(SEAT_NET.split('.')[1]) + 1}"  # not the other test's
    workshop = Workshop(prefix=f"{SEAT_PREFIX}f", net=net)
    blocker = f"{SEAT_PREFIX}f-blocker"
    taken = subprocess.run(
        ["docker", "network", "create", "--internal", "--subnet", f"{net}.2.208/28", blocker],
        capture_output=True,
        text=True,
    )
    assert taken.returncode == 0, taken.stderr
    try:
        seats = workshop.up(2, first_port=_free_block(2))
        by_seat = {s.seat: s for s in seats}
        assert by_seat[1].healthy and by_seat[1].error is None, by_seat[1]
        assert not by_seat[2].healthy and by_seat[2].error, by_seat[2]
        failed = f"{SEAT_PREFIX}f2"
        left = subprocess.run(
            ["docker", "ps", "-aq", "--filter", f"label=com.docker.compose.project={failed}"],
            capture_output=True,
            text=True,
        )
        assert left.stdout.strip() == ""
        networks = subprocess.run(
            ["docker", "network", "ls", "-q", "--filter", f"name={failed}_"],
            capture_output=True,
            text=True,
        )
        assert networks.stdout.strip() == ""
        public = subprocess.run(
            [
                "docker",
                "network",
                "inspect",
                f"{SEAT_PREFIX}f1_public",
                "--format",
                "{{range .IPAM.Config}}{{.Subnet}}{{end}}",
            ],
            capture_output=True,
            text=True,
        )
        assert public.stdout.strip() == f"{net}.1.240/28"  # not from Docker's pools
    finally:
        workshop.down(volumes=True)
        subprocess.run(["docker", "network", "rm", blocker], capture_output=True)
    assert workshop.status() == []
