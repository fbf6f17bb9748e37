"""The progress file: recorded, atomic, shared between kernels, and never lost silently."""

from __future__ import annotations

import json
import multiprocessing
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from labkit.errors import SetupError
from labkit.exercises import (
    NOTEBOOK_TITLES,
    ExerciseSession,
    Grade,
    ProgressStore,
    ProgressWarning,
    exercises_for,
    question,
)
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


# Damaged files of labkit's own (its header, then something wrong).
_OWN_DAMAGED = [
    b'{\n  "version": 1,\n  "exercises": {"nb02.errno-linux": {"attempts": "many"}}}',
    b'{\n  "version": 1,\n  "exercises": {"nb02.errno-linux": {"surprise": 1}}}',
    b'{\n  "format": "labkit-progress",\n  "version": 1, "exercises": {',
    b'{\n  "version": 1,\n  "exercises": {"nb02.errno-linux": {"best_score": NaN}}}',
    b'{\n  "format": "labkit-progress",\n  "exercises": []}',
]


@pytest.mark.parametrize("content", _OWN_DAMAGED)
def test_damaged_own_file_is_kept_beside_a_fresh_one(store: ProgressStore, content: bytes) -> None:
    store.path.write_bytes(content)
    with pytest.warns(ProgressWarning, match="left as it is"):
        assert store.records() == {}
    assert store.path.read_bytes() == content  # reading changed nothing
    with pytest.warns(ProgressWarning, match="kept as"):
        record = store.record_grade(_grade("nb01.auth-keyword", "AUTH"))
    assert record.attempts == 1
    (backup,) = store.path.parent.glob("progress.json.damaged-*")
    assert backup.read_bytes() == content
    assert ProgressStore(store.path).get("nb01.auth-keyword") is not None


def test_two_damages_keep_two_copies(store: ProgressStore) -> None:
    for content in _OWN_DAMAGED[:2]:
        store.path.write_bytes(content)
        with pytest.warns(ProgressWarning):
            store.record_hint("nb02.errno-linux", 1)
    copies = sorted(p.read_bytes() for p in store.path.parent.glob("progress.json.damaged-*"))
    assert copies == sorted(_OWN_DAMAGED[:2])


@pytest.mark.parametrize(
    "content",
    [b"{not json", b"\xff\xfe\x00garbage", b"[1, 2, 3]", b'{"name": "my notes"}', b"NaN"],
)
def test_a_file_that_is_not_labkits_is_never_touched(store: ProgressStore, content: bytes) -> None:
    store.path.write_bytes(content)
    before = sorted(p.name for p in store.path.parent.iterdir())
    with pytest.raises(SetupError, match="not a labkit progress file") as info:
        store.records()
    assert "LABKIT_PROGRESS" in (info.value.advice or "")
    with pytest.raises(SetupError, match="not a labkit progress file"):
        store.record_grade(_grade("nb01.auth-keyword", "AUTH"))
    assert store.path.read_bytes() == content
    assert sorted(p.name for p in store.path.parent.iterdir()) == before


def test_a_newer_format_is_left_alone(store: ProgressStore) -> None:
    content = b'{"format": "labkit-progress", "version": 99, "exercises": {}}'
    store.path.write_bytes(content)
    for action in (store.records, lambda: store.record_hint("nb02.errno-linux", 1)):
        with pytest.raises(SetupError, match="newer labkit") as info:
            action()
        assert "Update labkit" in (info.value.advice or "")
    assert store.path.read_bytes() == content
    assert list(store.path.parent.iterdir()) == [store.path]


def test_a_directory_in_the_way_is_refused_and_kept(store: ProgressStore) -> None:
    store.path.mkdir()
    (store.path / "inside").write_text("keep me")
    for action in (store.records, lambda: store.record_hint("nb02.errno-linux", 1)):
        with pytest.raises(SetupError, match="not a regular file"):
            action()
    assert (store.path / "inside").read_text() == "keep me"


