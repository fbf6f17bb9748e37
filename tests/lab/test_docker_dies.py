"""Docker dies while a learner's lab starts (issue 10: bad input).

labkit talks to the real daemon through a proxy socket (``DOCKER_HOST``) that the test
cuts, as a crashing daemon would cut its clients: once while Compose is still creating
the lab, once right after its containers exist (where the hub's spawner joins the
lab's network and the wait for health begins). Whatever the moment: ``up`` ends with a
clear error (no traceback, advice included) and no hang; the spawner's clean-up, tried
while Docker is still gone, fails clearly too; and once Docker is back, ``labkit hub
status`` shows the half-started lab and ``labkit hub down`` removes everything of it.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from labkit.errors import DockerUnavailableError
from labkit.hub.service import HubService
from labkit.lab.config import LabConfig
from labkit.lab.engine import DockerEngine
from labkit.lab.lifecycle import Lab
from labkit.testing.dockerproxy import DockerProxy

pytestmark = pytest.mark.lab

HUB = "labkit-hubdies"


def _leftovers(engine: DockerEngine, project: str) -> tuple[int, bool]:
    return len(engine.containers(project=project)), project in engine.network_projects()


@pytest.mark.parametrize("moment", ["while creating", "while waiting"])
def test_docker_dying_mid_spawn_leaves_a_clear_error_and_nothing_hub_down_misses(
    lab, tmp_path: Path, moment: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = DockerEngine()  # the test's own view of the daemon, not through the proxy
    project = f"{HUB}-ada" if moment == "while creating" else f"{HUB}-bob"
    prefix = "10.125.97" if moment == "while creating" else "10.125.96"
    config = LabConfig(project=project, net_prefix=prefix, image_tag=lab.config.image_tag)
    proxy = DockerProxy(tmp_path / "docker.sock")
    with proxy:
        monkeypatch.setenv("DOCKER_HOST", proxy.url)  # the SDK, labkit's socket, Compose
        seat = Lab(config, behind_hub=True)
        if moment == "while creating":
            # Cut as soon as Compose has made the first thing of this lab.
            def watch() -> None:
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline and not any(_leftovers(real, project)):
                    time.sleep(0.02)
                proxy.cut()

            threading.Thread(target=watch, daemon=True).start()
            started = None
        else:
            started = proxy.cut  # the containers exist: the wait for health begins

        began = time.monotonic()
        with pytest.raises(DockerUnavailableError) as died:
            seat.up("blog", build=False, started=started, timeout=120)
        took = time.monotonic() - began
        err = died.value
        assert took < 60, f"up took {took:.0f} s to notice that Docker was gone"
        said = err.describe()
        assert "Traceback" not in said and err.advice, said
        assert "Docker daemon" in said, said

        # The spawner cleans up at once; Docker is still gone: a clear error again.
        with pytest.raises(DockerUnavailableError) as cleanup:
            seat.down()
        assert cleanup.value.advice and "Traceback" not in cleanup.value.describe()
        monkeypatch.delenv("DOCKER_HOST")

    # Docker is back: the hub's own view shows the half-started lab, and removes it.
    assert any(_leftovers(real, project)), "nothing was started before the cut"
    hub = HubService(HUB)
    assert project in hub.status().labs
    hub.down(volumes=True)
    assert _leftovers(real, project) == (0, False)
