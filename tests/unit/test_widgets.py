"""Exercise widgets, driven like a learner would, but from Python: set, click, read."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from labkit.exercises import MultipleChoice, ProgressStore, exercises_for, question
from labkit.target import Target
from labkit.testing.certs import CertFactory
from labkit.testing.smtpd import FakeMailServer
from labkit.widgets import LiveTaskWidget, QuestionWidget, ask, quiz
from labkit.widgets._style import grade_html, inline_markup, table_html

Serve = Callable[[FakeMailServer], FakeMailServer]


@pytest.fixture
def store(tmp_path: Path) -> ProgressStore:
    return ProgressStore(tmp_path / "progress.json")


def numeric(store: ProgressStore | None) -> QuestionWidget:
    widget = ask("nb02.errno-linux", store)
    assert isinstance(widget, QuestionWidget)
    return widget


def test_wrong_then_right_answer_updates_feedback_status_and_progress(
    store: ProgressStore,
) -> None:
    widget = numeric(store)
    assert widget.feedback.value == "" and widget.status.value == ""
    widget.set_answer("61")
    widget.check_button.click()
    assert "labkit-bad" in widget.feedback.value
    assert "macOS/BSD" in widget.feedback.value
    assert "not passed yet" in widget.status.value
    widget.text.value = "errno=111"
    widget.check_button.click()
    assert "labkit-ok" in widget.feedback.value and "1/1 points" in widget.feedback.value
    assert "passed" in widget.status.value and "2 tries" in widget.status.value
    record = store.get("nb02.errno-linux")
    assert record is not None and record.attempts == 2 and record.passed


def test_hints_are_revealed_one_by_one_and_recorded(store: ProgressStore) -> None:
    widget = numeric(store)
    hints = question("nb02.errno-linux").hints
    assert widget.hint_button.description == f"Hint ({len(hints)} left)"
    widget.hint_button.click()
    assert "Hint 1:" in widget.hints.value and "Hint 2:" not in widget.hints.value
    for _ in hints:
        widget.hint_button.click()
    assert widget.hint_button.disabled and widget.hint_button.description == "No more hints"
    record = store.get("nb02.errno-linux")
    assert record is not None and record.hints_used == len(hints)
    widget.set_answer("111")
    widget.check_button.click()
    assert f"{len(hints)} hints" in widget.feedback.value


def test_show_solution_asks_first_then_records_and_caps(store: ProgressStore) -> None:
    widget = numeric(store)
    widget.solution_button.click()
    assert widget.solution.value == ""
    assert "Really" in widget.solution_button.description
    assert store.get("nb02.errno-linux") is None
    widget.solution_button.click()
    assert "111" in widget.solution.value and widget.solution_button.disabled
    record = store.get("nb02.errno-linux")
    assert record is not None and record.solution_shown
    widget.set_answer("111")
    widget.check_button.click()
    assert "labkit-partial" in widget.feedback.value and "0/1 points" in widget.feedback.value
    assert "solution was shown" in widget.feedback.value


def test_a_new_kernel_shows_what_was_already_revealed(store: ProgressStore) -> None:
    first = numeric(store)
    first.hint_button.click()
    first.solution_button.click()
    first.solution_button.click()
    first.set_answer("111")
    first.check_button.click()
    again = numeric(store)
    assert "Hint 1:" in again.hints.value
    assert "111" in again.solution.value and again.solution_button.disabled
    assert "1 try" in again.status.value


def test_single_choice_ticks_exclude_each_other(store: ProgressStore) -> None:
    widget = ask("nb02.refused-cause", store)
    assert isinstance(widget, QuestionWidget)
    boxes = widget.choice_boxes
    boxes[1].value = True
    boxes[0].value = True
    assert [b.value for b in boxes] == [True, False, False, False]
    assert widget.answer == "a"
    boxes[0].value = False
    assert widget.answer is None
    widget.check_button.click()
    assert "Pick an option first." in widget.feedback.value


def test_multi_select_one_verdict_then_the_reasons(store: ProgressStore) -> None:
    widget = ask("nb06.root-causes", store)
    assert isinstance(widget, QuestionWidget)
    shown = widget.question
    assert isinstance(shown, MultipleChoice)
    right = sorted(shown.correct_keys)
    wrong = sorted(set(shown.keys) - shown.correct_keys)
    widget.set_answer([right[0], wrong[0]])
    assert widget.answer == tuple(sorted([right[0], wrong[0]]))
    widget.check_button.click()
    assert "labkit-bad" in widget.feedback.value
    assert "<code>ufw status</code> allowed" not in widget.feedback.value
    widget.set_answer(right)
    widget.check_button.click()
    assert "labkit-ok" in widget.feedback.value
    assert "<code>ufw status</code>" not in widget.feedback.value
    assert "2 tries" in widget.status.value


def test_options_are_shuffled_per_learner_and_stable(store: ProgressStore) -> None:
    first = ask("nb06.root-causes", store)
    again = ask("nb06.root-causes", store)
    assert isinstance(first, QuestionWidget) and isinstance(again, QuestionWidget)
    assert first.question == again.question  # a reload shows the same order
    orders = {
        tuple(
            c.text
            for c in QuestionWidget(question("nb06.root-causes"), store, seed=s).question.choices
        )  # type: ignore[attr-defined]
        for s in ("ann", "bob", "cem", "dee", "eve")
    }
    assert len(orders) > 1


def test_short_answer_widget_accepts_smtp_notation(store: ProgressStore) -> None:
    widget = numeric(store)
    auth = ask("nb01.auth-keyword", store)
    assert isinstance(auth, QuestionWidget)
    auth.text.value = "250-AUTH PLAIN LOGIN"
    auth.check_button.click()
    assert "labkit-ok" in auth.feedback.value
    assert widget.text.placeholder == "A number" and auth.text.placeholder == "Your answer"


def test_a_broken_progress_location_is_shown_not_raised(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    widget = QuestionWidget(question("nb02.errno-linux"), ProgressStore(tmp_path / "p.json"))
    widget.session.store = ProgressStore(blocker / "progress.json")
    widget.set_answer("111")
    widget.check_button.click()
    assert "Could not do that." in widget.feedback.value
    assert "LABKIT_PROGRESS" in widget.feedback.value
    widget.hint_button.click()
    assert "Could not do that." in widget.feedback.value


def test_quiz_has_a_card_per_exercise(store: ProgressStore) -> None:
    box = quiz("nb04", store)
    assert [w.exercise.id for w in box.children] == [e.id for e in exercises_for("nb04")]
    assert any(isinstance(w, LiveTaskWidget) for w in box.children)


def test_default_store_follows_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("LABKIT_PROGRESS", str(tmp_path / "env.json"))
    widget = numeric(None)
    widget.set_answer("111")
    widget.check_button.click()
    assert (tmp_path / "env.json").is_file()


# --- live tasks ------------------------------------------------------------------------


def test_live_task_widget_checks_the_fix_and_shows_the_transcripts(
    store: ProgressStore, serve: Serve, certs: CertFactory
) -> None:
    server = serve(FakeMailServer())
    context = Target(address=server.host, smtp_port=server.port, timeout=3.0)
    widget = ask("nb04.no-open-relay", store, context)
    assert isinstance(widget, LiveTaskWidget)
    assert widget.check_button.description == "Check my fix"
    widget.check_button.click()
    assert "labkit-ok" in widget.feedback.value, widget.feedback.value
    assert "foreign recipient refused" in widget.feedback.value
    assert "<details>" in widget.evidence.value and "Relay access denied" in widget.evidence.value
    assert not widget.check_button.disabled
    record = store.get("nb04.no-open-relay")
    assert record is not None and record.passed


def test_live_task_widget_explains_a_failure(store: ProgressStore, closed: tuple[str, int]) -> None:
    host, port = closed
    context = Target(address=host, smtp_port=port, timeout=2.0)
    widget = ask("nb04.no-open-relay", store, context)
    widget.check_button.click()
    assert "labkit-bad" in widget.feedback.value
    assert "refused" in widget.feedback.value


def test_live_task_widget_shows_misuse_as_an_error(store: ProgressStore, tmp_path: Path) -> None:
    context = Target(address="127.0.0.1", cafile=str(tmp_path / "missing-ca.pem"), timeout=1.0)
    widget = ask("nb03.fix-starttls", store, context)
    widget.check_button.click()
    assert "Could not do that." in widget.feedback.value
    assert "missing-ca.pem" in widget.feedback.value
    assert store.get("nb03.fix-starttls") is None


# --- style helpers ---------------------------------------------------------------------


def test_inline_markup_escapes_before_formatting() -> None:
    assert inline_markup("<b>`a<b`</b> *x*") == (
        "&lt;b&gt;<code>a&lt;b</code>&lt;/b&gt; <em>x</em>"
    )
    assert inline_markup("5 * 3 * 2") == "5 * 3 * 2"


def test_grade_html_lists_live_criteria() -> None:
    from labkit.exercises.grade import Criterion, Grade

    html = grade_html(
        Grade(
            score=0.5,
            max_score=1,
            feedback="1 of 2",
            criteria=(Criterion("a", True, "fine"), Criterion("b", False, "fix `b`")),
        )
    )
    assert "labkit-partial" in html and "<code>b</code>" in html and "&#10008;" in html


def test_table_html_escapes_cells() -> None:
    html = table_html(["port", "state"], [["25", "<open>"]], tones=["ok"])
    assert "&lt;open&gt;" in html and "#e8f5e9" in html
