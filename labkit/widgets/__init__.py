"""ipywidgets views over labkit: exercises, and consoles over the probes.

Widgets collect input and show output; grading, probing and recording happen in
:mod:`labkit.exercises` and :mod:`labkit.probes`. Every widget can be built and
clicked in plain Python (``widget.check_button.click()``), which is how it is tested.
"""

from __future__ import annotations

from labkit.widgets.exercise import (
    ExerciseWidget,
    LiveTaskWidget,
    QuestionWidget,
    ask,
    quiz,
)

__all__ = ["ExerciseWidget", "LiveTaskWidget", "QuestionWidget", "ask", "quiz"]
