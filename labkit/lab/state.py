"""The lab's scenario state: put Postfix and DNS into a scenario, and read back which
scenario the lab is in and which of its files a learner changed.

Everything here goes through a :class:`~labkit.lab.access.LabAccess`, so it works the
same from the host (``docker exec``) and from the workstation (SSH and the zones
folder). :class:`~labkit.lab.lifecycle.Lab` offers it as ``apply``, ``ensure``,
``reset`` and ``current``.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from labkit.errors import LabStateError
from labkit.lab.access import LabAccess
from labkit.lab.scenarios import INET_SERVICES, SCENARIO_RECORD, RenderedScenario, content_hash
from labkit.lab.tarball import tar_files
from labkit.transport import Transport, parse_ss_listening

__all__ = [
    "ApplyResult",
    "ScenarioState",
    "ScenarioSwitch",
    "apply_rendered",
    "MAX_RECORDED_FILES",
    "read_scenario_state",
    "wait_listeners",
]


@dataclass(frozen=True)
class ScenarioState:
    """Which scenario the lab was last put in, and which of its files were edited since."""

    name: str | None
    applied_at: str | None
    modified: tuple[str, ...] = ()
    #: Set when the record itself was edited by hand: what is wrong with it.
    problem: str | None = None

    @property
    def pristine(self) -> bool:
        return self.name is not None and not self.modified and self.problem is None

    @property
    def edited_files(self) -> str:
        """The learner's edits as a short list for a message: `` `main.cf`, `x.zone` ``."""
        return files_text(self.modified)


def files_text(paths: Iterable[str]) -> str:
    """Paths as a short markdown list (zone files without their ``zones/`` prefix)."""
    return ", ".join(f"`{p.removeprefix('zones/')}`" for p in paths)


@dataclass(frozen=True)
class ApplyResult:
    scenario: str
    elapsed: float
    steps: dict[str, float] = field(default_factory=dict)
    ports: tuple[int, ...] = ()
    messages: tuple[str, ...] = ()
    #: Set when applying also repaired the laptop's route (``labkit reset``).
    network: str | None = None


@dataclass(frozen=True)
class ScenarioSwitch:
    """What :meth:`Lab.ensure` did: ``applied`` (switched, or set up again), ``kept``
    (already in it; ``previous.modified`` lists the learner's edits, kept) or
    ``blocked`` (another scenario holds edits; nothing changed)."""

    scenario: str
    title: str
    action: Literal["applied", "kept", "blocked"]
    previous: ScenarioState
    applied: ApplyResult | None = None


#: Unpack the scenario's files, check and reload Postfix (lab-apply waits for the old
#: smtpd processes to go), then list what listens: one exec on mx.
_APPLY = "tar -x -o -C / -f - && /usr/local/sbin/lab-apply && printf '\\0' && ss -ltnH"


def apply_rendered(access: LabAccess, rendered: RenderedScenario) -> ApplyResult:
    """Put mx and the DNS server into ``rendered`` at the same time, then make sure
    Postfix listens on exactly the scenario's ports."""
    started = time.monotonic()
    steps: dict[str, float] = {}
    scenario = rendered.scenario
    record = {
        "scenario": scenario.name,
        "applied_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "serial": rendered.serial,
        "hashes": dict(rendered.hashes),
    }
    files = dict(rendered.postfix_files)
    files[SCENARIO_RECORD] = json.dumps(record, indent=2) + "\n"

    def load_zones() -> None:
        access.load_zones(dict(rendered.zone_files), rendered.serial)
        steps["dns"] = time.monotonic() - started

    def load_path() -> None:
        if access.router is not None:
            apply_path(access.router, rendered.router_rules)
            steps["path"] = time.monotonic() - started

    with ThreadPoolExecutor(max_workers=2) as pool:
        dns = pool.submit(load_zones)
        path = pool.submit(load_path)
        result = access.mx.run(
            ["sh", "-c", _APPLY],
            # Backdated: Postfix waits ~2 s before reading a config file modified within
            # the last second or two, which would make every scenario switch that slow.
            input=tar_files(files, backdate=10),
            timeout=30,
        )
        steps["postfix"] = time.monotonic() - started
        dns.result()
        path.result()
    if not result.ok:
        raise LabStateError(
            f"Postfix rejected scenario {scenario.name} (exit {result.exit_code}).",
            advice=(result.stdout + result.stderr).strip()[-600:] or "See /var/log/mail.log on mx.",
        )
    output, _, listening = result.stdout.partition("\0")
    t = time.monotonic()
    seen = {sock.port for sock in parse_ss_listening(listening)}
    ports = wait_listeners(access, scenario.expect_ports, seen=seen)
    steps["listeners"] = time.monotonic() - t
    messages = tuple(ln for ln in output.splitlines() if ln.strip())
    return ApplyResult(scenario.name, time.monotonic() - started, steps, ports, messages)


def apply_path(router: Transport, rules: str) -> None:
    """Load the router's nftables table for a scenario's [path] (``lab-path apply``)."""
    result = router.run(["lab-path", "apply"], input=rules.encode(), timeout=15)
    if not result.ok:
        raise LabStateError(
            f"The router rejected the path rules (exit {result.exit_code}).",
            advice=(result.stdout + result.stderr).strip()[-600:]
            or "Look at `labkit logs router`; `labkit reset` on the host restarts it.",
        )