def test_a_device_is_never_renamed_or_locked(tmp_path: Path) -> None:
    """The hostile tester's case, ``labkit progress --file /dev/null`` as root, on a
    private copy of the null device (so old code under test cannot rename the real one)."""
    device = tmp_path / "null"
    try:
        os.mknod(device, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    except (PermissionError, AttributeError):
        pytest.skip("creating a device node needs root on Linux")
    before = device.stat()
    store = ProgressStore(device)
    with pytest.raises(SetupError, match="not a regular file"):
        store.records()
    with pytest.raises(SetupError, match="not a regular file"):
        store.record_hint("nb02.errno-linux", 1)
    after = device.stat()
    assert stat.S_ISCHR(after.st_mode) and after.st_ino == before.st_ino
    assert [p.name for p in tmp_path.iterdir()] == ["null"]


def test_a_fifo_does_not_hang_reading(store: ProgressStore) -> None:
    os.mkfifo(store.path)
    with pytest.raises(SetupError, match="not a regular file"):
        store.records()
    assert stat.S_ISFIFO(store.path.stat().st_mode)


def test_reading_writes_nothing(tmp_path: Path) -> None:
    store = ProgressStore(tmp_path / "absent" / "progress.json")
    assert store.records() == {}
    assert not (tmp_path / "absent").exists()
    store = ProgressStore(tmp_path / "progress.json")
    store.record_hint("nb02.errno-linux", 1)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert store.records()["nb02.errno-linux"].hints_used == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == names


def test_reading_works_in_a_read_only_directory(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    store = ProgressStore(folder / "progress.json")
    store.record_hint("nb02.errno-linux", 2)
    lock = folder / ".progress.json.labkit-lock"
    lock.unlink()
    folder.chmod(0o555)
    try:
        # As root the mode does not stop writes, so prove it by what reading creates.
        assert store.get("nb02.errno-linux").hints_used == 2  # type: ignore[union-attr]
        assert not lock.exists()
    finally:
        folder.chmod(0o755)


def test_a_killed_writers_temporary_file_is_cleaned_up(store: ProgressStore) -> None:
    store.record_hint("nb02.errno-linux", 1)
    child = subprocess.Popen(
        [sys.executable, "-c", _KILLED_WRITER, str(store.path)], stdout=subprocess.PIPE
    )
    assert child.stdout is not None and child.stdout.readline().strip() == b"writing"
    child.kill()
    child.wait()
    leftovers = [p for p in store.path.parent.iterdir() if p.name.endswith(".tmp")]
    assert leftovers, "the killed writer should have left its temporary file"
    store.record_hint("nb01.auth-keyword", 1)
    assert [p for p in store.path.parent.iterdir() if p.name.endswith(".tmp")] == []
    assert store.get("nb02.errno-linux") is not None


# A writer killed after it created its temporary file and before the rename.
_KILLED_WRITER = """
import os, sys, time
from labkit.exercises import ProgressStore
real_replace = os.replace
def stall(src, dst):
    print("writing", flush=True)
    time.sleep(60)
os.replace = stall
ProgressStore(sys.argv[1]).record_hint("nb03.x", 1)
"""


def test_an_empty_file_starts_fresh(store: ProgressStore) -> None:
    store.path.write_bytes(b"")
    assert store.records() == {}
    store.record_hint("nb02.errno-linux", 1)
    assert store.get("nb02.errno-linux") is not None


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
    assert list(frame["notebook"]) == [f"nb0{i}" for i in range(8)]
    nb01 = frame.set_index("notebook").loc["nb01"]
    nb02 = frame.set_index("notebook").loc["nb02"]
    assert nb02["attempted"] == 2 and nb02["passed"] == 1 and nb02["earned"] == 1.0
    assert nb02["possible"] == sum(e.max_score for e in exercises_for("nb02"))
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
    assert len(ax.patches) == 2 * len(NOTEBOOK_TITLES)  # possible and earned bars per notebook
    earned = ax.patches[len(NOTEBOOK_TITLES) :]
    heights = [p.get_height() for p in earned if isinstance(p, Rectangle)]
    assert heights[2] == 1.0 and sum(heights) == 1.0
