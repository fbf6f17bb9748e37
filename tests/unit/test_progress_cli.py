"""``labkit progress``: a rich table for people, JSON for scripts, clear errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from labkit.cli import app
from labkit.exercises import ProgressStore, question
from labkit.exercises.bank import NOTEBOOK_TITLES

runner = CliRunner()


@pytest.fixture
def progress_file(tmp_path: Path) -> Path:
    path = tmp_path / "progress.json"
    store = ProgressStore(path)
    store.record_grade(question("nb02.errno-linux").grade("111", hints_used=1))
    store.record_grade(question("nb01.auth-keyword").grade("PLAIN"))
    store.record_solution("nb01.banner-code")
    return path


def test_json_output(progress_file: Path) -> None:
    result = runner.invoke(app, ["progress", "--json", "--file", str(progress_file)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["file"] == str(progress_file)
    notebooks = {row["notebook"]: row for row in data["notebooks"]}
    assert set(notebooks) == set(NOTEBOOK_TITLES)
    assert notebooks["nb02"]["earned"] == pytest.approx(0.9)
    assert notebooks["nb02"]["passed"] == 1 and notebooks["nb01"]["solutions_shown"] == 1
    exercises = {e["exercise_id"]: e for e in data["exercises"]}
    assert exercises["nb01.auth-keyword"]["attempts"] == 1
    assert exercises["nb01.auth-keyword"]["passed"] is False


def test_table_output_uses_the_environment(
    progress_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LABKIT_PROGRESS", str(progress_file))
    monkeypatch.setenv("COLUMNS", "160")
    result = runner.invoke(app, ["progress"])
    assert result.exit_code == 0, result.output
    assert "Connection refused" in result.stdout and "0.9/7" in result.stdout
    assert "Nothing recorded yet" not in result.stdout


def test_empty_progress_says_how_to_start(tmp_path: Path) -> None:
    result = runner.invoke(app, ["progress", "--file", str(tmp_path / "none.json")])
    assert result.exit_code == 0
    assert "Nothing recorded yet" in result.stdout


def test_unusable_location_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from labkit.cli import main; main()",
            "progress",
            "--file",
            str(blocker / "progress.json"),
        ],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "LABKIT_LOCAL": "1"},  # a running lab would take the command
    )
    assert done.returncode == 2
    assert "error:" in done.stderr and "Traceback" not in done.stderr
    assert "LABKIT_PROGRESS" in done.stderr
