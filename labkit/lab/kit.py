"""The offline kit: everything a machine with no network needs to run the lab.

``labkit bundle -o DIR`` writes, on a machine that has the images and reaches a
package index::

    DIR/labkit-src.tar.gz   this checkout (lab/, notebooks/, labkit/, ...)
    DIR/wheels/             labkit and every Python package it needs, as wheels
    DIR/images.tar.zst      the lab's images (see :mod:`labkit.lab.bundle`)
    DIR/install.sh          the one command to run on the other machine
    DIR/kit.json            what is in the kit, with each file's size and sha256

On the machine with no network, ``sh DIR/install.sh [TARGET]`` unpacks the sources
into TARGET (default ``./labkit``), installs labkit from the wheels with pip's
``--no-index`` (nothing is fetched), then runs ``labkit bundle install DIR``, which
checks the kit's files and imports the images. ``labkit up`` then starts the lab
without building anything.
"""

from __future__ import annotations

import hashlib
import json
import shlex
import shutil
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from labkit.errors import SetupError, UsageError

__all__ = ["KitFile", "KitResult", "check_kit", "install_script", "make_kit", "source_files"]

KIT_FORMAT = "labkit-kit/1"
SOURCE_NAME = "labkit-src.tar.gz"
IMAGES_NAME = "images.tar.zst"
WHEELS_DIR = "wheels"
_SKIP_PARTS = {
    ".git",
    "__pycache__",
    ".ipynb_checkpoints",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    "build",
    "test-artifacts",
}

Say = Callable[[str], None]


@dataclass(frozen=True)
class KitFile:
    path: str  # relative to the kit folder
    size: int
    sha256: str


@dataclass(frozen=True)
class KitResult:
    folder: Path
    files: tuple[KitFile, ...]
    seconds: float

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)


def source_files(home: Path) -> list[Path]:
    """The checkout's files: git's list when it is a git checkout, else a clean walk."""
    if (home / ".git").exists() and shutil.which("git"):
        listed = subprocess.run(
            [
                "git",
                "-C",
                str(home),
                "ls-files",
                "-z",
                "--cached",
                "--others",
                "--exclude-standard",
            ],
            capture_output=True,
            timeout=60,
        )
        if listed.returncode == 0:
            names = [n for n in listed.stdout.decode().split("\0") if n]
            return sorted(home / n for n in names if (home / n).is_file())
    found = []
    for path in sorted(home.rglob("*")):
        rel = path.relative_to(home)
        if (
            path.is_file()
            and not _SKIP_PARTS & set(rel.parts)
            and not rel.name.endswith((".pyc", ".egg-info"))
            and not any(p.endswith(".egg-info") for p in rel.parts)
        ):
            found.append(path)
    return found


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def install_script() -> str:
    """install.sh: POSIX sh, for a machine with Python 3.11+ and Docker but no network."""
    return """#!/bin/sh
# Set up labkit from this kit on a machine with no network (see kit.json).
# Usage: sh install.sh [TARGET]   (TARGET: where the sources go; default ./labkit)
set -eu
kit=$(cd "$(dirname "$0")" && pwd)
target=${1:-labkit}
python=${PYTHON:-python3}
mkdir -p "$target"
tar -xzf "$kit/labkit-src.tar.gz" -C "$target"
# --no-index: pip fetches nothing; every package (and what builds labkit) comes from
# the kit's wheels.
PIP_NO_INDEX=1 "$python" -m pip install --no-index --find-links "$kit/wheels" -e "$target"
cd "$target"
"$python" -m labkit bundle install "$kit"
echo "Ready: cd $target && labkit up"
"""


def _write_sources(home: Path, out: Path) -> None:
    with tarfile.open(out, "w:gz") as tar:
        for path in source_files(home):
            tar.add(path, arcname=str(path.relative_to(home)), recursive=False)


def _pip(args: list[str], say: Say) -> None:
    argv = [sys.executable, "-m", "pip", *args]
    say("$ " + shlex.join(["pip", *args]))
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode != 0:
        raise SetupError(
            f"pip could not make the wheels (exit {done.returncode}).",
            advice=(done.stderr or done.stdout).strip()[-800:]
            + "\nThe kit is made on a machine that reaches a package index.",
        )


def make_kit(
    home: Path,
    folder: Path,
    *,
    export_images: Callable[[Path], object] | None,
    say: Say = lambda _m: None,
    pip: Callable[[list[str], Say], None] = _pip,
) -> KitResult:
    """Write the offline kit into ``folder`` (created; must be empty if it exists).

    ``export_images`` writes the image bundle to the path it is given (None: a kit
    without images, for machines that build them). ``pip`` runs pip with the given
    arguments (the wheels need a package index: the kit is made where there is one)."""
    started = time.monotonic()
    folder = folder.expanduser()
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise UsageError(
            f"{folder} exists and is not an empty folder.",
            advice="Give a new folder: labkit bundle -o labkit-kit",
        )
    folder.mkdir(parents=True, exist_ok=True)
    say("packing the sources")
    _write_sources(home, folder / SOURCE_NAME)
    say("making wheels of labkit and every package it needs")
    # setuptools and wheel build labkit itself on the other machine (`pip install -e`).
    pip(
        ["wheel", "--wheel-dir", str(folder / WHEELS_DIR), str(home), "setuptools>=68", "wheel"],
        say,
    )
    if export_images is not None:
        say("exporting the images")
        export_images(folder / IMAGES_NAME)
    script = folder / "install.sh"
    script.write_text(install_script())
    script.chmod(0o755)
    files = tuple(
        KitFile(str(p.relative_to(folder)), p.stat().st_size, _sha256(p))
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    )
    manifest = {
        "format": KIT_FORMAT,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "files": [vars(f) for f in files],
    }
    (folder / "kit.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return KitResult(folder, files, time.monotonic() - started)


def _kit_files(folder: Path) -> Iterator[KitFile]:
    manifest_path = folder / "kit.json"
    try:
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("format") != KIT_FORMAT:
            raise UsageError(f"{folder} is a kit of another format ({manifest.get('format')!r}).")
        for f in manifest["files"]:
            yield KitFile(str(f["path"]), int(f["size"]), str(f["sha256"]))
    except FileNotFoundError as exc:
        raise UsageError(
            f"{folder} is not a labkit kit (no kit.json).",
            advice="Give the folder `labkit bundle -o DIR` wrote.",
        ) from exc
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise UsageError(f"{manifest_path} is unreadable ({exc}).") from exc


def check_kit(folder: Path) -> tuple[KitFile, ...]:
    """Every file kit.json lists, present with its size and sha256; else a UsageError
    naming what is wrong (a kit copied in part, or changed)."""
    folder = folder.expanduser()
    files = tuple(_kit_files(folder))
    wrong = []
    for f in files:
        path = folder / f.path
        if ".." in Path(f.path).parts or Path(f.path).is_absolute():
            wrong.append(f"{f.path} (outside the kit)")
        elif not path.is_file():
            wrong.append(f"{f.path} (missing)")
        elif path.stat().st_size != f.size or _sha256(path) != f.sha256:
            wrong.append(f"{f.path} (changed or cut short)")
    if wrong:
        raise UsageError(
            f"The kit in {folder} is not whole: " + ", ".join(wrong[:5]) + ".",
            advice="Copy the whole folder again from the machine that made it.",
        )
    return files


def images_in(folder: Path) -> Path | None:
    path = folder.expanduser() / IMAGES_NAME
    return path if path.is_file() else None
