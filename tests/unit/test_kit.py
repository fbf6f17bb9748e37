"""The offline kit without pip or Docker: what it holds, how it is checked, and the
install script's shape. benchmarks/bench_bundle.py makes a real kit and installs it
in a new venv with no package index."""

from __future__ import annotations

import json
import subprocess
import tarfile
from pathlib import Path

import pytest

from labkit.errors import UsageError
from labkit.lab.kit import check_kit, install_script, make_kit, source_files


@pytest.fixture
def home(tmp_path: Path) -> Path:
    root = tmp_path / "checkout"
    for rel, text in {
        "lab/docker-compose.yml": "services: {}\n",
        "labkit/__init__.py": "",
        "notebooks/00-welcome.ipynb": "{}",
        "labkit/__pycache__/x.cpython-311.pyc": "junk",
        ".ipynb_checkpoints/a.ipynb": "junk",
        "labkit.egg-info/PKG-INFO": "junk",
    }.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def fake_pip(args: list[str], say) -> None:
    wheels = Path(args[args.index("--wheel-dir") + 1])
    wheels.mkdir(parents=True)
    assert "setuptools>=68" in args and "wheel" in args  # what builds labkit offline
    (wheels / "labkit-0.1.0-py3-none-any.whl").write_bytes(b"PK fake wheel")


def _kit(home: Path, tmp_path: Path, images: bool = True) -> Path:
    folder = tmp_path / "kit"

    def export(path: Path) -> None:
        path.write_bytes(b"images" * 1000)

    make_kit(home, folder, export_images=export if images else None, pip=fake_pip)
    return folder


def test_source_files_leave_out_caches(home):
    names = {str(p.relative_to(home)) for p in source_files(home)}
    assert names == {"lab/docker-compose.yml", "labkit/__init__.py", "notebooks/00-welcome.ipynb"}


def test_a_kit_holds_sources_wheels_images_script_and_its_manifest(home, tmp_path):
    kit = _kit(home, tmp_path)
    manifest = json.loads((kit / "kit.json").read_text())
    listed = {f["path"] for f in manifest["files"]}
    assert listed == {
        "labkit-src.tar.gz",
        "wheels/labkit-0.1.0-py3-none-any.whl",
        "images.tar.zst",
        "install.sh",
    }
    with tarfile.open(kit / "labkit-src.tar.gz") as tar:
        assert "lab/docker-compose.yml" in tar.getnames()
    assert len(check_kit(kit)) == 4


def test_a_kit_is_written_into_a_new_or_empty_folder_only(home, tmp_path):
    (tmp_path / "kit").mkdir()
    (tmp_path / "kit" / "mine.txt").write_text("do not mix")
    with pytest.raises(UsageError, match="not an empty folder"):
        make_kit(home, tmp_path / "kit", export_images=None, pip=fake_pip)


@pytest.mark.parametrize(
    ("damage", "says"),
    [
        (lambda kit: (kit / "images.tar.zst").unlink(), "images.tar.zst (missing)"),
        (
            lambda kit: (kit / "images.tar.zst").write_bytes(b"images" * 500),
            "images.tar.zst (changed or cut short)",
        ),
        (lambda kit: (kit / "kit.json").unlink(), "no kit.json"),
        (lambda kit: (kit / "kit.json").write_text("{not json"), "unreadable"),
    ],
)
def test_a_kit_copied_in_part_says_what_is_wrong(home, tmp_path, damage, says):
    kit = _kit(home, tmp_path)
    damage(kit)
    with pytest.raises(UsageError, match=says.replace("(", r"\(").replace(")", r"\)")):
        check_kit(kit)


def test_a_manifest_cannot_point_outside_the_kit(home, tmp_path):
    kit = _kit(home, tmp_path, images=False)
    manifest = json.loads((kit / "kit.json").read_text())
    manifest["files"].append({"path": "../../etc/passwd", "size": 1, "sha256": "0"})
    (kit / "kit.json").write_text(json.dumps(manifest))
    with pytest.raises(UsageError, match="outside the kit"):
        check_kit(kit)


def test_install_script_is_valid_sh_and_never_asks_an_index():
    script = install_script()
    assert subprocess.run(["sh", "-n"], input=script, text=True).returncode == 0
    pip_lines = [line for line in script.splitlines() if "pip install" in line]
    assert pip_lines and all("--no-index" in line for line in pip_lines)
    assert "labkit bundle install" in script
