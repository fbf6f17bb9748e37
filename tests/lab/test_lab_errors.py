"""Lab CLI errors that need a real Docker daemon (moved from the unit tests, which
never start Docker work): a taken JupyterLab port, a failing image build."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.lab

REPO = Path(__file__).resolve().parents[2]


def run(*args: str, env: dict[str, str], cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["labkit", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        cwd=cwd,
        timeout=300,
    )


def assert_clean_error(proc: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr + proc.stdout
    for needle in needles:
        assert needle in proc.stderr, proc.stderr


def test_port_in_use_suggests_another(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        proc = run("up", "--port", str(port), env={"LABKIT_PROJECT": "labkit-porttest"})
    assert_clean_error(proc, f"Port {port} on 127.0.0.1 is already in use", "--port")


def test_build_failure_names_the_failing_step(tmp_path):
    home = tmp_path / "checkout"
    shutil.copytree(REPO / "lab", home / "lab")
    dockerfile = home / "lab" / "images" / "dns" / "Dockerfile"
    dockerfile.write_text(
        dockerfile.read_text().replace(
            "COPY images/dns/lab-dns-init",
            "RUN echo this step breaks && false\nCOPY images/dns/lab-dns-init",
        )
    )
    proc = run(
        "build",
        "dns",
        env={
            "LABKIT_HOME": str(home),
            "LABKIT_PROJECT": "labkit-buildfail",
            "LABKIT_IMAGE_TAG": "buildfail",
        },
        cwd=tmp_path,
    )
    assert_clean_error(proc, "The image build failed at:", "this step breaks")
