"""Image bundles against the real daemon: what `labkit images export` writes, `labkit
images import` brings back, the same images by ID, through a file and through a pipe.

The lab's images are handled under a tag of the test's own, so removing them touches
no running lab; a tiny image of the test's own shows a real delete-and-restore."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
from pathlib import Path

import pytest

from labkit.lab.bundle import BundleImage, export_images, import_images
from labkit.lab.config import LabConfig
from labkit.lab.engine import DockerEngine
from labkit.lab.images import SERVICES
from labkit.lab.lifecycle import Lab

pytestmark = pytest.mark.lab


def _docker(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=120)


@pytest.fixture
def own_tag(lab):
    """The test lab's (current) images, also tagged with a tag of this test's own."""
    tag = f"bundle-test-{os.getpid()}"
    for svc in SERVICES:
        assert (
            _docker("tag", f"labkit/{svc}:{lab.config.image_tag}", f"labkit/{svc}:{tag}").returncode
            == 0
        )
    yield tag
    for svc in SERVICES:
        _docker("rmi", f"labkit/{svc}:{tag}")


def _labkit(*args: str, tag: str, stdin=None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, LABKIT_IMAGE_TAG=tag)
    return subprocess.run(
        ["labkit", *args], capture_output=True, text=True, env=env, timeout=600, stdin=stdin
    )


def test_export_then_import_through_a_pipe_gives_back_the_same_images(own_tag, tmp_path):
    engine = DockerEngine()
    names = [f"labkit/{svc}:{own_tag}" for svc in SERVICES]
    ids = {name: engine.image_id(name) for name in names}
    bundle = tmp_path / "lab.tar.zst"

    out = _labkit("images", "export", "-o", str(bundle), "--json", tag=own_tag)
    assert out.returncode == 0, out.stderr
    exported = json.loads(out.stdout)
    assert [i["name"] for i in exported["manifest"]["images"]] == names
    assert {i["name"]: i["id"] for i in exported["manifest"]["images"]} == ids
    assert exported["file_bytes"] == bundle.stat().st_size < exported["archive_bytes"]

    shown = _labkit("images", "show", str(bundle), "--json", tag=own_tag)
    assert (
        shown.returncode == 0
        and json.loads(shown.stdout)["images"] == exported["manifest"]["images"]
    )

    for name in names:
        assert _docker("rmi", name).returncode == 0
    assert Lab(LabConfig.from_env(image_tag=own_tag)).missing_images() == list(SERVICES)

    with bundle.open("rb") as pipe:
        back = _labkit("images", "import", "-", "--json", tag=own_tag, stdin=pipe)
    assert back.returncode == 0, back.stderr
    assert json.loads(back.stdout)["outdated"] == []
    assert {name: engine.image_id(name) for name in names} == ids
    # what `labkit up` checks before building: nothing to build
    assert Lab(LabConfig.from_env(image_tag=own_tag)).missing_images() == []


def test_a_deleted_image_comes_back_from_the_bundle(lab, tmp_path):
    # An image of the test's own, so deleting it deletes its layers too.
    root = tmp_path / "tree"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "token").write_text(secrets.token_hex(16))
    name = f"labkit/bundle-probe:{secrets.token_hex(4)}"
    engine = DockerEngine()
    engine.import_tree(root, name)
    image_id = engine.image_id(name)
    assert image_id is not None
    bundle = tmp_path / "probe.tar.zst"
    try:
        export_images(engine, [BundleImage(name, image_id, None)], bundle, labkit_version="t")
        engine.remove_image(name)
        assert (
            engine.image_id(name) is None and _docker("image", "inspect", image_id).returncode != 0
        )
        result = import_images(engine, bundle)
        assert result.loaded == (name,)
        assert engine.image_id(name) == image_id
    finally:
        engine.remove_image(name)


def test_import_of_a_cut_file_is_a_clear_error_and_loads_nothing(lab, tmp_path):
    cut = tmp_path / "cut.tar.zst"
    root = tmp_path / "tree"
    root.mkdir()
    (root / "data").write_bytes(secrets.token_bytes(200_000))  # incompressible
    name = f"labkit/bundle-probe:{secrets.token_hex(4)}"
    engine = DockerEngine()
    engine.import_tree(root, name)
    try:
        image_id = engine.image_id(name)
        assert image_id is not None
        whole = tmp_path / "whole.tar.zst"
        export_images(engine, [BundleImage(name, image_id, None)], whole, labkit_version="t")
        cut.write_bytes(whole.read_bytes()[: whole.stat().st_size * 2 // 3])
    finally:
        engine.remove_image(name)
    out = _labkit("images", "import", str(cut), tag="unused")
    assert out.returncode == 2, out.stderr
    said = " ".join(out.stderr.split())  # rich wraps lines
    assert "cut short" in said and "Traceback" not in said
    assert engine.image_id(name) is None
    assert Path(cut).exists()  # never moved or removed
