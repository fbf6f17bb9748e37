"""Is the lab ready? Asked once while it starts, and when someone asks for its status.

Every lab image carries ``/usr/local/sbin/lab-health``, the one definition of "this
service works" (Postfix, Dovecot, sshd and rsyslog run on mx; NSD answers on dns;
JupyterLab accepts connections on the workstation). labkit runs it itself:

* while a lab starts, :func:`wait_ready` polls the services that are not ready yet
  (and whose own prerequisites are), quickly at first and then once a second, each
  poll first waiting for the container to say it is ready (:class:`AnnouncedCheck`:
  the image's ``lab-announce`` runs the check inside), and
  stops as soon as all pass, or fails fast when a container exits or keeps
  restarting, with what its check printed;
* ``labkit status`` runs it in mx, dns and the workstation, so the answer is fresh,
  in the same ``docker exec`` as whatever else status reads from that container
  (:class:`HealthRider`); for the router, which learners do not change, it uses
  Docker's last verdict.

Docker's ``HEALTHCHECK`` runs the same script, but only at monitoring pace (every two
minutes). A check is a ``docker exec``, which costs the daemon tens of milliseconds of
CPU; at the 2-second pace the images used to have, a dozen *idle* seats kept both cores
of a workshop machine busy. Docker Engine 20.10 has no ``start_interval`` that would
allow quick checks only while starting, so labkit does that part.

What runs the check is a callable (the Docker side lives in :mod:`labkit.lab.lifecycle`),
so the waiting logic here is tested without Docker.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

from labkit.errors import LabStateError
from labkit.transport import ExecResult, Transport

__all__ = [
    "ANNOUNCEMENT",
    "HEALTH_COMMAND",
    "AnnouncedCheck",
    "HealthRider",
    "ReadyReport",
    "ServiceCheck",
    "wait_ready",
]

#: The check every lab image provides (see the Dockerfiles' HEALTHCHECK).
HEALTH_COMMAND = ("/usr/local/sbin/lab-health",)

#: What a lab container prints once when its check first passes (``lab-announce``).
ANNOUNCEMENT = "labkit: ready"

#: Container states from which a service will not become ready without help.
_GIVEN_UP = frozenset({"exited", "dead", "restarting", "missing", "removing"})


@dataclass(frozen=True)
class ServiceCheck:
    """One look at one service: its container's state and what its check said."""

    service: str
    state: str  # the container's state: running, exited, restarting, missing, ...
    ready: bool
    detail: str = ""  # what lab-health printed, or why it could not run

    @property
    def health(self) -> str:
        """``healthy``, ``unhealthy`` (running, check fails) or ``none`` (not running)."""
        if self.state != "running":
            return "none"
        return "healthy" if self.ready else "unhealthy"


@dataclass(frozen=True)
class ReadyReport:
    """All services passed their check: how long it took and how many rounds."""

    checks: tuple[ServiceCheck, ...]
    elapsed: float
    rounds: int


Check = Callable[[str], ServiceCheck]

#: Runs the health check ($0), prints its exit code and output (each ended by a NUL),
#: then becomes the command it was given, whose output and exit code follow unchanged.
_HEALTH_THEN = 'out=$("$0" 2>&1); printf "%d\\0%s\\0" "$?" "$out"; exec "$@"'


class HealthRider:
    """A transport to one container whose first command carries the container's health
    check along, in the same exec; :attr:`check` then holds what the check said (None
    until something ran). Later commands run as they are.

    ``labkit status`` reads the scenario record from mx, the zones from dns and the
    routes from the workstation anyway; riding the checks on those reads halves the
    number of ``docker exec`` calls, which is most of what status costs."""

    def __init__(
        self, transport: Transport, service: str, *, health: str = HEALTH_COMMAND[0]
    ) -> None:
        self.inner = transport
        self.service = service
        self.health = health
        self.description = transport.description
        self.check: ServiceCheck | None = None
        self._lock = threading.Lock()

    def run(
        self, argv: Sequence[str], *, input: bytes | None = None, timeout: float = 15.0
    ) -> ExecResult:
        with self._lock:
            if self.check is not None:
                return self.inner.run(argv, input=input, timeout=timeout)
            both = self.inner.run(
                ["sh", "-c", _HEALTH_THEN, self.health, *argv], input=input, timeout=timeout
            )
            code, _, rest = both.stdout.partition("\0")
            said, found, stdout = rest.partition("\0")
            if not found or not code.isdigit():  # the shell itself failed
                self.check = ServiceCheck(
                    self.service, "running", False, (both.stdout + both.stderr).strip()
                )
                return replace(both, argv=tuple(argv))
            self.check = ServiceCheck(self.service, "running", code == "0", said.strip())
            return replace(both, argv=tuple(argv), stdout=stdout)


