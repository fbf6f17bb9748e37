"""What a grader returns, and how hints and a shown solution change a score.

A grader never prints and never raises for a wrong answer: a wrong answer is a
:class:`Grade` with zero points and feedback that says *why* it is wrong. Only
misuse (a malformed exercise definition) raises a :class:`~labkit.errors.UsageError`.

Assistance is part of the grade so progress can show it honestly:

* hints are a ladder (a nudge, then where to look, then the fix), and each rung
  costs more than the one before: the n-th hint costs n x :data:`HINT_PENALTY` of
  the points (10 %, then 20 %, then 30 %), at most :data:`MAX_HINT_PENALTY` in
  total, so a learner who climbed the whole ladder still passes;
* a shown solution caps the score at :data:`SOLUTION_CAP` and the exercise is not
  counted as passed, though the feedback still says whether the answer was right.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import ClassVar

from labkit.errors import UsageError

__all__ = [
    "HINT_PENALTY",
    "MAX_HINT_PENALTY",
    "SOLUTION_CAP",
    "Criterion",
    "Exercise",
    "Grade",
    "assisted_score",
    "check_exercise_id",
    "notebook_of",
]

#: Fraction of the points the first hint costs; the n-th costs n times as much.
HINT_PENALTY = 0.1
#: Hints never cost more than this fraction of the points.
MAX_HINT_PENALTY = 0.6
#: Fraction of the points still available once the solution has been shown.
SOLUTION_CAP = 0.0

_ID = re.compile(r"^nb\d{2}\.[a-z0-9]+(?:-[a-z0-9]+)*$")


@dataclass(frozen=True)
class Criterion:
    """One thing a live task looks at: whether it holds, and what was seen."""

    name: str
    met: bool
    detail: str


@dataclass(frozen=True)
class Grade:
    """The outcome of checking one answer (or one live fix).

    ``score`` already includes hint and solution adjustments; ``correct`` says
    whether the answer itself was fully right, whatever help was used.
    """

    score: float
    max_score: float
    feedback: str
    hints_used: int = 0
    solution_shown: bool = False
    correct: bool = False
    exercise_id: str = ""
    criteria: tuple[Criterion, ...] = ()

    @property
    def passed(self) -> bool:
        """Right, and solved without looking at the solution."""
        return self.correct and not self.solution_shown

    @property
    def fraction(self) -> float:
        return self.score / self.max_score if self.max_score else 0.0


def assisted_score(
    raw_score: float,
    max_score: float,
    *,
    hints_used: int = 0,
    solution_shown: bool = False,
    hint_penalty: float = HINT_PENALTY,
) -> float:
    """Scale a raw score by the help the learner asked for."""
    if hints_used < 0:
        raise UsageError(f"hints_used must be 0 or more, not {hints_used}.")
    penalty = min(hint_penalty * hints_used * (hints_used + 1) / 2, MAX_HINT_PENALTY)
    score = raw_score * (1.0 - penalty)
    if solution_shown:
        score = min(score, SOLUTION_CAP * max_score)
    return round(max(0.0, score), 4)


def check_exercise_id(exercise_id: str) -> str:
    """Exercise ids look like ``nb02.errno-linux``: notebook, dot, lower-case slug."""
    if not _ID.match(exercise_id):
        raise UsageError(
            f"Bad exercise id {exercise_id!r}.",
            advice="Use 'nbNN.some-slug', e.g. 'nb02.errno-linux'.",
        )
    return exercise_id


def notebook_of(exercise_id: str) -> str:
    """The notebook an exercise belongs to: ``nb02.errno-linux`` -> ``nb02``."""
    return exercise_id.split(".", 1)[0]


@dataclass(frozen=True, kw_only=True)
class Exercise:
    """What every question and live task has: an id, a prompt, hints, a solution, points.

    :meth:`finish` turns a raw verdict into the learner's :class:`Grade`, so hints and a
    shown solution count the same way everywhere.
    """

    kind: ClassVar[str] = "exercise"

    id: str
    title: str
    prompt: str
    hints: tuple[str, ...] = ()
    solution: str = ""
    points: float = 1.0
    hint_penalty: float = HINT_PENALTY

    def __post_init__(self) -> None:
        check_exercise_id(self.id)
        if self.points <= 0:
            raise UsageError(f"{self.id}: points must be positive, not {self.points}.")

    @property
    def notebook(self) -> str:
        return notebook_of(self.id)

    @property
    def max_score(self) -> float:
        return self.points

    @property
    def solution_text(self) -> str:
        """The solution as shown to the learner."""
        return self.solution

    def finish(self, raw: Grade, *, hints_used: int = 0, solution_shown: bool = False) -> Grade:
        """Scale a raw verdict (any ``max_score``) to this exercise's points, with help."""
        fraction = raw.score / raw.max_score if raw.max_score else 0.0
        feedback = raw.feedback
        if solution_shown:
            feedback += " The solution was shown, so this attempt earns no points."
        return replace(
            raw,
            score=assisted_score(
                fraction * self.points,
                self.points,
                hints_used=hints_used,
                solution_shown=solution_shown,
                hint_penalty=self.hint_penalty,
            ),
            max_score=self.points,
            feedback=feedback,
            hints_used=hints_used,
            solution_shown=solution_shown,
            exercise_id=self.id,
        )
