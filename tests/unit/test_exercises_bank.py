"""The course's question bank: complete, consistent, and its facts stay put."""

from __future__ import annotations

import pytest

from labkit.errors import UsageError
from labkit.exercises import (
    NOTEBOOK_TITLES,
    Matching,
    MultipleChoice,
    Numeric,
    Question,
    ShortAnswer,
    all_exercises,
    exercises_for,
    get,
    question,
    questions,
)

QUESTIONS = questions()


def test_every_notebook_has_three_to_eight_questions() -> None:
    assert set(NOTEBOOK_TITLES) >= {f"nb0{i}" for i in range(7)}
    for notebook in (f"nb0{i}" for i in range(7)):
        assert 3 <= len(questions(notebook)) <= 8, notebook


def test_ids_are_unique_and_sorted() -> None:
    ids = [e.id for e in all_exercises()]
    assert ids == sorted(set(ids))


@pytest.mark.parametrize("question", QUESTIONS, ids=lambda q: q.id)
def test_the_shown_solution_is_itself_a_right_answer(question: Question) -> None:
    answer: object = question.solution_text
    if isinstance(question, MultipleChoice):
        answer = sorted(question.correct_keys)
    if isinstance(question, Matching):
        answer = [right for _, right in question.rows]
    assert question.solution_text
    assert question.grade(answer).passed, question.solution_text


@pytest.mark.parametrize(
    "question", [q for q in QUESTIONS if isinstance(q, MultipleChoice)], ids=lambda q: q.id
)
def test_every_wrong_option_says_why_it_is_wrong(question: MultipleChoice) -> None:
    for key in sorted(set(question.keys) - question.correct_keys):
        grade = question.grade([key] if question.multi else key)
        assert not grade.correct
        assert question.choice(key).feedback, f"{question.id} ({key}) has no feedback"
        # Single choice explains the pick; a multi-select try gets one verdict only.
        assert (question.choice(key).feedback in grade.feedback) is not question.multi


@pytest.mark.parametrize(
    "question", [q for q in QUESTIONS if isinstance(q, (Numeric, ShortAnswer))], ids=lambda q: q.id
)
def test_known_wrong_answers_get_their_feedback(question: Numeric | ShortAnswer) -> None:
    for wrong, feedback in question.wrong:
        if not isinstance(wrong, (str, int, float)):
            continue
        grade = question.grade(wrong)
        assert not grade.correct, wrong
        assert feedback in grade.feedback


def _right(question: MultipleChoice) -> list[str]:
    """The right options' keys (their letters depend on the stored order)."""
    keys = sorted(question.correct_keys)
    return keys if question.multi else keys[0]  # type: ignore[return-value]


def _one_right_one_wrong(question: MultipleChoice) -> list[str]:
    wrong = sorted(set(question.keys) - question.correct_keys)
    return [sorted(question.correct_keys)[0], wrong[-1]]


@pytest.mark.parametrize(
    ("exercise_id", "answer", "passes", "feedback"),
    [
        ("nb01.auth-keyword", "250-AUTH PLAIN LOGIN", True, "mechanisms"),
        ("nb01.auth-keyword", "auth plain login", True, ""),
        ("nb01.auth-keyword", "PLAIN", False, "mechanism"),
        ("nb01.starttls-keyword", "250-STARTTLS", True, ""),
        ("nb01.starttls-keyword", "XXXXXXXA", False, "instead of"),
        ("nb01.banner-code", "220", True, ""),
        ("nb01.data-code", "250", False, "after the lone"),
        ("nb02.errno-linux", "errno=111", True, "61"),
        ("nb02.errno-linux", "61", False, "macOS/BSD"),
        ("nb02.errno-linux", "110", False, "ETIMEDOUT"),
        ("nb02.errno-timeout-macos", "60", True, ""),
        ("nb02.errno-timeout-macos", "61", False, "refusal"),
        ("nb02.port-submission", "587/tcp", True, ""),
        ("nb02.port-submission", "465", False, "implicit TLS"),
        ("nb02.master-cf-service", "submission inet n - y - - smtpd", True, ""),
        ("nb02.master-cf-service", "smtps", False, "465"),
        ("nb03.verify-19", "19", True, ""),
        ("nb03.verify-19", "18", False, "leaf"),
        ("nb03.verify-62", "62", True, ""),
        ("nb03.missing-cert-log", "TLS support", True, ""),
        ("nb03.missing-cert-log", "STARTTLS", False, "whole feature"),
        ("nb04.tls-auth-only", "smtpd_tls_auth_only = yes", True, ""),
        ("nb04.tls-auth-only", "smtpd_tls_security_level = encrypt", False, "hide AUTH"),
        ("nb04.relay-denied-code", "454", True, "Relay access denied"),
        ("nb04.relay-denied-code", "554", False, "reject_unauth_destination"),
        ("nb05.mx-cname-rfc", "RFC 2181", True, ""),
        ("nb05.mx-cname-rfc", "5321", False, "elsewhere"),
        ("nb05.dig-mx", "dig +short MX zimmerman.test", True, ""),
        ("nb05.dig-mx", "dig zimmerman.test", False, "A records"),
        ("nb05.dig-mx", "dig mail.zimmerman.test MX", False, "domain"),
        ("nb06.postconf-n", "postconf -n", True, ""),
        ("nb06.postconf-n", "postconf -d", False, "defaults"),
        ("nb06.root-causes", _right, True, ""),
        ("nb06.root-causes", _one_right_one_wrong, False, "not the right set"),
        ("nb06.masked-banner", _right, True, "eight letters"),
    ],
)
def test_bank_facts(exercise_id: str, answer: object, passes: bool, feedback: str) -> None:
    question = get(exercise_id)
    assert isinstance(question, Question)
    grade = question.grade(answer(question) if callable(answer) else answer)
    assert grade.passed is passes, grade.feedback
    assert feedback in grade.feedback


def test_errno_questions_know_both_platforms() -> None:
    linux = get("nb02.errno-linux")
    assert isinstance(linux, Numeric)
    assert linux.answer == 111 and dict(linux.wrong)[61].startswith("That is macOS/BSD")


def test_unknown_id_suggests_close_ones() -> None:
    with pytest.raises(UsageError) as info:
        get("nb02.errno-linx")
    assert info.value.advice is not None and "nb02.errno-linux" in info.value.advice


def test_exercises_for_accepts_short_names_and_rejects_unknown() -> None:
    assert exercises_for("02") == exercises_for("nb02")
    with pytest.raises(UsageError):
        exercises_for("nb42")
    with pytest.raises(UsageError):
        exercises_for("intro")


def test_question_returns_questions_only() -> None:
    assert question("nb02.errno-linux").id == "nb02.errno-linux"
    with pytest.raises(UsageError):
        question("nb99.nothing")
