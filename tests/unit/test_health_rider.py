"""The health check riding along a status read: one exec, both answers intact."""

from __future__ import annotations

from pathlib import Path

from labkit.lab.readiness import HealthRider, ServiceCheck
from labkit.transport import LocalTransport


def _script(tmp_path: Path, body: str) -> str:
    path = tmp_path / "lab-health"
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)
    return str(path)


class Counting(LocalTransport):
    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def run(self, argv, *, input=None, timeout=15.0):  # type: ignore[no-untyped-def]
        self.calls += 1
        return super().run(argv, input=input, timeout=timeout)


def test_a_healthy_check_and_the_command_share_one_exec(tmp_path: Path) -> None:
    inner = Counting()
    rider = HealthRider(inner, "mx", health=_script(tmp_path, "echo all good; exit 0"))
    result = rider.run(["printf", "a\\0b"])
    assert inner.calls == 1
    assert result.ok and result.stdout == "a\0b"  # the command's own output, NULs and all
    assert result.argv == ("printf", "a\\0b")
    assert rider.check is not None
    assert rider.check.ready and rider.check.health == "healthy"
    assert rider.check.detail == "all good"


def test_a_failing_check_does_not_change_the_commands_answer(tmp_path: Path) -> None:
    rider = HealthRider(
        LocalTransport(), "dns", health=_script(tmp_path, "echo 'nsd: no answer' >&2; exit 1")
    )
    result = rider.run(["sh", "-c", "echo zone; exit 3"])
    assert result.exit_code == 3 and result.stdout == "zone\n"
    assert rider.check is not None
    assert not rider.check.ready and rider.check.health == "unhealthy"
    assert rider.check.detail == "nsd: no answer"


def test_a_missing_check_is_unhealthy_and_later_commands_run_alone(tmp_path: Path) -> None:
    inner = Counting()
    rider = HealthRider(inner, "router", health=str(tmp_path / "absent"))
    assert rider.run(["echo", "one"]).stdout == "one\n"
    assert rider.check is not None and not rider.check.ready
    first = rider.check
    assert rider.run(["echo", "two"]).stdout == "two\n"
    assert rider.check is first  # checked once
    assert inner.calls == 2


def test_status_takes_dockers_verdict_for_the_router_once_there_is_one() -> None:
    from labkit.lab.engine import Container
    from labkit.lab.lifecycle import Lab

    ran: list[str] = []

    class Counting(Lab):
        def check_service(self, service, found=None):  # type: ignore[no-untyped-def]
            ran.append(service)
            return ServiceCheck(service, "running", False, "checked now")

    lab = Counting()

    def router(health: str) -> dict[str, Container]:
        c = Container("id", "p-router-1", "p", "router", "running", health, "labkit/router:dev")
        return {"router": c}

    healthy = lab._checked_by_docker_or_now("router", router("healthy"))
    assert healthy.ready and "Docker" in healthy.detail and ran == []
    sick = lab._checked_by_docker_or_now("router", router("unhealthy"))
    assert not sick.ready and ran == []
    early = lab._checked_by_docker_or_now("router", router("starting"))  # no verdict yet
    assert early.detail == "checked now" and ran == ["router"]
