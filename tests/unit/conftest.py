"""Unit tests run against real servers on 127.0.0.1 (labkit.testing), never the network.

The fixtures ship in the package (``labkit.testing.fixtures``) so that anyone testing
against labkit gets the same servers; they are imported here to register them.
"""

import pytest  # noqa: E402

from labkit.testing.fixtures import (  # noqa: F401  (fixtures register by name)
    blackhole,
    blog_dns,
    certs,
    closed,
    fake_bin,
    fixed_dns,
    serve,
)

#: Unit tests never start Docker work: every Docker client in a unit test, the SDK and
#: the ``docker`` CLI in subprocesses alike, talks to a socket that does not exist, so a
#: test that tried would fail at once with labkit's "cannot talk to the Docker daemon".
NO_DOCKER = "unix:///nonexistent/labkit-unit-tests/docker.sock"


@pytest.fixture(autouse=True)
def _no_docker_in_unit_tests(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", NO_DOCKER)
    monkeypatch.setenv("LABKIT_LOCAL", "1")  # the CLI never delegates to a running lab
