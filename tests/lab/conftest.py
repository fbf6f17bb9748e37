"""One real lab for the whole test session, beside (never instead of) a learner's lab.

It runs under its own Compose project (``labkit-test``), network prefix and a free
JupyterLab port, so it neither collides with a lab that is up nor tears it down.
Set ``LABKIT_KEEP_TEST_LAB=1`` to leave it running after the tests for a look.
Where Docker is missing the lab tests are skipped, except in CI (``CI=true``), where a
missing lab is a failure.
"""

from __future__ import annotations

import os
import shlex
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from labkit.errors import LabkitError
from labkit.lab.config import LabConfig
from labkit.lab.lifecycle import Lab
from labkit.transport import ExecResult

TEST_PROJECT = os.environ.get("LABKIT_TEST_PROJECT", "labkit-test")
TEST_PREFIX = os.environ.get("LABKIT_TEST_NET_PREFIX", "10.125.99")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LabHandle:
    lab: Lab
    config: LabConfig

    def _exec(self, service: str, cmd: str, user: str | None, timeout: float) -> ExecResult:
        container = self.lab.containers()[service]
        argv = [
            "docker",
            "exec",
            *(["-u", user] if user else []),
            container.name,
            "bash",
            "-lc",
            cmd,
        ]
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        return ExecResult(tuple(argv), proc.returncode, proc.stdout, proc.stderr, 0.0)

    def ws(self, cmd: str, timeout: float = 60) -> ExecResult:
        """Run a shell command on the workstation as the learner."""
        return self._exec("workstation", cmd, "learner", timeout)

    def mx(self, cmd: str, timeout: float = 60) -> ExecResult:
        """Run a shell command on the mail server as root (the inside view)."""
        return self._exec("mx", cmd, None, timeout)

    def scenario(self, name: str, network: str = "cafe") -> None:
        """Put the lab in scenario ``name`` (pristine), the laptop on ``network``."""
        state = self.lab.current()
        if state.name != name or state.modified:
            self.lab.apply(name)
        self.net(network)

    def net(self, name: str) -> None:
        if self.lab.network().name != name:
            self.lab.use_network(name)

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        env = dict(
            os.environ,
            LABKIT_PROJECT=self.config.project,
            LABKIT_NET_PREFIX=self.config.net_prefix,
            LABKIT_JUPYTER_PORT=str(self.config.jupyter_port),
        )
        return subprocess.run(
            ["labkit", *args], capture_output=True, text=True, env=env, timeout=timeout
        )


@pytest.fixture(scope="session")
def lab() -> Iterator[LabHandle]:
    config = LabConfig.from_env(
        project=TEST_PROJECT, net_prefix=TEST_PREFIX, jupyter_port=_free_port()
    )
    try:
        handle = LabHandle(Lab(config), config)
        handle.lab.build()
        existing = handle.lab.containers().get("workstation")
        if existing is not None and not os.environ.get("LABKIT_KEEP_TEST_LAB"):
            # A test lab left behind (a killed run, or one still going): its volumes hold
            # another run's progress and edits, so this run starts from a pristine lab.
            handle.lab.down(volumes=True)
            existing = None
        if existing is not None:  # kept on purpose (LABKIT_KEEP_TEST_LAB): reuse its port
            published = existing.port(8888)
            if published is not None:
                config = LabConfig.from_env(
                    project=TEST_PROJECT, net_prefix=TEST_PREFIX, jupyter_port=published.host_port
                )
                handle = LabHandle(Lab(config), config)
        handle.lab.up("fixed")
    except LabkitError as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"the lab cannot run here: {exc.describe()}")
    yield handle
    if not os.environ.get("LABKIT_KEEP_TEST_LAB"):
        handle.lab.down(volumes=True)


def q(s: str) -> str:
    return shlex.quote(s)
