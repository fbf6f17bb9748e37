"""The course's exercises, one module per notebook, looked up by id.

Ids read ``nbNN.slug`` (``nb02.errno-linux``); the prefix is the notebook. Questions
live in ``nb00`` ... ``nb07``; live tasks, which probe the running lab, in ``tasks``.
"""

from __future__ import annotations

import difflib
from functools import cache

from labkit.errors import UsageError
from labkit.exercises.grade import Exercise, notebook_of
from labkit.exercises.questions import Question

__all__ = [
    "NOTEBOOK_TITLES",
    "all_exercises",
    "exercises_for",
    "get",
    "ids",
    "question",
    "questions",
]

NOTEBOOK_TITLES: dict[str, str] = {
    "nb00": "Welcome",
    "nb01": "Talking SMTP by hand",
    "nb02": "Connection refused",
    "nb03": "STARTTLS and certificates",
    "nb04": "AUTH and relaying",
    "nb05": "DNS for mail",
    "nb06": "Capstone: the blog's server",
    "nb07": "The path",
}


@cache
def _catalogue() -> dict[str, Exercise]:
    from labkit.exercises.bank import (
        nb00,
        nb01,
        nb02,
        nb03,
        nb04,
        nb05,
        nb06,
        nb07,
        predictions,
        tasks,
    )

    items: list[Exercise] = []
    for module in (nb00, nb01, nb02, nb03, nb04, nb05, nb06, nb07):
        items.extend(module.QUESTIONS)
    items.extend(predictions.PREDICTIONS)
    items.extend(tasks.LIVE_TASKS)
    catalogue: dict[str, Exercise] = {}
    for item in items:
        if item.id in catalogue:
            raise UsageError(f"Exercise id {item.id!r} is defined twice.")
        if notebook_of(item.id) not in NOTEBOOK_TITLES:
            raise UsageError(f"Exercise {item.id!r} names an unknown notebook.")
        catalogue[item.id] = item
    return dict(sorted(catalogue.items()))


def all_exercises() -> tuple[Exercise, ...]:
    """Every question and live task, ordered by id."""
    return tuple(_catalogue().values())


def ids() -> tuple[str, ...]:
    return tuple(_catalogue())


def exercises_for(notebook: str) -> tuple[Exercise, ...]:
    """The exercises of one notebook (``"nb02"`` or ``"02"``), ordered by id."""
    key = notebook if notebook.startswith("nb") else "nb" + notebook.zfill(2)
    if key not in NOTEBOOK_TITLES:
        raise UsageError(
            f"Unknown notebook {notebook!r}.", advice="Notebooks: " + ", ".join(NOTEBOOK_TITLES)
        )
    return tuple(e for e in all_exercises() if e.notebook == key)


def questions(notebook: str | None = None) -> tuple[Question, ...]:
    """The questions (not live tasks), of one notebook or of all."""
    pool = all_exercises() if notebook is None else exercises_for(notebook)
    return tuple(e for e in pool if isinstance(e, Question))


def get(exercise_id: str) -> Exercise:
    """The exercise with this id; an unknown id suggests the closest ones."""
    catalogue = _catalogue()
    try:
        return catalogue[exercise_id]
    except KeyError:
        close = difflib.get_close_matches(exercise_id, list(catalogue), n=3)
        advice = ("Did you mean " + ", ".join(close) + "?") if close else None
        raise UsageError(f"No exercise {exercise_id!r}.", advice=advice) from None


def question(exercise_id: str) -> Question:
    """The question with this id (a live task's id is a :class:`UsageError`)."""
    found = get(exercise_id)
    if not isinstance(found, Question):
        raise UsageError(
            f"{exercise_id!r} is a live task, not a question.",
            advice="Check it with LiveTaskWidget or ExerciseSession.check_live().",
        )
    return found
