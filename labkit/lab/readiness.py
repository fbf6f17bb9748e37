"""Is the lab ready? Asked once while it starts, and when someone asks for its status.

Every lab image carries ``/usr/local/sbin/lab-health``, the one definition of "this
service works" (Postfix, Dovecot, sshd and rsyslog run on mx; NSD answers on dns;
JupyterLab accepts connections on the workstation). labkit runs it itself:

* while a lab starts, :func:`wait_ready` polls the services that are not ready yet
  (and whose own prerequisites are), quickly at first and then once a second, and
  stops as soon as all pass, or fails fast when a container exits or keeps
  restarting, with what its check printed;
* ``labkit status`` runs it once per service, so the answer is fresh.

Docker's ``HEALTHCHECK`` runs the same script, but only at monitoring pace (every
two minutes). A check is a ``docker exec``, which costs the daemon tens of
milliseconds of CPU; at the 2-second pace the images used to have, a dozen *idle*
seats kept both cores of a workshop machine busy. Docker Engine 20.10 has no
``start_interval`` that would allow quick checks only while starting, so labkit
does that part.

What runs the check is a callable (the Docker side lives in :mod:`labkit.lab.lifecycle`),
so the waiting logic here is tested without Docker.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from labkit.errors import LabStateError

__all__ = ["HEALTH_COMMAND", "ReadyReport", "ServiceCheck", "wait_ready"]

#: The check every lab image provides (see the Dockerfiles' HEALTHCHECK).
HEALTH_COMMAND = ("/usr/local/sbin/lab-health",)

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
