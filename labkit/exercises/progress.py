"""A learner's progress, kept in one JSON file that survives kernel restarts.

The file lives at ``$LABKIT_PROGRESS`` or ``~/.labkit/progress.json``::

    {"version": 1, "exercises": {"nb02.errno-linux": {"attempts": 2, "best_score": 1.0, ...}}}

Promises, because a learner's work must never vanish and a display command must
never damage anything:

* reading takes no lock and writes nothing (not even a directory);
* every change is a read-modify-write under an exclusive lock (``fcntl.flock`` on a
  hidden side file labkit creates, where the platform has it), so several kernels can
  record at once;
* a write goes to a temporary file in the same directory, is fsynced, then moved
  over the old one with ``os.replace``, so a crash leaves the old or the new file
  (a killed writer's temporary file is removed by the next writer);
* labkit only ever replaces its *own* progress file. A path holding anything else (a
  device, a directory, someone else's file) or a newer format is left untouched and
  refused with a :class:`~labkit.errors.SetupError`;
* a damaged progress file of labkit's own is shown as empty with a
  :class:`ProgressWarning`; the next write copies it to ``progress.json.damaged-*``
  beside the fresh file, so nothing is lost.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import stat
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
FORMAT_NAME = "labkit-progress"
FORMAT_VERSION = 1
#: Far more than any course writes (50 attempts x ~60 exercises is about 1 MB).
MAX_FILE_BYTES = 16 * 2**20
#: How labkit's own files start: the current format, and version 1 before the marker.
_OWN_PREFIXES = (b'{\n  "format": "labkit-progress"', b'{\n  "version": ')
_O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
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
    """labkit's progress file is damaged: reading shows nothing from it, and the next
    write keeps a copy beside the fresh one."""


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
    scores = [*numbers, *(a.score for a in record.history)]
    if record.last_score is not None:
        scores.append(record.last_score)
    if not all(
        isinstance(n, (int, float)) and not isinstance(n, bool) and math.isfinite(n) for n in scores
    ):
        raise ValueError("scores must be finite numbers")


Records = dict[str, ExerciseRecord]


class ProgressStore:
    """Read and update one learner's progress file (see the module docstring)."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path).expanduser() if path is not None else default_progress_path()

    def __repr__(self) -> str:
        return f"ProgressStore({str(self.path)!r})"

    # --- reading ---------------------------------------------------------------------

    def records(self) -> Records:
        """Every recorded exercise, by id. Reading takes no lock and writes nothing:
        writers replace the file atomically, so a reader sees the old or the new one."""
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

    def _load(self) -> tuple[Records, str | None]:
        """The records on disk and, if the file is labkit's but broken, why.

        Never writes, moves or locks anything. A file that is not labkit's own (a
        device, a directory, someone else's JSON), one written by a newer labkit, or
        one that cannot be opened raises :class:`SetupError` and stays as it is.
        """
        try:
            info = os.stat(self.path)
        except FileNotFoundError:
            return {}, None
        except OSError as exc:
            raise _unreadable(self.path, exc.strerror or str(exc)) from exc
        if not stat.S_ISREG(info.st_mode):
            raise _foreign(self.path, "it is not a regular file")
        if info.st_size > MAX_FILE_BYTES:
            raise _foreign(self.path, f"it is larger than {MAX_FILE_BYTES // 2**20} MB")
        try:
            fd = os.open(self.path, os.O_RDONLY | _O_NONBLOCK | _O_CLOEXEC)
            with os.fdopen(fd, "rb") as handle:
                if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                    raise _foreign(self.path, "it is not a regular file")
                raw = handle.read(MAX_FILE_BYTES + 1)
        except FileNotFoundError:
            return {}, None
        except OSError as exc:
            raise _unreadable(self.path, exc.strerror or str(exc)) from exc
        return parse_progress(raw, self.path)

    def _read(self) -> Records:
        """The records for display; a broken file of labkit's own is reported, not changed."""
        records, problem = self._load()
        if problem is not None:
            warnings.warn(
                f"Progress file {self.path} is damaged ({problem}); it was left as it is. "
                "The next recorded answer keeps it beside a fresh one.",
                ProgressWarning,
                stacklevel=4,
            )
        return records

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """An exclusive lock for a read-modify-write, on a side file labkit owns."""
        self._load()  # refuse a foreign file before creating anything next to it
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _unusable(self.path, exc) from exc
        if fcntl is None:
            yield
            return
        lock_path = self.path.with_name(f".{self.path.name}.labkit-lock")
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | _O_NOFOLLOW | _O_CLOEXEC, 0o600)
        except OSError as exc:
            raise _unusable(self.path, exc) from exc
        with os.fdopen(fd, "r+b") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise _foreign(lock_path, "it is not a regular file")
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                self._remove_stale_temporaries()
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def _temporary_prefix(self) -> str:
        return f".{self.path.name}.labkit-"

    def _remove_stale_temporaries(self) -> None:
        """Temporary files of writers that were killed; only this lock's holder writes."""
        prefix = self._temporary_prefix()
        with contextlib.suppress(OSError):
            for entry in os.scandir(self.path.parent):
                if entry.name.startswith(prefix) and entry.name.endswith(".tmp"):
                    with contextlib.suppress(OSError):
                        os.unlink(entry.path)

    def _update(
        self, exercise_id: str, change: Callable[[ExerciseRecord], ExerciseRecord]
    ) -> ExerciseRecord:
        with self._locked():
            records, problem = self._load()
            if problem is not None:
                self._keep_damaged(problem)
            old = records.get(exercise_id) or ExerciseRecord(exercise_id, first_seen=_now())
            records[exercise_id] = new = change(old)
            self._write(records)
        return new

    def _keep_damaged(self, problem: str) -> None:
        """Copy a damaged progress file of labkit's own to a new file beside it, so the
        fresh one written next loses nothing. The damaged file itself is not moved."""
        try:
            raw = self.path.read_bytes()
        except OSError as exc:
            raise _unreadable(self.path, exc.strerror or str(exc)) from exc
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        for n in range(1, 1000):
            suffix = f"-{n}" if n > 1 else ""
            backup = self.path.with_name(f"{self.path.name}.damaged-{stamp}{suffix}")
            try:
                fd = os.open(backup, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_CLOEXEC, 0o600)
            except FileExistsError:
                continue
            except OSError as exc:
                raise _unusable(self.path, exc) from exc
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(raw)
                    handle.flush()
                    os.fsync(handle.fileno())
            except OSError as exc:
                with contextlib.suppress(OSError):
                    os.unlink(backup)
                raise _unusable(self.path, exc) from exc
            break
        else:
            raise _unusable(self.path, OSError("too many copies of damaged progress files"))
        warnings.warn(
            f"Progress file {self.path} was damaged ({problem}). Its content was kept as "
            f"{backup}, and progress starts afresh.",
            ProgressWarning,
            stacklevel=5,
        )

    def _write(self, records: Records) -> None:
        payload = {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "updated": _now(),
            "exercises": {key: records[key].to_json() for key in sorted(records)},
        }
        text = json.dumps(payload, indent=2, allow_nan=False) + "\n"
        try:
            fd, tmp = tempfile.mkstemp(
                dir=self.path.parent, prefix=self._temporary_prefix(), suffix=".tmp"
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


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number JSON allows")


def parse_progress(raw: bytes, path: Path | str = "progress.json") -> tuple[Records, str | None]:
    """Parse a progress file's bytes: ``(records, None)``, or ``({}, why)`` when the file
    is labkit's but damaged. Bytes that are not labkit's progress at all, or a newer
    format, raise :class:`SetupError`; no other exception escapes."""
    if not raw.strip():
        return {}, None  # an empty file holds nothing to lose (e.g. made by mktemp)
    ours = raw.lstrip().startswith(_OWN_PREFIXES)
    try:
        data = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeError
        if ours:
            return {}, f"not valid JSON: {exc}"
        raise _foreign(Path(path), "it is not JSON written by labkit") from exc
    if not isinstance(data, dict) or not (data.get("format") == FORMAT_NAME or "exercises" in data):
        if ours:
            return {}, "no 'exercises' object at the top level"
        raise _foreign(Path(path), "it has no labkit progress in it")
    version = data.get("version", FORMAT_VERSION)
    if isinstance(version, int) and not isinstance(version, bool) and version > FORMAT_VERSION:
        raise SetupError(
            f"The progress file {path} was written by a newer labkit (format {version}); "
            f"this one reads format {FORMAT_VERSION} and leaves it untouched.",
            advice="Update labkit (git pull, then pip install -e .) to see and record progress.",
        )
    exercises = data.get("exercises")
    if not isinstance(exercises, dict):
        return {}, "no 'exercises' object at the top level"
    try:
        return {
            str(key): ExerciseRecord.from_json(str(key), value) for key, value in exercises.items()
        }, None
    except (ValueError, TypeError) as exc:
        return {}, f"an entry is malformed: {exc}"


def _foreign(path: Path, why: str) -> SetupError:
    return SetupError(
        f"{path} is not a labkit progress file ({why}); labkit leaves it untouched.",
        advice=f"Point --file or {ENV_VAR} at labkit's own progress file "
        "(default ~/.labkit/progress.json), or at a path that does not exist yet.",
    )


def _unreadable(path: Path, why: str) -> SetupError:
    return SetupError(
        f"Cannot read the progress file {path}: {why}.",
        advice=f"Check the path and its permissions, or point {ENV_VAR} at another file.",
    )


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
