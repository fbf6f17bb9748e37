"""Waiting for the lab to be ready: quick while it starts, fails fast, says why.

The services here are scripted sequences of what ``lab-health`` would report, run on a
fake clock, so every path (ready at once, ready later, exited, restarting, too slow)
is exercised without Docker; the lab tests run the real thing.
"""

from __future__ import annotations

import pytest

from labkit.errors import LabStateError
from labkit.lab.readiness import AnnouncedCheck, ServiceCheck, wait_ready


class Script:
    """Each service answers its next scripted (state, ready, detail); the last repeats."""

    def __init__(self, **answers: list[tuple[str, bool, str]]) -> None:
        self.answers = answers
        self.asked: dict[str, int] = {name: 0 for name in answers}
        self.now = 0.0
        self.sleeps: list[float] = []

    def check(self, service: str) -> ServiceCheck:
        seq = self.answers[service]
        state, ready, detail = seq[min(self.asked[service], len(seq) - 1)]
        self.asked[service] += 1
        return ServiceCheck(service, state, ready, detail)

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now

    def wait(self, *services: str, timeout: float = 10.0, after=None):
        return wait_ready(
            self.check, services, after=after, timeout=timeout, sleep=self.sleep, clock=self.clock
        )


UP = ("running", True, "")
STARTING = ("running", False, "JupyterLab does not accept connections on port 8888")


def test_a_ready_lab_costs_one_check_per_service_and_no_sleep():
    s = Script(dns=[UP], mx=[UP], workstation=[UP])
    report = s.wait("dns", "mx", "workstation")
    assert [c.service for c in report.checks] == ["dns", "mx", "workstation"]
    assert all(c.health == "healthy" for c in report.checks)
    assert report.rounds == 1 and s.sleeps == []
    assert s.asked == {"dns": 1, "mx": 1, "workstation": 1}


def test_only_services_not_ready_are_asked_again_quickly_then_less_often():
    s = Script(dns=[UP], mx=[STARTING] * 2 + [UP], workstation=[STARTING] * 6 + [UP])
    report = s.wait("dns", "mx", "workstation")
    assert s.asked == {"dns": 1, "mx": 3, "workstation": 7}
    assert report.rounds == 7
    assert s.sleeps[:5] == [0.1, 0.2, 0.4, 0.8, 1.0] and max(s.sleeps) == 1.0


def test_a_service_is_not_checked_before_what_it_waits_for_works():
    s = Script(mx=[STARTING] * 3 + [UP], workstation=[STARTING, UP])
    report = s.wait("mx", "workstation", after={"workstation": ("mx",)})
    assert s.asked == {"mx": 4, "workstation": 2}
    assert report.rounds == 6  # mx passes in round 4, the workstation in rounds 5 and 6


def test_an_exited_container_fails_at_once_with_what_its_check_said():
    s = Script(dns=[UP], mx=[("exited", False, "postfix is not running")])
    with pytest.raises(LabStateError) as err:
        s.wait("dns", "mx")
    assert "mx container is exited" in err.value.message
    assert "postfix is not running" in (err.value.advice or "")
    assert "labkit logs mx" in (err.value.advice or "")
    assert s.sleeps == []


def test_a_restarting_container_is_not_waited_for():
    s = Script(mx=[STARTING, ("restarting", False, "")])
    with pytest.raises(LabStateError, match="restarting"):
        s.wait("mx")
    assert s.asked["mx"] == 2


def test_too_slow_names_every_service_still_pending_and_why():
    s = Script(dns=[UP], mx=[("running", False, "dovecot is not running")], workstation=[STARTING])
    with pytest.raises(LabStateError) as err:
        s.wait("dns", "mx", "workstation", timeout=5)
    assert "after 5 s" in err.value.message
    assert "mx, workstation are not working yet" in err.value.message
    assert "dovecot is not running" in (err.value.advice or "")
    assert "port 8888" in (err.value.advice or "")
    assert 5 <= s.now <= 6


def test_too_slow_while_waiting_for_a_prerequisite_names_both():
    s = Script(mx=[("running", False, "postfix is not running")], workstation=[UP])
    with pytest.raises(LabStateError) as err:
        s.wait("mx", "workstation", timeout=3, after={"workstation": ("mx",)})
    assert "mx, workstation are not working yet" in err.value.message
    assert s.asked["workstation"] == 0


def test_health_words_follow_state_and_check():
    assert ServiceCheck("mx", "running", True).health == "healthy"
    assert ServiceCheck("mx", "running", False).health == "unhealthy"
    assert ServiceCheck("mx", "exited", False).health == "none"


class Announcing:
    """A container that says it is ready after ``silent`` calls of ``announced``."""

    def __init__(self, silent: int, *, can_tell: bool = True) -> None:
        self.silent = silent
        self.can_tell = can_tell
        self.heard = 0
        self.execs = 0
        self.now = 0.0

    def announced(self, service: str, wait: float) -> bool | None:
        self.now += wait  # waiting on the log stream takes the time it waits
        self.heard += 1
        if not self.can_tell:
            return None
        return self.heard > self.silent

    def check(self, service: str) -> ServiceCheck:
        self.execs += 1
        return ServiceCheck(service, "running", True, "ok")


def test_a_container_is_asked_only_once_it_has_said_it_is_ready() -> None:
    box = Announcing(silent=8)
    check = AnnouncedCheck(box.check, box.announced, wait=1.0, every=15.0, clock=lambda: box.now)
    results = [check("mx") for _ in range(9)]
    assert [r.ready for r in results] == [False] * 8 + [True]
    assert box.execs == 1  # eight quiet waits, then one docker exec


def test_a_silent_container_is_still_asked_now_and_then() -> None:
    box = Announcing(silent=10**6)  # an image from before lab-announce
    check = AnnouncedCheck(box.check, box.announced, wait=1.0, every=15.0, clock=lambda: box.now)
    for _ in range(46):
        check("mx")
    assert box.execs == 3  # at 15, 30 and 45 s of silence, not every second


def test_when_the_output_cannot_be_followed_every_round_asks() -> None:
    box = Announcing(silent=5, can_tell=False)  # not running, or a daemon behind the SDK
    check = AnnouncedCheck(box.check, box.announced, clock=lambda: box.now)
    assert check("mx").ready and box.execs == 1


def test_waiting_for_announcements_through_wait_ready() -> None:
    box = Announcing(silent=3)
    check = AnnouncedCheck(box.check, box.announced, clock=lambda: box.now)
    report = wait_ready(check, ["dns"], timeout=60, sleep=lambda s: None, clock=lambda: box.now)
    assert report.checks[0].ready and box.execs == 1 and report.rounds == 4
