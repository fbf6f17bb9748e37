"""One learner working on one exercise: hints revealed, solution shown, attempts.

A session is the state behind a widget, kept out of the widget so it can be used
and tested in plain Python. It starts from what the progress file already knows,
so hints revealed before a kernel restart stay revealed (and keep counting).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from labkit.errors import UsageError
from labkit.exercises.grade import Exercise, Grade
from labkit.exercises.progress import ExerciseRecord, ProgressStore
from labkit.exercises.questions import Question

if TYPE_CHECKING:
    from labkit.target import Target

__all__ = ["ExerciseSession"]


class ExerciseSession:
    """Reveal hints, show the solution and check answers, recording each step.

    ``store=None`` keeps everything in memory (nothing is written). ``record`` is what
    the store holds for this exercise, refreshed after every write.
    """

    def __init__(self, exercise: Exercise, store: ProgressStore | None = None) -> None:
        self.exercise = exercise
        self.store = store
        self.record: ExerciseRecord | None = store.get(exercise.id) if store is not None else None
        self.hints_used = min(self.record.hints_used, len(exercise.hints)) if self.record else 0
        self.solution_shown = self.record.solution_shown if self.record else False
        self.last_grade: Grade | None = None
        #: The probe results behind the last live check, for showing transcripts.
        self.last_evidence: Mapping[str, Any] | None = None

    @property
    def revealed_hints(self) -> tuple[str, ...]:
        return self.exercise.hints[: self.hints_used]

    @property
    def hints_left(self) -> int:
        return len(self.exercise.hints) - self.hints_used

    def next_hint(self) -> str | None:
        """Reveal and record the next hint; ``None`` when all are already shown."""
        if self.hints_left <= 0:
            return None
        self.hints_used += 1
        if self.store is not None:
            self.record = self.store.record_hint(self.exercise.id, self.hints_used)
        return self.exercise.hints[self.hints_used - 1]

    def show_solution(self) -> str:
        """Record that the solution was seen, then return it."""
        if not self.solution_shown and self.store is not None:
            self.record = self.store.record_solution(self.exercise.id)
        self.solution_shown = True
        return self.exercise.solution_text

    def check(self, answer: object) -> Grade:
        """Grade an answer to a question and record the attempt."""
        if not isinstance(self.exercise, Question):
            raise UsageError(f"{self.exercise.id} is a live task; use check_live().")
        grade = self.exercise.grade(
            answer, hints_used=self.hints_used, solution_shown=self.solution_shown
        )
        return self._record(grade)

    def check_live(self, target: Target | None = None) -> Grade:
        """Probe the lab for a live task, grade what was seen, and record the attempt."""
        from labkit.exercises.live import LiveTask

        task = self.exercise
        if not isinstance(task, LiveTask):
            raise UsageError(f"{self.exercise.id} is a question; use check().")
        self.last_evidence = evidence = task.probe(target)
        grade = task.grade(evidence, hints_used=self.hints_used, solution_shown=self.solution_shown)
        return self._record(grade)

    def _record(self, grade: Grade) -> Grade:
        self.last_grade = grade
        if self.store is not None:
            self.record = self.store.record_grade(grade)
        return grade
