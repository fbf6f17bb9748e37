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


def _labkit(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from labkit.cli import main; main()", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env={**os.environ, "LABKIT_LOCAL": "1", **(env or {})},
    )


def test_a_foreign_file_is_refused_and_left_in_place(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("my own notes, not JSON\n")
    done = _labkit("progress", "--file", str(notes))
    assert done.returncode == 2, done.stderr
    assert "not a labkit progress file" in done.stderr and "Traceback" not in done.stderr
    assert notes.read_text() == "my own notes, not JSON\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_a_damaged_file_warns_and_prints_valid_json(tmp_path: Path) -> None:
    path = tmp_path / "progress.json"
    damaged = b'{\n  "version": 1,\n  "exercises": {"nb02.errno-linux": {"best_score": NaN}}}'
    path.write_bytes(damaged)
    done = _labkit("progress", "--json", "--file", str(path))
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)  # strict: NaN would not parse in other languages either
    assert data["exercises"] == []
    assert "warning:" in done.stderr and "damaged" in done.stderr
    assert path.read_bytes() == damaged


def test_an_empty_file_name_is_a_usage_error() -> None:
    done = _labkit("progress", "--file", "")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "--file" in done.stderr


def test_json_output_never_contains_nan() -> None:
    from labkit.cli._output import to_jsonable

    assert json.dumps(to_jsonable({"x": float("nan"), "y": [float("inf")]})) == (
        '{"x": null, "y": [null]}'
    )
