"""A learner's progress, kept in one JSON file that survives kernel restarts.

The file lives at ``$LABKIT_PROGRESS`` or ``~/.labkit/progress.json``::

    {"version": 1, "exercises": {"nb02.errno-linux": {"attempts": 2, "best_score": 1.0, ...}}}

Three promises, because a learner's work must never vanish:

* every change is a read-modify-write under an exclusive lock (``fcntl.flock`` on a
  side file, where the platform has it), so several kernels can record at once;
* a write goes to a temporary file in the same directory, is fsynced, then moved
  over the old one with ``os.replace``, so a crash leaves the old or the new file;
* a file that cannot be read or parsed is moved aside to ``progress.json.corrupt-*``
  with a :class:`ProgressWarning`, and recording starts afresh. If it cannot even be
  moved aside, a :class:`~labkit.errors.SetupError` says so instead of overwriting it.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from labkit.errors import SetupError
from labkit.exercises.grade import Exercise, Grade, notebook_of

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; one kernel at a time is still safe.
    fcntl = None  # type: ignore[assignment]

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

__all__ = [
    "ENV_VAR",
    "HISTORY_LIMIT",
    "AttemptRecord",
    "ExerciseRecord",
    "ProgressStore",
    "ProgressWarning",
    "default_progress_path",
    "plot_summary",
]

ENV_VAR = "LABKIT_PROGRESS"
FORMAT_VERSION = 1
#: Attempts kept per exercise; older ones are dropped, the counters are not.
HISTORY_LIMIT = 50

SUMMARY_COLUMNS = [
    "notebook",
    "title",
    "exercises",
    "attempted",
    "tries",
    "passed",
    "hints_used",
    "solutions_shown",
    "earned",
    "possible",
    "percent",
]


class ProgressWarning(UserWarning):
    """The progress file was unreadable and has been moved aside."""


def default_progress_path() -> Path:
    """``$LABKIT_PROGRESS`` if set, else ``~/.labkit/progress.json``."""
    env = os.environ.get(ENV_VAR)
    return Path(env).expanduser() if env else Path.home() / ".labkit" / "progress.json"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class AttemptRecord:
    at: str
    score: float
    correct: bool
    hints_used: int
    solution_shown: bool


@dataclass(frozen=True)
class ExerciseRecord:
    """Everything recorded about one exercise."""

    exercise_id: str
    attempts: int = 0
    best_score: float = 0.0
    max_score: float = 0.0
    last_score: float | None = None
    passed: bool = False
    hints_used: int = 0
    solution_shown: bool = False
    first_seen: str | None = None
    last_attempt: str | None = None
    history: tuple[AttemptRecord, ...] = ()

    @property
    def notebook(self) -> str:
        return notebook_of(self.exercise_id)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        del data["exercise_id"]
        data["history"] = [asdict(a) for a in self.history]
        return data

    @classmethod
    def from_json(cls, exercise_id: str, data: Mapping[str, Any]) -> ExerciseRecord:
        """Build a record; raises ``TypeError``/``ValueError`` on a malformed entry."""
        if not isinstance(data, Mapping):
            raise TypeError(f"entry for {exercise_id} is not an object")
        history = tuple(AttemptRecord(**a) for a in data.get("history", ()))
        fields = {k: v for k, v in data.items() if k != "history"}
        record = cls(exercise_id=exercise_id, history=history, **fields)
        _check_types(record)
        return record


def _check_types(record: ExerciseRecord) -> None:
    numbers = (record.best_score, record.max_score)
    if not isinstance(record.attempts, int) or record.attempts < 0:
        raise ValueError("attempts must be a non-negative integer")
    if not isinstance(record.hints_used, int) or record.hints_used < 0:
        raise ValueError("hints_used must be a non-negative integer")
    if not all(isinstance(n, (int, float)) and not isinstance(n, bool) for n in numbers):
        raise ValueError("scores must be numbers")
    if not isinstance(record.passed, bool) or not isinstance(record.solution_shown, bool):
        raise ValueError("passed and solution_shown must be true/false")


Records = dict[str, ExerciseRecord]


class ProgressStore:
    """Read and update one learner's progress file (see the module docstring)."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path).expanduser() if path is not None else default_progress_path()

    def __repr__(self) -> str:
        return f"ProgressStore({str(self.path)!r})"

    # --- reading ---------------------------------------------------------------------

    def records(self) -> Records:
        """Every recorded exercise, by id."""
        with self._locked():
            return self._read()

    def get(self, exercise_id: str) -> ExerciseRecord | None:
        return self.records().get(exercise_id)

    # --- recording -------------------------------------------------------------------

    def record_grade(self, grade: Grade) -> ExerciseRecord:
        """Count one attempt and keep the best score; ``passed`` never goes back to false."""
        if not grade.exercise_id:
            raise SetupError("Cannot record a grade without an exercise id.")
        now = _now()

        def change(old: ExerciseRecord) -> ExerciseRecord:
            attempt = AttemptRecord(
                at=now,
                score=grade.score,
                correct=grade.correct,
                hints_used=grade.hints_used,
                solution_shown=grade.solution_shown,
            )
            return replace(
                old,
                attempts=old.attempts + 1,
                best_score=max(old.best_score, grade.score),
                max_score=grade.max_score,
                last_score=grade.score,
                passed=old.passed or grade.passed,
                hints_used=max(old.hints_used, grade.hints_used),
                solution_shown=old.solution_shown or grade.solution_shown,
                last_attempt=now,
                history=(*old.history, attempt)[-HISTORY_LIMIT:],
            )

        return self._update(grade.exercise_id, change)

    def record_hint(self, exercise_id: str, hints_used: int) -> ExerciseRecord:
        """Remember that ``hints_used`` hints have been revealed (never decreases)."""
        return self._update(
            exercise_id, lambda old: replace(old, hints_used=max(old.hints_used, hints_used))
        )

    def record_solution(self, exercise_id: str) -> ExerciseRecord:
        """Remember that the solution was shown; later attempts are capped."""
        return self._update(exercise_id, lambda old: replace(old, solution_shown=True))

    # --- summaries -------------------------------------------------------------------

    def summary(self, exercises: Iterable[Exercise] | None = None) -> pd.DataFrame:
        """Per notebook: exercises, attempted, tries, passed, hints, solutions, earned/possible.

        ``exercises`` defaults to the whole course bank, so notebooks not started yet
        appear with nothing earned. Recorded ids missing from it still count.
        """
        import pandas as pd

        from labkit.exercises.bank import NOTEBOOK_TITLES, all_exercises

        catalogue = {e.id: e for e in (all_exercises() if exercises is None else exercises)}
        records = self.records()
        rows: dict[str, dict[str, Any]] = {}
        for exercise_id in sorted(set(catalogue) | set(records)):
            record = records.get(exercise_id)
            known = catalogue.get(exercise_id)
            notebook = notebook_of(exercise_id)
            row = rows.setdefault(
                notebook,
                dict.fromkeys(SUMMARY_COLUMNS, 0)
                | {"notebook": notebook, "title": NOTEBOOK_TITLES.get(notebook, "")},
            )
            row["exercises"] += 1
            row["possible"] += known.max_score if known else (record.max_score if record else 0)
            if record is None:
                continue
            row["attempted"] += int(record.attempts > 0)
            row["tries"] += record.attempts
            row["passed"] += int(record.passed)
            row["hints_used"] += record.hints_used
            row["solutions_shown"] += int(record.solution_shown)
            row["earned"] += record.best_score
        frame = pd.DataFrame(list(rows.values()), columns=SUMMARY_COLUMNS)
        possible = frame["possible"].where(frame["possible"] > 0)
        frame["percent"] = (100 * frame["earned"] / possible).fillna(0.0).round(1)
        return frame

    def details(self) -> pd.DataFrame:
        """One row per recorded exercise (without the attempt history)."""
        import pandas as pd

        rows = [
            {"exercise_id": r.exercise_id, "notebook": r.notebook}
            | {k: v for k, v in r.to_json().items() if k != "history"}
            for r in self.records().values()
        ]
        return pd.DataFrame(rows)

    def plot(self, exercises: Iterable[Exercise] | None = None) -> Axes:
        """:func:`plot_summary` of :meth:`summary`."""
        return plot_summary(self.summary(exercises))

    # --- the file --------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _unusable(self.path, exc) from exc
        if fcntl is None:
            yield
            return
        lock_path = self.path.with_name(self.path.name + ".lock")
        try:
            handle = open(lock_path, "a")  # noqa: SIM115 - held for the whole block
        except OSError as exc:
            raise _unusable(self.path, exc) from exc
        with handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def _update(
        self, exercise_id: str, change: Callable[[ExerciseRecord], ExerciseRecord]
    ) -> ExerciseRecord:
        with self._locked():
            records = self._read()
            old = records.get(exercise_id) or ExerciseRecord(exercise_id, first_seen=_now())
            records[exercise_id] = new = change(old)
            self._write(records)
        return new

    def _read(self) -> Records:
        """The records on disk; a broken file is moved aside (with a warning), never lost."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return {}
        except OSError as exc:
            self._quarantine(f"it could not be read ({exc.strerror or exc})")
            return {}
        try:
            data = json.loads(raw.decode("utf-8"))
            if not isinstance(data, dict) or not isinstance(data.get("exercises"), dict):
                raise ValueError("no 'exercises' object at the top level")
            if data.get("version", FORMAT_VERSION) > FORMAT_VERSION:
                raise ValueError(f"format version {data['version']} is newer than this labkit")
            return {
                key: ExerciseRecord.from_json(key, value)
                for key, value in data["exercises"].items()
            }
        except (ValueError, TypeError) as exc:  # JSONDecodeError and UnicodeError are ValueErrors
            self._quarantine(f"it is not a valid progress file ({exc})")
            return {}

    def _quarantine(self, reason: str) -> None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        backup = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        n = 1
        while backup.exists():
            n += 1
            backup = self.path.with_name(f"{self.path.name}.corrupt-{stamp}-{n}")
        try:
            os.replace(self.path, backup)
        except OSError as exc:
            raise SetupError(
                f"The progress file {self.path} is unusable: {reason}, "
                f"and it could not be moved aside ({exc.strerror or exc}).",
                advice=f"Move or fix it yourself, or point {ENV_VAR} at another file.",
            ) from exc
        warnings.warn(
            f"Progress file {self.path} was unusable: {reason}. It was kept as {backup} "
            "and progress starts afresh.",
            ProgressWarning,
            stacklevel=4,
        )

    def _write(self, records: Records) -> None:
        payload = {
            "version": FORMAT_VERSION,
            "updated": _now(),
            "exercises": {key: records[key].to_json() for key in sorted(records)},
        }
        text = json.dumps(payload, indent=2) + "\n"
        try:
            fd, tmp = tempfile.mkstemp(
                dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp"
            )
        except OSError as exc:
            raise _unusable(self.path, exc) from exc
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise _unusable(self.path, exc) from exc
        _fsync_directory(self.path.parent)


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable where the platform allows opening a directory."""
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _unusable(path: Path, exc: OSError) -> SetupError:
    return SetupError(
        f"Cannot write the progress file {path}: {exc.strerror or exc}.",
        advice=f"Check the directory's permissions, or point {ENV_VAR} at a writable file.",
    )


def plot_summary(summary: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """A bar per notebook: points possible (outline) and earned (filled)."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3))
    labels = list(summary["notebook"])
    positions = range(len(labels))
    ax.bar(positions, summary["possible"], color="none", edgecolor="#888888", label="possible")
    ax.bar(positions, summary["earned"], color="#2e7d32", label="earned")
    ax.set_xticks(list(positions), labels)
    ax.set_ylabel("points")
    ax.set_title("Progress per notebook")
    ax.legend(loc="upper right", frameon=False)
    return ax
