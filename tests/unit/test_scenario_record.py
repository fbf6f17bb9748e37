"""The scenario record on mx is learner-editable (they are root there): it is read
defensively, and bad content is "edited by hand" with the way back, never a crash."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from labkit.cli.lab import _scenario_line
from labkit.lab.access import LabAccess, LocalZones
from labkit.lab.config import LabConfig
from labkit.lab.scenarios import SCENARIO_RECORD, content_hash
from labkit.lab.state import read_scenario_state
from labkit.transport import ExecResult, LocalTransport


class RootedTransport(LocalTransport):
    """Runs the real commands, with the server's absolute paths moved under ``root``."""

    description = "test mx"

    def __init__(self, root: Path) -> None:
        self.root = root

    def _wrap(self, argv: Sequence[str]) -> list[str]:
        return [str(self.root) + a if a.startswith("/etc/") else a for a in argv]

    def run(self, argv: Sequence[str], **kwargs: object) -> ExecResult:
        assert "/dev/" not in " ".join(argv), argv  # nothing outside the lab's files
        return super().run(argv, timeout=5)


@pytest.fixture
def lab(tmp_path: Path) -> tuple[LabAccess, Path]:
    root = tmp_path / "mx"
    (root / "etc" / "postfix").mkdir(parents=True)
    zones = tmp_path / "zones"
    zones.mkdir()
    access = LabAccess(LabConfig(), RootedTransport(root), LocalZones(zones, "127.0.0.1"), "test")
    return access, root


def _write_record(root: Path, content: str) -> None:
    (root / SCENARIO_RECORD.lstrip("/")).write_text(content)


def test_an_intact_record_and_an_edited_file(lab: tuple[LabAccess, Path]) -> None:
    access, root = lab
    main_cf = root / "etc" / "postfix" / "main.cf"
    main_cf.write_text("smtpd_tls_security_level = may\n")
    record = {
        "scenario": "blog",
        "applied_at": "2014-07-07T10:00:00+00:00",
        "hashes": {
            "/etc/postfix/main.cf": content_hash("/etc/postfix/main.cf", main_cf.read_text())
        },
    }
    _write_record(root, json.dumps(record))
    state = read_scenario_state(access, known=["blog", "fixed"])
    assert state.name == "blog" and state.pristine and state.problem is None
    main_cf.write_text("smtpd_tls_security_level = none\n")
    state = read_scenario_state(access, known=["blog", "fixed"])
    assert state.modified == ("/etc/postfix/main.cf",) and not state.pristine


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "not a JSON object"),
        ('"blog"', "not a JSON object"),
        ('{"scenario": 7}', "does not name a scenario"),
        ('{"scenario": "' + "a" * 300 + '"}', "does not name a scenario"),
        ('{"scenario": "../../etc"}', "does not name a scenario"),
        ('{"scenario": "made-up"}', "not a scenario"),
        ('{"scenario": "blog", "hashes": []}', "file list"),
        ('{"scenario": "blog", "hashes": {"/dev/zero": "x"}}', "file list"),
        ('{"scenario": "blog", "hashes": {"zones/../../x": "x"}}', "file list"),
        ('{"scenario": "blog", "hashes": {"/etc/postfix/main.cf": 5}}', "file list"),
        ("[" * 100000, "not valid JSON"),
    ],
)
def test_a_record_edited_by_hand_is_reported(
    lab: tuple[LabAccess, Path], content: str, fragment: str
) -> None:
    access, root = lab
    _write_record(root, content)
    state = read_scenario_state(access, known=["blog", "fixed"])
    assert state.problem is not None and fragment in state.problem
    assert SCENARIO_RECORD in state.problem
    assert not state.pristine
    line = _scenario_line(state)
    assert "edited by hand" in line
    assert ("labkit reset" in line) if state.name else ("labkit scenario apply" in line)


def test_no_record_means_no_scenario(lab: tuple[LabAccess, Path]) -> None:
    access, _ = lab
    state = read_scenario_state(access)
    assert state.name is None and state.problem is None
