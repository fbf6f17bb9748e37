"""Graders: right answers earn full marks, wrong ones get feedback, nothing raises."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from labkit.errors import UsageError
from labkit.exercises import (
    Choice,
    ExerciseSession,
    MultipleChoice,
    Numeric,
    ShortAnswer,
    keyword_of,
    normalize_answer,
)
from labkit.exercises.grade import (
    HINT_PENALTY,
    MAX_HINT_PENALTY,
    Grade,
    assisted_score,
    check_exercise_id,
    notebook_of,
)
from labkit.exercises.questions import parse_number

# --- fixtures: small questions built the way the bank builds them ----------------------

SINGLE = MultipleChoice(
    id="nb09.single",
    title="single",
    prompt="Which port refuses?",
    choices=(
        Choice("25", feedback="25 answered with a banner."),
        Choice("587", correct=True, feedback="Nothing listened on 587."),
        Choice("53"),
    ),
    explanation="master.cf had it commented out.",
    hints=("first hint", "second hint", "third hint"),
    order_for="as written",  # keys a-c as listed here (the bank's are in neutral order)
)

MULTI = MultipleChoice(
    id="nb09.multi",
    title="multi",
    prompt="Which are causes?",
    multi=True,
    choices=(
        Choice("master.cf", correct=True, feedback="No listener."),
        Choice("middlebox", correct=True, feedback="STARTTLS rewritten."),
        Choice("firewall", feedback="ufw allowed the ports."),
        Choice("certificate", feedback="TLS comes after TCP."),
    ),
    points=2.0,
    order_for="as written",
)

AUTH = ShortAnswer(
    id="nb09.auth",
    title="auth",
    prompt="Which capability?",
    accept=(re.compile(r"(?<![\w-])auth(?: (?:plain|login))*(?![\w-])"),),
    keyword=True,
    wrong=(("plain", "PLAIN is a mechanism."),),
)

SETTING = ShortAnswer(
    id="nb09.setting",
    title="setting",
    prompt="Which parameter?",
    accept=(re.compile(r"^smtpd_tls_auth_only(=yes)?$"), "tls auth only"),
    wrong=((re.compile(r"^smtpd_tls_security_level"), "That controls TLS, not AUTH."),),
)

ERRNO = Numeric(
    id="nb09.errno",
    title="errno",
    prompt="ECONNREFUSED on Linux?",
    answer=111,
    wrong=((61, "That is macOS/BSD's number."),),
)


# --- normalisation ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("AUTH", "auth"),
        ("  auth   plain\tlogin ", "auth plain login"),
        ("250-AUTH PLAIN LOGIN", "auth plain login"),
        ("250 DSN", "dsn"),
        ("> EHLO [206.71.229.162]", "ehlo [206.71.229.162]"),
        ("$ openssl s_client", "openssl s_client"),
        ("`smtpd_tls_auth_only = yes`.", "smtpd_tls_auth_only=yes"),
        ("\u201cTLS support\u201d!", "tls support"),
        ("MAIL FROM: <jez@zimmerman.test>", "mail from:<jez@zimmerman.test>"),
        ("250", "250"),
        ("554 5.7.1", "554 5.7.1"),
        ("mail.zimmerman.test.", "mail.zimmerman.test"),
        ("250-metagross\n250-PIPELINING\n250 DSN", "metagross pipelining dsn"),
        ("", ""),
    ],
)
def test_normalize_answer(typed: str, expected: str) -> None:
    assert normalize_answer(typed) == expected


def test_normalize_can_keep_smtp_codes() -> None:
    assert normalize_answer("250-AUTH", smtp_notation=False) == "250-auth"


@pytest.mark.parametrize("typed", ["250-AUTH PLAIN LOGIN", "AUTH", "auth plain login", "auth."])
def test_keyword_of_smtp_notation(typed: str) -> None:
    assert keyword_of(typed) == "auth"


# --- multiple choice -------------------------------------------------------------------


def test_single_choice_right_answer_gets_full_marks_and_explanation() -> None:
    grade = SINGLE.grade("b")
    assert grade == Grade(
        score=1.0,
        max_score=1.0,
        feedback="Correct. Nothing listened on 587. master.cf had it commented out.",
        correct=True,
        exercise_id="nb09.single",
    )
    assert grade.passed


@pytest.mark.parametrize("answer", ["B", "(b)", "b)", ["b"], "587"])
def test_single_choice_accepts_key_forms_and_choice_text(answer: object) -> None:
    assert SINGLE.grade(answer).passed


def test_single_choice_wrong_answer_explains_why() -> None:
    grade = SINGLE.grade("a")
    assert grade.score == 0 and not grade.passed
    assert grade.feedback == "Not quite. 25 answered with a banner."
    assert "master.cf" not in grade.feedback  # the explanation is kept for the right answer


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (None, "Pick an option first."),
        ("", "Pick an option first."),
        ("a, b", "Pick exactly one option."),
        ("z", "'z' is not one of the options (a-c)."),
    ],
)
def test_single_choice_unusable_answers_give_feedback(answer: object, message: str) -> None:
    grade = SINGLE.grade(answer)
    assert grade.score == 0 and grade.feedback == message


def test_multi_select_all_right() -> None:
    grade = MULTI.grade(["a", "b"])
    assert grade.score == 2.0 and grade.passed
    assert "No listener." in grade.feedback and "STARTTLS rewritten." in grade.feedback


@pytest.mark.parametrize("answer", [["a"], ["b"], "a c", "a b c", "c,d", ["a", "b", "c", "d"]])
def test_multi_select_gives_one_verdict_and_reveals_nothing(answer: object) -> None:
    grade = MULTI.grade(answer)
    assert grade.score == 0.0 and not grade.correct
    # One verdict for the try: no option named, no count of what is missing.
    for text in ("master.cf", "middlebox", "firewall", "certificate", "(a)", "(c)", "1 right"):
        assert text not in grade.feedback
    assert grade.feedback == MULTI.grade("c").feedback


def test_multiple_choice_default_solution_lists_the_right_options() -> None:
    assert MULTI.solution_text == "(a) master.cf; (b) middlebox"


# --- short answer ----------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["250-AUTH PLAIN LOGIN", "AUTH", "auth plain login", " Auth "])
def test_short_answer_keyword_mode_accepts_smtp_notation(typed: str) -> None:
    assert AUTH.grade(typed).passed


def test_short_answer_known_wrong_answer_gets_targeted_feedback() -> None:
    grade = AUTH.grade("PLAIN LOGIN")
    assert not grade.correct
    assert grade.feedback == "Not quite. PLAIN is a mechanism."


def test_short_answer_unknown_wrong_answer_gets_generic_feedback() -> None:
    assert AUTH.grade("HELO").feedback == "Not the answer we are looking for. A hint may help."


@pytest.mark.parametrize(
    "typed",
    [
        "smtpd_tls_auth_only",
        "smtpd_tls_auth_only = yes",
        "`smtpd_tls_auth_only=YES`",
        "TLS auth only!",
    ],
)
def test_short_answer_patterns_and_aliases(typed: str) -> None:
    assert SETTING.grade(typed).passed


def test_short_answer_wrong_pattern() -> None:
    assert SETTING.grade("smtpd_tls_security_level = may").feedback == (
        "Not quite. That controls TLS, not AUTH."
    )


def test_short_answer_empty() -> None:
    assert AUTH.grade("  ").feedback == "Type an answer first."
    assert AUTH.grade(None).feedback == "Type an answer first."


# --- numeric ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer", [111, 111.0, "111", "errno=111", "ECONNREFUSED (111)", "It is 111."]
)
def test_numeric_right_answers(answer: object) -> None:
    assert ERRNO.grade(answer).passed


def test_numeric_known_wrong_number_explained() -> None:
    assert ERRNO.grade("connect:errno=61").feedback == "Not quite. That is macOS/BSD's number."


def test_numeric_unknown_wrong_number() -> None:
    grade = ERRNO.grade(110)
    assert not grade.correct and grade.feedback.startswith("110 is not it.")


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ("", "Type a number first."),
        ("refused", "Type a number first."),
        ("61 or 111", "Give a single number."),
        ("5.7.1", "Give a single number."),
        (True, "Give a number, not true/false."),
        (float("nan"), "Give a finite number."),
    ],
)
def test_numeric_unusable_answers(answer: object, message: str) -> None:
    assert ERRNO.grade(answer).feedback == message


def test_numeric_tolerance() -> None:
    q = Numeric(id="nb09.size", title="size", prompt="MB?", answer=10.24, tolerance=0.05)
    assert q.grade("10.2").passed
    assert not q.grade("10.3").passed


def test_parse_number_keeps_ports_and_rejects_versions() -> None:
    assert parse_number("587/tcp") == 587.0
    assert parse_number("port 465") == 465.0
    assert parse_number("none") is None


# --- hints and solutions ---------------------------------------------------------------


def test_hints_reduce_the_score_but_not_below_the_cap() -> None:
    assert ERRNO.grade("111", hints_used=1).score == pytest.approx(1 - HINT_PENALTY)
    many = ERRNO.grade("111", hints_used=50)
    assert many.score == pytest.approx(1 - MAX_HINT_PENALTY)
    assert many.passed and many.hints_used == 50


def test_shown_solution_caps_the_score_and_is_marked() -> None:
    grade = ERRNO.grade("111", solution_shown=True)
    assert grade.score == 0.0 and grade.solution_shown
    assert grade.correct and not grade.passed
    assert "solution was shown" in grade.feedback


def test_assisted_score_rejects_negative_hints() -> None:
    with pytest.raises(UsageError):
        assisted_score(1.0, 1.0, hints_used=-1)


# --- definitions are checked when written ----------------------------------------------


@pytest.mark.parametrize(
    "bad", ["errno", "nb2.errno", "NB02.errno", "nb02.Errno", "nb02.a_b", "nb02."]
)
def test_bad_exercise_ids_are_rejected(bad: str) -> None:
    with pytest.raises(UsageError):
        check_exercise_id(bad)


def test_notebook_of() -> None:
    assert notebook_of("nb02.errno-linux") == "nb02"
    assert ERRNO.notebook == "nb09"


def test_single_choice_needs_exactly_one_right_option() -> None:
    with pytest.raises(UsageError, match="exactly one"):
        MultipleChoice(
            id="nb09.bad",
            title="bad",
            prompt="?",
            choices=(Choice("a", correct=True), Choice("b", correct=True)),
        )


def test_numeric_known_wrong_inside_tolerance_is_rejected() -> None:
    with pytest.raises(UsageError, match="within tolerance"):
        Numeric(id="nb09.bad", title="b", prompt="?", answer=10, tolerance=1, wrong=((10.5, "x"),))


def test_short_answer_needs_an_answer() -> None:
    with pytest.raises(UsageError):
        ShortAnswer(id="nb09.bad", title="b", prompt="?", accept=())


# --- sessions: hints revealed in order, solution recorded -------------------------------


def test_session_reveals_hints_progressively() -> None:
    session = ExerciseSession(SINGLE)
    assert session.next_hint() == "first hint"
    assert session.next_hint() == "second hint"
    assert session.revealed_hints == ("first hint", "second hint")
    assert session.hints_left == 1
    assert session.next_hint() == "third hint"
    assert session.next_hint() is None
    assert session.check("b").hints_used == 3


def test_session_solution_applies_to_later_checks() -> None:
    session = ExerciseSession(ERRNO)
    assert session.show_solution() == "111"
    grade = session.check("111")
    assert grade.solution_shown and grade.score == 0 and not grade.passed
    assert session.last_grade == grade


# --- property: graders never raise on whatever a learner types --------------------------


@given(st.one_of(st.text(), st.integers(), st.floats(), st.none(), st.lists(st.text())))
def test_graders_never_raise_and_stay_in_range(answer: object) -> None:
    for question in (SINGLE, MULTI, AUTH, SETTING, ERRNO):
        grade = question.grade(answer)
        assert 0.0 <= grade.score <= grade.max_score
        assert grade.feedback
