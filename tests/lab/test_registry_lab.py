"""The lab's images through a private registry (issue 11: images reach every node).

A real registry (Debian's docker-registry, the registry ``registry:2`` runs) in a
container on 127.0.0.1, where Docker allows plain HTTP. ``labkit images push`` sends
the test lab's images there; after the registry's names are removed locally, ``labkit
images pull`` fetches them again and names them as ``labkit up`` expects, with the same
image IDs. A registry that does not answer is a clear error.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from labkit.lab import images
from labkit.lab.engine import DockerEngine

pytestmark = pytest.mark.lab

REPO = Path(__file__).resolve().parents[2]
REGISTRY_IMAGE = "labkit-test/registry:dev"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _docker(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def registry(lab) -> Iterator[str]:
    base = images.resolve_base_image(DockerEngine())
    built = _docker(
        "build",
        "-q",
        "-t",
        REGISTRY_IMAGE,
        "--build-arg",
        f"BASE_IMAGE={base}",
        str(REPO / "tests" / "data" / "registry"),
    )
    assert built.returncode == 0, built.stderr[-2000:]
    port = _free_port()
    name = f"labkit-test-registry-{port}"
    run = _docker(
        "run", "-d", "--rm", "--name", name, "-p", f"127.0.0.1:{port}:5000", REGISTRY_IMAGE
    )
    assert run.returncode == 0, run.stderr
    address = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://{address}/v2/", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield address
    finally:
        _docker("rm", "-f", name)
        for svc in images.SERVICES:
            _docker("rmi", f"{address}/labkit/{svc}:{lab.config.image_tag}")


def _labkit(lab, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "COLUMNS": "200",  # one error per line, whatever the terminal
        "LABKIT_PROJECT": lab.config.project,
        "LABKIT_IMAGE_TAG": lab.config.image_tag,
    }
    return subprocess.run(["labkit", *args], capture_output=True, text=True, env=env, timeout=900)


def test_push_then_pull_through_a_registry_gives_the_same_images(lab, registry) -> None:
    tag = lab.config.image_tag
    originals = {svc: DockerEngine().image_id(f"labkit/{svc}:{tag}") for svc in images.SERVICES}
    assert all(originals.values())

    pushed = _labkit(lab, "images", "push", "--registry", registry, "--json")
    assert pushed.returncode == 0, pushed.stderr
    result = json.loads(pushed.stdout)
    assert {i["local"] for i in result["images"]} == {f"labkit/{s}:{tag}" for s in images.SERVICES}
    with urllib.request.urlopen(f"http://{registry}/v2/_catalog", timeout=5) as answer:
        catalog = json.load(answer)["repositories"]
    assert {f"labkit/{s}" for s in images.SERVICES} <= set(catalog)

    # Forget the registry's names here: the pull must really fetch them.
    for svc in images.SERVICES:
        assert _docker("rmi", f"{registry}/labkit/{svc}:{tag}").returncode == 0
    pulled = _labkit(lab, "images", "pull", "--registry", registry, "--json")
    assert pulled.returncode == 0, pulled.stderr
    got = json.loads(pulled.stdout)
    assert got["outdated"] == []
    for image in got["images"]:
        svc = image["local"].split("/")[1].split(":")[0]
        assert image["image_id"] == originals[svc]
        assert DockerEngine().image_id(image["remote"]) == originals[svc]
        assert DockerEngine().image_id(image["local"]) == originals[svc]


def test_a_registry_that_does_not_answer_is_a_clear_error(lab) -> None:
    nobody = f"127.0.0.1:{_free_port()}"
    proc = _labkit(lab, "images", "pull", "--registry", nobody)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    assert "Pulling 127.0.0.1" in proc.stderr and "what to do" in proc.stderr, proc.stderr
