"""Cards that ask first: predict-then-check, and SadServers-style challenges.

A :class:`PredictCard` asks the learner to commit to a prediction *before* the
output exists: the probe behind it runs only once the prediction is locked in, and
the prediction gets one try. A :class:`ChallengeCard` is a live task stated as a
terse brief (the goal, no recipe), with a terminal to work in and a live check that
passes only when the server really works from the laptop's vantage point; hints
climb a ladder (a nudge, where to look, the fix), each rung costing more.

In a notebook::

    from labkit.widgets import challenge, predict
    predict("nb02.predict-587", run=lambda: PortScanner(ports="25, 465, 587"))
    challenge("nb02.fix-submission")
"""

from __future__ import annotations

from collections.abc import Callable

import ipywidgets as widgets

from labkit.errors import LabkitError, UsageError
from labkit.exercises.bank import get
from labkit.exercises.grade import Grade
from labkit.exercises.live import LiveTask
from labkit.exercises.progress import ProgressStore
from labkit.exercises.questions import MultipleChoice
from labkit.target import Target
from labkit.widgets._style import error_html, inline_markup
from labkit.widgets.exercise import LiveTaskWidget, QuestionWidget

__all__ = ["ChallengeCard", "PredictCard", "challenge", "predict"]

_TERMINAL = (
    "Work in a terminal (<i>File &rarr; New &rarr; Terminal</i>): you are on the laptop; "
    "<code>ssh mx</code> takes you to the server. No recipe here: find the cause with the "
    "tools you know, then click <b>Check my fix</b>."
)


class PredictCard(QuestionWidget):
    """Predict, lock it in, then see: the output appears only after the prediction.

    ``run`` makes the output (any displayable object, e.g. a transcript or a widget);
    it is called once, when the prediction is locked in, and again by ``rerun``.
    """

    _check_label = "Lock in my prediction"

    def __init__(
        self,
        question: MultipleChoice,
        run: Callable[[], object] | None = None,
        store: ProgressStore | None = None,
        seed: str | None = None,
    ) -> None:
        self.run_output = widgets.Output()
        self._run = run
        super().__init__(question, store, seed)
        self.solution_button.layout.display = "none"
        self.header.value = "<b>Predict, then check:</b> " + self.header.value
        record = self.session.record
        if record is not None and record.attempts:
            self._lock()
            self.status.value += (
                '<div style="color:#757575;font-size:0.85em">You predicted this before; '
                "here is the output.</div>"
            )
            self.show_output()

    def _output_widgets(self) -> list[widgets.Widget]:
        return [self.run_output]

    def check(self) -> Grade | None:
        """Record the prediction (once), then run the probe and show what happened."""
        if self.check_button.disabled:
            return self.session.last_grade
        grade = super().check()
        if grade is None or not self.answer:
            return grade
        self._lock()
        self.show_output()
        return grade

    def show_output(self) -> None:
        """Run the probe behind the card and show its output below the prediction."""
        self.run_output.clear_output()
        if self._run is None:
            return
        with self.run_output:
            try:
                result = self._run()
            except LabkitError as err:
                from IPython.display import HTML, display

                display(HTML(error_html(err)))
                return
            if result is not None:
                from IPython.display import display

                display(result)

    def _lock(self) -> None:
        for box in self.choice_boxes:
            box.disabled = True
        self.check_button.disabled = True
        self.check_button.description = "Prediction locked in"


class ChallengeCard(LiveTaskWidget):
    """A live task as a challenge: the brief, a terminal, and a live check."""

    def __init__(
        self, task: LiveTask, store: ProgressStore | None = None, target: Target | None = None
    ) -> None:
        super().__init__(task, store, target)
        brief = task.brief or task.prompt
        self.header.value = (
            "<b>Challenge:</b> "
            + self.header.value
            + ' <span style="color:#757575;font-size:0.85em">hints: a nudge, where to '
            "look, the fix; each costs more</span>"
        )
        self.prompt.value = (
            f"<div style='font-size:1.05em'>{inline_markup(brief)}</div>"
            f"<div style='color:#616161;margin-top:4px'>{_TERMINAL}</div>"
        )


def predict(
    exercise: str, run: Callable[[], object] | None = None, store: ProgressStore | None = None
) -> PredictCard:
    """The predict-then-check card for a prediction id (``nb02.predict-587``)."""
    found = get(exercise)
    if not isinstance(found, MultipleChoice):
        raise UsageError(f"{exercise} is not a prediction (a single-choice question).")
    return PredictCard(found, run, store)


def challenge(
    task: str, store: ProgressStore | None = None, target: Target | None = None
) -> ChallengeCard:
    """The challenge card for a live task id (``nb02.fix-submission``)."""
    found = get(task)
    if not isinstance(found, LiveTask):
        raise UsageError(f"{task} is a question, not a live task.", advice="Use ask() for it.")
    return ChallengeCard(found, store, target)
