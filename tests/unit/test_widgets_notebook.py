"""The exercise cards as a notebook uses them: displayed and clicked in a real kernel."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

CELLS = [
    "from labkit.widgets import ask\nquestion = ask('nb02.errno-linux')\nquestion",
    "question.set_answer('61')\nquestion.check_button.click()\nprint(question.feedback.value)",
    "question.set_answer('111')\nquestion.check_button.click()\nprint(question.status.value)",
]


def test_cards_display_and_record_in_a_kernel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    progress = tmp_path / "progress.json"
    monkeypatch.setenv("LABKIT_PROGRESS", str(progress))
    monkeypatch.setenv("LABKIT_LOCAL", "1")
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    NotebookClient(
        notebook, timeout=60, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute(env=dict(os.environ))
    shown, wrong, right = (cell.outputs for cell in notebook.cells)
    assert "application/vnd.jupyter.widget-view+json" in shown[0]["data"]
    assert "macOS/BSD" in wrong[0]["text"]
    assert "passed" in right[0]["text"]
    assert '"nb02.errno-linux"' in progress.read_text()
