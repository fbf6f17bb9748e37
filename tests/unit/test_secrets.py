"""No default secret anywhere, and secret files private from their first byte."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import threading
from pathlib import Path

import pytest

from labkit.errors import SetupError
from labkit.lab.config import LabConfig
from labkit.lab.secretfile import read_or_create_secret

REPO = Path(__file__).resolve().parents[2]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_secret_is_0600_even_with_a_permissive_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        value = read_or_create_secret(tmp_path / "state" / "jupyter-token")
    finally:
        os.umask(old)
    path = tmp_path / "state" / "jupyter-token"
    assert re.fullmatch(r"[0-9a-f]{32}", value)
    assert _mode(path) == 0o600 and _mode(path.parent) == 0o700
    assert read_or_create_secret(path) == value
    assert [p.name for p in path.parent.iterdir()] == ["jupyter-token"]  # no temporary left


def test_an_existing_readable_secret_is_made_private_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "jupyter-token"
    path.write_text("0123456789abcdef0123456789abcdef\n")
    path.chmod(0o644)
    assert read_or_create_secret(path) == "0123456789abcdef0123456789abcdef"
    assert _mode(path) == 0o600


@pytest.mark.parametrize("content", ["", "labkit", "x y z", "\x00" * 40])
def test_a_guessable_or_broken_secret_is_replaced(tmp_path: Path, content: str) -> None:
    path = tmp_path / "jupyter-token"
    path.write_text(content)
    value = read_or_create_secret(path)
    assert value != content.strip() and re.fullmatch(r"[0-9a-f]{32}", value)
    assert path.read_text().strip() == value and _mode(path) == 0o600


def test_a_symlink_or_directory_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.write_text("0123456789abcdef0123456789abcdef")
    link = tmp_path / "jupyter-token"
    link.symlink_to(target)
    with pytest.raises(SetupError):
        read_or_create_secret(link)
    folder = tmp_path / "dir-token"
    folder.mkdir()
    with pytest.raises(SetupError, match="not a regular file"):
        read_or_create_secret(folder)


def test_labkit_commands_started_together_agree_on_one_token(tmp_path: Path) -> None:
    path = tmp_path / "jupyter-token"
    values: list[str] = []
    barrier = threading.Barrier(8)

    def create() -> None:
        barrier.wait()
        values.append(read_or_create_secret(path))

    threads = [threading.Thread(target=create) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(values)) == 1 and path.read_text().strip() == values[0]


def test_compose_has_no_default_token() -> None:
    text = (REPO / "lab" / "docker-compose.yml").read_text()
    (line,) = [ln for ln in text.splitlines() if "JUPYTER_TOKEN:" in ln]
    assert "${LABKIT_JUPYTER_TOKEN:?" in line
    assert ":-" not in line


def test_plain_docker_compose_refuses_to_start_without_a_token() -> None:
    docker = shutil.which("docker")
    if (
        docker is None
        or subprocess.run(
            [docker, "compose", "version"], capture_output=True, check=False
        ).returncode
    ):
        pytest.skip("needs the docker compose CLI (no daemon)")
    env = {k: v for k, v in os.environ.items() if k != "LABKIT_JUPYTER_TOKEN"}
    done = subprocess.run(
        [docker, "compose", "-f", str(REPO / "lab" / "docker-compose.yml"), "config", "-q"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=60,
    )
    assert done.returncode != 0 and "LABKIT_JUPYTER_TOKEN" in done.stderr


def test_labkit_bind_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABKIT_BIND", "0.0.0.0")
    config = LabConfig.from_env()
    assert config.bind == "0.0.0.0" and config.compose_env()["LABKIT_BIND"] == "0.0.0.0"
