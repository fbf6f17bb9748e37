"""Hostile-but-fair input against the real lab: the learner is root on mx and may
edit labkit's own scenario record."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.lab

RECORD = "/etc/postfix/labkit-scenario.json"


@pytest.mark.parametrize(
    "content", ["{broken", '{"scenario": "made-up"}', '{"scenario": "' + "a" * 300 + '"}']
)
def test_a_hand_edited_scenario_record_is_reported_not_a_crash(lab, content):
    lab.scenario("fixed")
    r = lab.mx(f"printf '%s' {json.dumps(content)} > {RECORD}")
    assert r.exit_code == 0, r.stderr
    try:
        status = lab.cli("status")
        assert status.returncode == 0, status.stderr
        assert "Traceback" not in status.stderr
        text = " ".join(status.stdout.split())
        assert "edited by hand" in text and "labkit scenario apply" in text
        reset = lab.cli("reset")
        assert reset.returncode == 2 and "Traceback" not in reset.stderr
        assert "edited by hand" in reset.stderr and "labkit scenario apply blog" in reset.stderr
    finally:
        assert lab.cli("scenario", "apply", "fixed").returncode == 0
    assert lab.lab.current().pristine


def test_an_edited_file_list_is_never_read_from_outside_postfix(lab):
    lab.scenario("fixed")
    record = {"scenario": "fixed", "hashes": {"/dev/zero": "x"}}
    r = lab.mx(f"printf '%s' {json.dumps(json.dumps(record))} > {RECORD}")
    assert r.exit_code == 0, r.stderr
    try:
        status = lab.cli("status", timeout=60)  # reading /dev/zero would never end
        assert status.returncode == 0 and "edited by hand" in " ".join(status.stdout.split())
        reset = lab.cli("reset")
        assert reset.returncode == 0, reset.stderr  # the name is fine: reset restores it
    finally:
        lab.cli("scenario", "apply", "fixed")
    assert lab.lab.current().pristine
