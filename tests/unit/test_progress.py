"""The progress file: recorded, atomic, shared between kernels, and never lost silently."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from labkit.errors import SetupError
from labkit.exercises import ExerciseSession, Grade, ProgressStore, ProgressWarning, question
from labkit.exercises.progress import HISTORY_LIMIT, default_progress_path, plot_summary

ERRNO = question("nb02.errno-linux")


@pytest.fixture
def store(tmp_path: Path) -> ProgressStore:
    return ProgressStore(tmp_path / "progress.json")


def _grade(question_id: str, answer: object, hints_used: int = 0) -> Grade:
    return question(question_id).grade(answer, hints_used=hints_used)


def test_default_path_honours_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("LABKIT_PROGRESS", str(tmp_path / "mine.json"))
    assert default_progress_path() == tmp_path / "mine.json"
    assert ProgressStore().path == tmp_path / "mine.json"
    monkeypatch.delenv("LABKIT_PROGRESS")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_progress_path() == tmp_path / ".labkit" / "progress.json"


def test_empty_store(store: ProgressStore) -> None:
    assert store.records() == {}
    assert store.get("nb02.errno-linux") is None
    assert not store.path.exists()


def test_attempts_best_score_and_sticky_pass(store: ProgressStore) -> None:
    store.record_grade(_grade("nb02.errno-linux", "61"))
    store.record_grade(_grade("nb02.errno-linux", "111", hints_used=1))
    record = store.record_grade(_grade("nb02.errno-linux", "110"))
    assert record.attempts == 3
    assert record.best_score == pytest.approx(0.9)
    assert record.last_score == 0.0
    assert record.passed  # a later wrong answer does not undo a pass
    assert record.hints_used == 1
    assert [a.correct for a in record.history] == [False, True, False]
    assert record.first_seen is not None and record.last_attempt is not None


def test_hints_and_solution_are_recorded(store: ProgressStore) -> None:
    store.record_hint("nb02.errno-linux", 2)
    store.record_hint("nb02.errno-linux", 1)  # never decreases
    store.record_solution("nb02.errno-linux")
    record = store.get("nb02.errno-linux")
    assert record is not None
    assert record.hints_used == 2 and record.solution_shown and record.attempts == 0


def test_history_is_bounded_but_counters_are_not(store: ProgressStore) -> None:
    grade = _grade("nb02.errno-linux", "61")
    for _ in range(HISTORY_LIMIT + 5):
        store.record_grade(grade)
    record = store.get("nb02.errno-linux")
    assert record is not None
    assert record.attempts == HISTORY_LIMIT + 5 and len(record.history) == HISTORY_LIMIT


def test_grade_without_id_is_refused(store: ProgressStore) -> None:
    with pytest.raises(SetupError):
        store.record_grade(Grade(score=1, max_score=1, feedback="x"))


def test_file_is_plain_json_and_leaves_no_temporary_files(store: ProgressStore) -> None:
    store.record_grade(_grade("nb01.auth-keyword", "AUTH"))
    data = json.loads(store.path.read_text())
    assert data["version"] == 1
    assert data["exercises"]["nb01.auth-keyword"]["passed"] is True
    leftovers = [p.name for p in store.path.parent.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


def test_a_failed_write_keeps_the_old_file(
    store: ProgressStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.record_grade(_grade("nb01.auth-keyword", "AUTH"))
    before = store.path.read_bytes()

    def broken_replace(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(SetupError, match="No space left"):
        store.record_grade(_grade("nb02.errno-linux", "111"))
    monkeypatch.undo()
    assert store.path.read_bytes() == before
    assert [p for p in store.path.parent.iterdir() if p.name.endswith(".tmp")] == []


def test_readers_never_see_a_half_written_file(store: ProgressStore) -> None:
    store.record_grade(_grade("nb01.auth-keyword", "AUTH"))
    stop = threading.Event()
    seen: list[str] = []

    def read_raw() -> None:  # reads without the lock, as an editor or `cat` would
        while not stop.is_set():
            text = store.path.read_text()
            try:
                json.loads(text)
            except ValueError:
                seen.append(text)

    reader = threading.Thread(target=read_raw)
    reader.start()
    try:
        for i in range(150):
            store.record_grade(_grade("nb02.errno-linux", str(i)))
    finally:
        stop.set()
        reader.join()
    assert seen == []


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b"\xff\xfe\x00garbage",
        b"[1, 2, 3]",
        b'{"version": 1, "exercises": {"nb02.errno-linux": {"attempts": "many"}}}',
        b'{"version": 1, "exercises": {"nb02.errno-linux": {"surprise": 1}}}',
        b'{"version": 99, "exercises": {}}',
        b"",
    ],
)
def test_corrupt_file_is_kept_aside_with_a_warning(store: ProgressStore, content: bytes) -> None:
    store.path.write_bytes(content)
    with pytest.warns(ProgressWarning, match="kept as"):
        record = store.record_grade(_grade("nb01.auth-keyword", "AUTH"))
    assert record.attempts == 1
    backups = list(store.path.parent.glob("progress.json.corrupt-*"))
    assert len(backups) == 1 and backups[0].read_bytes() == content
    assert ProgressStore(store.path).get("nb01.auth-keyword") is not None


def test_two_corruptions_keep_two_backups(store: ProgressStore) -> None:
    for content in (b"{", b"}"):
        store.path.write_bytes(content)
        with pytest.warns(ProgressWarning):
            store.records()
    backups = sorted(p.read_bytes() for p in store.path.parent.glob("progress.json.corrupt-*"))
    assert backups == [b"{", b"}"]


def test_unreadable_path_is_moved_aside(store: ProgressStore) -> None:
    store.path.mkdir()  # reading a directory fails with an OSError, even as root
    (store.path / "inside").write_text("keep me")
    with pytest.warns(ProgressWarning, match="could not be read"):
        store.record_grade(_grade("nb01.auth-keyword", "AUTH"))
    (backup,) = store.path.parent.glob("progress.json.corrupt-*")
    assert (backup / "inside").read_text() == "keep me"
    assert store.path.is_file()


def test_a_file_that_cannot_be_moved_aside_is_not_overwritten(
    store: ProgressStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.path.write_bytes(b"{broken")

    def refuse(src: str, dst: str) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(SetupError, match="could not be moved aside") as info:
        store.record_grade(_grade("nb01.auth-keyword", "AUTH"))
    assert "LABKIT_PROGRESS" in (info.value.advice or "")
    monkeypatch.undo()
    assert store.path.read_bytes() == b"{broken"


def test_unwritable_location_is_a_setup_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(SetupError):
        ProgressStore(blocker / "progress.json").record_hint("nb02.errno-linux", 1)


_CHILD = """
import sys
from labkit.exercises import ProgressStore, question
store = ProgressStore(sys.argv[1])
if sys.argv[2] == "write":
    store.record_grade(question("nb02.errno-linux").grade("111"))
    store.record_hint("nb01.auth-keyword", 1)