def listening_ports(access: LabAccess) -> set[int]:
    return {sock.port for sock in parse_ss_listening(access.mx.run(["ss", "-ltnH"]).stdout)}


def wait_listeners(
    access: LabAccess,
    expect: tuple[int, ...],
    timeout: float = 10.0,
    *,
    seen: set[int] | None = None,
) -> tuple[int, ...]:
    """Wait until exactly the expected SMTP ports listen (master reloads asynchronously).
    ``seen``: the ports a listing just made showed, to start from."""
    smtp_ports = set(INET_SERVICES.values())
    started = time.monotonic()
    while True:
        now = (listening_ports(access) if seen is None else seen) & smtp_ports
        seen = None
        if now == set(expect):
            return tuple(sorted(now))
        if time.monotonic() - started > timeout:
            raise LabStateError(
                f"After applying the scenario, Postfix listens on {sorted(now)} instead of "
                f"{sorted(expect)}.",
                advice="Look at `labkit logs mx` and /var/log/mail.log on mx.",
            )
        time.sleep(0.05)


#: The record lists the files a scenario writes; more than this was not written by labkit.
MAX_RECORDED_FILES = 64
_RECORD_NAME = "labkit-scenario.json"
_ZONE_FILE_RE = re.compile(r"zones/[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_POSTFIX_FILE_RE = re.compile(r"/etc/postfix/[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
#: Prints each file named as an argument after a NUL (a lone \1 when it cannot be read),
#: at most 1 MiB of each: every file of a scenario in one exec.
_CAT_FILES = "for f; do printf '\\0'; head -c 1048576 \"$f\" || printf '\\1'; done"


def _edited(why: str) -> ScenarioState:
    """A scenario record the learner changed by hand (they are root on mx)."""
    return ScenarioState(None, None, (_RECORD_NAME,), problem=f"{SCENARIO_RECORD} {why}")


def read_scenario_state(access: LabAccess, known: Iterable[str] | None = None) -> ScenarioState:
    """Which scenario the record on mx names, and which of its files changed since.

    The learner is root on mx, so the record is read like any untrusted input: bad
    JSON, a wrong shape, an unknown scenario name (``known``) or a file list that is
    not labkit's gives a state whose ``problem`` says it was edited by hand, never an
    exception. Only files a scenario can write are read back: the record, then all its
    Postfix files in one exec on mx, while the zones are read at the same time.
    """
    with ThreadPoolExecutor(max_workers=1) as pool:
        zones_future = pool.submit(access.zones.read_all)
        state = _read_state(access, known, zones_future)
        zones_future.cancel()
    return state


#: The Postfix files every scenario writes (see :func:`labkit.lab.scenarios.render`),
#: read in the same exec as the record; others a record lists cost a second exec.
POSTFIX_FILES = ("/etc/postfix/main.cf", "/etc/postfix/master.cf")


def _cat(mx: Transport, paths: Sequence[str]) -> list[str | None]:
    """The text of each path (None where it cannot be read), in one exec."""
    got = mx.run(["sh", "-c", _CAT_FILES, "sh", *paths])
    parts: list[str | None] = list(got.stdout.split("\0")[1:]) if got.ok else []
    parts += [None] * (len(paths) - len(parts))
    return [None if text is None or text == "\1" else text for text in parts[: len(paths)]]


def _read_state(
    access: LabAccess, known: Iterable[str] | None, zones: Future[dict[str, str]]
) -> ScenarioState:
    first = _cat(access.mx, [SCENARIO_RECORD, *POSTFIX_FILES])
    if first[0] is None:
        return ScenarioState(None, None)
    try:
        record = json.loads(first[0][:65536])
    except (ValueError, RecursionError):
        return _edited("is not valid JSON")
    if not isinstance(record, dict):
        return _edited("is not a JSON object")
    name = record.get("scenario")
    if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,63}", name):
        return _edited("does not name a scenario")
    if known is not None and name not in set(known):
        return _edited(f"names {name!r}, which is not a scenario")
    applied_at = record.get("applied_at")
    hashes = record.get("hashes", {})
    if (
        not isinstance(hashes, dict)
        or len(hashes) > MAX_RECORDED_FILES
        or not all(
            isinstance(path, str)
            and isinstance(digest, str)
            and (_ZONE_FILE_RE.fullmatch(path) or _POSTFIX_FILE_RE.fullmatch(path))
            for path, digest in hashes.items()
        )
    ):
        return ScenarioState(
            name,
            None,
            (_RECORD_NAME,),
            problem=f"{SCENARIO_RECORD} has a file list labkit did not write",
        )
    texts: dict[str, str | None] = dict(zip(POSTFIX_FILES, first[1:], strict=True))
    others = [p for p in hashes if not p.startswith("zones/") and p not in texts]
    if others:
        texts.update(zip(others, _cat(access.mx, others), strict=True))
    zone_texts = zones.result()
    modified = []
    for path, expected in hashes.items():
        if path.startswith("zones/"):
            text = zone_texts.get(path.split("/", 1)[1])
        else:
            text = texts.get(path)
        if text is None or content_hash(path, text) != expected:
            modified.append(path)
    return ScenarioState(name, applied_at if isinstance(applied_at, str) else None, tuple(modified))
