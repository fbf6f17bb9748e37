"""The code stays as STYLE.md asks: ruff-clean, ruff-formatted and mypy-clean.

A failing run names the lines.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "argv",
    [
        ["ruff", "check", "labkit", "tests", "benchmarks"],
        ["ruff", "format", "--check", "labkit", "tests", "benchmarks"],
        [sys.executable, "-m", "mypy", "labkit"],
    ],
    ids=["ruff", "ruff-format", "mypy"],
)
def test_linters_pass(argv):
    if argv[0] == "ruff" and shutil.which("ruff") is None:
        pytest.skip("ruff is not installed (pip install -e '.[test]')")
    proc = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