else:
    record = store.get("nb02.errno-linux")
    print(record.attempts, record.passed, store.get("nb01.auth-keyword").hints_used)
"""


def test_progress_survives_process_restarts(store: ProgressStore) -> None:
    for _ in range(2):
        subprocess.run([sys.executable, "-c", _CHILD, str(store.path), "write"], check=True)
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(store.path), "read"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert out.split() == ["2", "True", "1"]
    record = store.get("nb02.errno-linux")
    assert record is not None and record.attempts == 2


def _record_many(path: str, n: int) -> None:
    store = ProgressStore(path)
    grade = question("nb02.errno-linux").grade("111")
    for _ in range(n):
        store.record_grade(grade)


def test_several_kernels_recording_at_once_lose_nothing(store: ProgressStore) -> None:
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_record_many, args=(str(store.path), 20)) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    record = store.get("nb02.errno-linux")
    assert record is not None and record.attempts == 80


def test_session_resumes_hints_and_solution_from_the_file(store: ProgressStore) -> None:
    first = ExerciseSession(ERRNO, store)
    assert first.next_hint() == ERRNO.hints[0]
    second = ExerciseSession(ERRNO, store)  # a new kernel
    assert second.revealed_hints == ERRNO.hints[:1]
    second.show_solution()
    grade = ExerciseSession(ERRNO, store).check("111")
    assert grade.solution_shown and grade.hints_used == 1 and grade.score == 0
    record = store.get(ERRNO.id)
    assert record is not None and record.attempts == 1 and not record.passed


def test_summary_per_notebook(store: ProgressStore) -> None:
    store.record_grade(_grade("nb02.errno-linux", "111"))
    store.record_grade(_grade("nb02.port-submission", "25"))
    store.record_grade(_grade("nb01.auth-keyword", "AUTH", hints_used=2))
    store.record_solution("nb01.banner-code")
    frame = store.summary()
    assert list(frame["notebook"]) == [f"nb0{i}" for i in range(7)]
    nb01 = frame.set_index("notebook").loc["nb01"]
    nb02 = frame.set_index("notebook").loc["nb02"]
    assert nb02["attempted"] == 2 and nb02["passed"] == 1 and nb02["earned"] == 1.0
    assert nb02["possible"] == len([e for e in store_ids() if e.startswith("nb02.")])
    assert nb01["hints_used"] == 2 and nb01["solutions_shown"] == 1
    assert nb01["earned"] == pytest.approx(0.7)  # hints 1 and 2: 10 % + 20 %
    assert nb02["percent"] == pytest.approx(round(100 / nb02["possible"], 1))


def store_ids() -> list[str]:
    from labkit.exercises.bank import ids

    return list(ids())


def test_summary_keeps_ids_missing_from_the_bank(store: ProgressStore) -> None:
    store.record_grade(Grade(score=2, max_score=3, feedback="", exercise_id="nb07.retired"))
    frame = store.summary(exercises=[]).set_index("notebook")
    assert frame.loc["nb07", "earned"] == 2 and frame.loc["nb07", "possible"] == 3


def test_details_and_plot(store: ProgressStore) -> None:
    import matplotlib
    from matplotlib.patches import Rectangle

    matplotlib.use("Agg")
    store.record_grade(_grade("nb02.errno-linux", "111"))
    details = store.details()
    assert list(details["exercise_id"]) == ["nb02.errno-linux"]
    ax = plot_summary(store.summary())
    assert len(ax.patches) == 2 * 7  # possible and earned bars per notebook
    heights = [p.get_height() for p in ax.patches[7:] if isinstance(p, Rectangle)]
    assert heights[2] == 1.0 and sum(heights) == 1.0
