"""Exercises: graders, the course's question bank, live tasks and progress.

Graders are pure functions of an answer (or of probe results, for live tasks) that
return a :class:`Grade`; widgets and the CLI are views over them.
"""

from __future__ import annotations

from labkit.exercises.bank import (
    NOTEBOOK_TITLES,
    all_exercises,
    exercises_for,
    get,
    question,
    questions,
)
from labkit.exercises.grade import Criterion, Exercise, Grade
from labkit.exercises.normalize import keyword_of, normalize_answer
from labkit.exercises.progress import ExerciseRecord, ProgressStore, ProgressWarning
from labkit.exercises.questions import (
    Choice,
    Matching,
    MultipleChoice,
    Numeric,
    Question,
    ShortAnswer,
)
from labkit.exercises.session import ExerciseSession

__all__ = [
    "NOTEBOOK_TITLES",
    "Choice",
    "Criterion",
    "Exercise",
    "ExerciseRecord",
    "ExerciseSession",
    "Grade",
    "Matching",
    "MultipleChoice",
    "Numeric",
    "ProgressStore",
    "ProgressWarning",
    "Question",
    "ShortAnswer",
    "all_exercises",
    "exercises_for",
    "get",
    "keyword_of",
    "normalize_answer",
    "question",
    "questions",
]
