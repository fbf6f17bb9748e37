"""Exercise widgets: a question or a live task, with Check, Hint and Show solution.

Widgets only collect input and show output. Grading is :class:`~labkit.exercises.
session.ExerciseSession`'s job, which also records every step in the progress file.
Everything works without a browser: tests set an input and call ``button.click()``,
then read ``widget.feedback.value``.

In a notebook cell::

    from labkit.widgets import ask
    ask("nb02.errno-linux")
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from labkit.errors import LabkitError
from labkit.exercises.bank import exercises_for, get
from labkit.exercises.grade import Exercise, Grade
from labkit.exercises.learner import learner_seed
from labkit.exercises.progress import ProgressStore
from labkit.exercises.questions import Matching, MultipleChoice, Question
from labkit.exercises.session import ExerciseSession
from labkit.widgets._style import (
    button,
    card_layout,
    error_html,
    grade_html,
    inline_markup,
    message_html,
)

if TYPE_CHECKING:
    from labkit.exercises.live import LiveTask
    from labkit.target import Target

__all__ = ["ExerciseWidget", "LiveTaskWidget", "QuestionWidget", "ask", "quiz"]

_ARMED = "Really show it? (no points after this)"


class ExerciseWidget(widgets.VBox):
    """What every exercise card shows: title, prompt, hints, solution, feedback, status.

    ``store=None`` records to the learner's default progress file.
    """

    def __init__(self, exercise: Exercise, store: ProgressStore | None = None) -> None:
        self.exercise = exercise
        self.session = ExerciseSession(exercise, store if store is not None else ProgressStore())
        self.header = widgets.HTML(
            f"<b>{html.escape(exercise.title)}</b> "
            f'<span style="color:#757575;font-size:0.85em">{html.escape(exercise.id)}</span>'
        )
        self.prompt = widgets.HTML(f"<div>{inline_markup(exercise.prompt)}</div>")
        self.check_button = button(self._check_label, style="primary", icon="check")
        self.hint_button = button("Hint", icon="lightbulb-o")
        self.solution_button = button("Show solution", style="warning", icon="eye")
        self.hints = widgets.HTML()
        self.solution = widgets.HTML()
        self.feedback = widgets.HTML()
        self.status = widgets.HTML()
        self.check_button.on_click(self._on_check)
        self.hint_button.on_click(self._on_hint)
        self.solution_button.on_click(self._on_solution)
        self._solution_armed = False
        buttons = widgets.HBox([self.check_button, self.hint_button, self.solution_button])
        super().__init__(
            [
                self.header,
                self.prompt,
                *self._input_widgets(),
                buttons,
                self.hints,
                self.feedback,
                *self._output_widgets(),
                self.solution,
                self.status,
            ],
            layout=card_layout(),
        )
        self._show_hints()
        if self.session.solution_shown:
            self._show_solution()
        self._show_status()

    _check_label = "Check"

    # --- what subclasses provide ------------------------------------------------------

    def _input_widgets(self) -> list[widgets.Widget]:
        return []

    def _output_widgets(self) -> list[widgets.Widget]:
        return []

    def _grade(self) -> Grade:
        raise NotImplementedError

    # --- callbacks (public so a notebook or a test can call them directly) -------------

    def check(self) -> Grade | None:
        """Grade the current input, show the feedback, record the attempt."""
        try:
            grade = self._grade()
        except LabkitError as err:
            self.feedback.value = error_html(err)
            return None
        self.feedback.value = grade_html(grade)
        self._show_status()
        return grade

    def reveal_hint(self) -> str | None:
        try:
            hint = self.session.next_hint()
        except LabkitError as err:
            self.feedback.value = error_html(err)
            return None
        self._show_hints()
        return hint

    def reveal_solution(self) -> str | None:
        """First call arms the button (it costs the points); the second shows the solution."""
        if not self._solution_armed and not self.session.solution_shown:
            self._solution_armed = True
            self.solution_button.description = _ARMED
            return None
        try:
            text = self.session.show_solution()
        except LabkitError as err:
            self.feedback.value = error_html(err)
            return None
        self._show_solution()
        self._show_status()
        return text

    def _on_check(self, _: widgets.Button) -> None:
        self.check()

    def _on_hint(self, _: widgets.Button) -> None:
        self.reveal_hint()

    def _on_solution(self, _: widgets.Button) -> None:
        self.reveal_solution()

    # --- rendering ---------------------------------------------------------------------

    def _show_hints(self) -> None:
        revealed = self.session.revealed_hints
        self.hints.value = "".join(
            message_html(text, "info", title=f"Hint {i}:") for i, text in enumerate(revealed, 1)
        )
        left = self.session.hints_left
        if not self.exercise.hints:
            self.hint_button.layout.display = "none"
        self.hint_button.description = f"Hint ({left} left)" if left else "No more hints"
        self.hint_button.disabled = left == 0

    def _show_solution(self) -> None:
        self._solution_armed = False
        self.solution.value = message_html(self.exercise.solution_text, "muted", title="Solution:")
        self.solution_button.description = "Solution shown"
        self.solution_button.disabled = True

    def _show_status(self) -> None:
        record = self.session.record
        if record is None or record.attempts == 0:
            self.status.value = ""
            return
        mark = "\u2714 passed" if record.passed else "not passed yet"
        hints = f" \u00b7 {record.hints_used} hint{'s' if record.hints_used != 1 else ''}"
        self.status.value = (
            '<div style="color:#757575;font-size:0.85em">'
            f"{mark} \u00b7 best {record.best_score:g}/{record.max_score:g} \u00b7 "
            f"{record.attempts} tr{'ies' if record.attempts != 1 else 'y'}"
            f"{hints if record.hints_used else ''}</div>"
        )


class QuestionWidget(ExerciseWidget):
    """A question: options as checkboxes (one or several), or a text field.

    ``set_answer`` fills the input programmatically; ``answer`` reads it back in the
    form the grader takes (a key, a tuple of keys, or text).
    """

    def __init__(
        self, question: Question, store: ProgressStore | None = None, seed: str | None = None
    ) -> None:
        if isinstance(question, (MultipleChoice, Matching)):
            if seed is None:
                where = store.path.parent / "learner-id" if store is not None else None
                seed = learner_seed(where)
            question = question.for_learner(seed)
        self.question = question
        self.choice_boxes: list[widgets.Checkbox] = []
        self.row_menus: list[widgets.Dropdown] = []
        self.text = widgets.Text(
            placeholder="A number" if question.kind == "numeric" else "Your answer",
            layout=widgets.Layout(width="60%"),
        )
        super().__init__(question, store)

    def _input_widgets(self) -> list[widgets.Widget]:
        if isinstance(self.question, Matching):
            lines: list[widgets.Widget] = []
            for row, _ in self.question.rows:
                menu = widgets.Dropdown(
                    options=[("(pick a cause)", ""), *[(o, o) for o in self.question.options]],
                    value="",
                    layout=widgets.Layout(width="45%"),
                )
                self.row_menus.append(menu)
                label = widgets.HTML(
                    f"<div style='width:100%'>{inline_markup(row)}</div>",
                    layout=widgets.Layout(width="50%"),
                )
                lines.append(widgets.HBox([label, menu]))
            return [widgets.HTML('<i style="color:#757575">One cause per symptom.</i>'), *lines]
        if not isinstance(self.question, MultipleChoice):
            return [self.text]
        rows: list[widgets.Widget] = []
        for key, choice in zip(self.question.keys, self.question.choices, strict=True):
            box = widgets.Checkbox(value=False, indent=False, layout=widgets.Layout(width="auto"))
            box.observe(self._on_choice, names="value")
            self.choice_boxes.append(box)
            label = widgets.HTML(f"<b>({key})</b> {inline_markup(choice.text)}")
            rows.append(widgets.HBox([box, label]))
        note = "Select all that apply." if self.question.multi else "Select one."
        return [widgets.HTML(f'<i style="color:#757575">{note}</i>'), *rows]

    def _on_choice(self, change: dict[str, object]) -> None:
        """Single choice: ticking one option unticks the others."""
        assert isinstance(self.question, MultipleChoice)
        if self.question.multi or not change["new"]:
            return
        for box in self.choice_boxes:
            if box is not change["owner"] and box.value:
                box.value = False

    @property
    def answer(self) -> object:
        if isinstance(self.question, Matching):
            return [menu.value for menu in self.row_menus]
        if not isinstance(self.question, MultipleChoice):
            return self.text.value
        keys = tuple(
            k for k, box in zip(self.question.keys, self.choice_boxes, strict=True) if box.value
        )
        if self.question.multi:
            return keys
        return keys[0] if keys else None

    def set_answer(self, answer: object) -> None:
        """Fill the input: text, option keys (``"b"`` or ``["a", "c"]``), or causes."""
        if isinstance(self.question, Matching):
            values = list(answer) if isinstance(answer, (list, tuple)) else []
            for menu, value in zip(self.row_menus, values, strict=False):
                menu.value = value if value in self.question.options else ""
            return
        if not isinstance(self.question, MultipleChoice):
            self.text.value = "" if answer is None else str(answer)
            return
        if isinstance(answer, str):
            wanted = {answer}
        elif isinstance(answer, Iterable):
            wanted = {str(a) for a in answer}
        else:
            wanted = set()
        for key, box in zip(self.question.keys, self.choice_boxes, strict=True):
            box.value = key in wanted

    def _grade(self) -> Grade:
        return self.session.check(self.answer)


class LiveTaskWidget(ExerciseWidget):
    """A fix to make in the lab, checked by probing it with "Check my fix"."""

    _check_label = "Check my fix"

    def __init__(
        self,
        task: LiveTask,
        store: ProgressStore | None = None,
        target: Target | None = None,
    ) -> None:
        self.task = task
        self.target = target
        #: Transcripts of what the probes saw, folded away under the feedback.
        self.evidence = widgets.HTML()
        super().__init__(task, store)

    def _output_widgets(self) -> list[widgets.Widget]:
        return [self.evidence]

    def _grade(self) -> Grade:
        self.check_button.disabled = True
        self.check_button.description = "Probing the lab..."
        self.feedback.value = message_html("Probing the lab...", "muted")
        self.evidence.value = ""
        try:
            grade = self.session.check_live(self.target)
        finally:
            self.check_button.disabled = False
            self.check_button.description = self._check_label
        self.evidence.value = evidence_html(self.session.last_evidence or {})
        return grade


def evidence_html(evidence: Mapping[str, Any]) -> str:
    """Each probe result's transcript, folded under its name (``<details>``)."""
    parts = []
    for name, result in evidence.items():
        transcript = getattr(result, "transcript", None)
        if transcript is None or not hasattr(transcript, "render_html"):
            continue
        label = html.escape(name.replace("_", " "))
        parts.append(
            f"<details><summary>What the probe saw: {label}</summary>"
            f"{transcript.render_html()}</details>"
        )
    return "".join(parts)


def ask(
    exercise: str | Exercise,
    store: ProgressStore | None = None,
    target: Target | None = None,
) -> ExerciseWidget:
    """The widget for an exercise id (or object): a question or a live task.

    ``target`` says where the lab is, for live tasks (default: the lab's settings).
    """
    from labkit.exercises.live import LiveTask

    item = get(exercise) if isinstance(exercise, str) else exercise
    if isinstance(item, LiveTask):
        return LiveTaskWidget(item, store, target)
    if isinstance(item, Question):
        return QuestionWidget(item, store)
    raise TypeError(f"No widget for {type(item).__name__}.")


def quiz(
    notebook: str, store: ProgressStore | None = None, target: Target | None = None
) -> widgets.VBox:
    """Every exercise of a notebook, one card after another."""
    shared = store if store is not None else ProgressStore()
    return widgets.VBox([ask(e, shared, target) for e in exercises_for(notebook)])