class AnnouncedCheck:
    """A :data:`Check` that asks a container only once it has said it is ready.

    Every lab image runs ``lab-announce`` at start: it runs the image's own check
    inside the container until it passes, then prints :data:`ANNOUNCEMENT`. Waiting
    for that line is a quiet log stream; asking with ``docker exec`` costs the daemon
    tens of milliseconds of CPU each time, and with forty seats starting at once the
    asking was half the machine's work. So ``announced(service, wait)`` waits up to
    ``wait`` seconds for the line (True: said; False: not yet; None: cannot tell, e.g.
    the container is not running or the daemon is reached through the SDK); only then,
    or when it cannot tell, does ``check`` run. A container that stays silent (an
    image from before this) is still checked every ``every`` seconds.
    """

    def __init__(
        self,
        check: Check,
        announced: Callable[[str, float], bool | None],
        *,
        wait: float = 1.0,
        every: float = 15.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.check = check
        self.announced = announced
        self.wait = wait
        self.every = every
        self.clock = clock
        self._asked: dict[str, float] = {}

    def __call__(self, service: str) -> ServiceCheck:
        said = self.announced(service, self.wait)
        now = self.clock()
        if said is False and now - self._asked.setdefault(service, now) < self.every:
            return ServiceCheck(service, "running", False, "starting: not ready yet")
        self._asked[service] = now
        return self.check(service)


def _pause(round_number: int) -> float:
    """0.1 s, 0.2 s, 0.4 s, 0.8 s, then every second: quick for a lab that is nearly
    there, and few ``docker exec`` calls for one that needs a while."""
    return float(min(0.1 * 2**round_number, 1.0))


def wait_ready(
    check: Check,
    services: Sequence[str],
    *,
    after: Mapping[str, Sequence[str]] | None = None,
    timeout: float = 180.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> ReadyReport:
    """Poll ``check`` for every service until all are ready, then return.

    ``after`` names, per service, the services it waits for itself (the workstation
    waits for mx's CA): it is not checked before those pass, which saves checks.
    Raises :class:`~labkit.errors.LabStateError` at once when a container has exited
    or is restarting, and after ``timeout`` seconds for services still not ready;
    the message names them and the advice carries what their checks printed.
    """
    started = clock()
    after = after or {}
    pending = list(services)
    passed: dict[str, ServiceCheck] = {}
    last: dict[str, ServiceCheck] = {}
    rounds = 0
    with ThreadPoolExecutor(max_workers=max(1, len(pending))) as pool:
        while pending:
            rounds += 1
            due = [s for s in pending if all(d in passed for d in after.get(s, ()))]
            for result in pool.map(check, due):
                last[result.service] = result
                if result.ready:
                    passed[result.service] = result
                elif result.state in _GIVEN_UP:
                    raise LabStateError(
                        f"The lab's {result.service} container is {result.state}, so the lab "
                        "cannot become ready.",
                        advice=_advice([result]),
                    )
            pending = [s for s in pending if s not in passed]
            if not pending:
                break
            if clock() - started > timeout:
                raise LabStateError(
                    f"The lab was not ready after {timeout:.0f} s: "
                    + ", ".join(pending)
                    + (" is" if len(pending) == 1 else " are")
                    + " not working yet.",
                    advice=_advice([last[s] for s in pending if s in last]),
                )
            sleep(_pause(rounds - 1))
    return ReadyReport(tuple(passed[s] for s in services), clock() - started, rounds)


def _advice(checks: Sequence[ServiceCheck]) -> str:
    said = "; ".join(f"{c.service}: {c.detail.strip() or c.state}" for c in checks)
    return (
        f"Its check said: {said}. Look at `labkit logs {checks[0].service}`; `labkit up` "
        "again retries, "
        "and `labkit down` then `labkit up` starts it afresh (your notebooks are kept)."
    )
