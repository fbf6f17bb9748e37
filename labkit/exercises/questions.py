"""Question types: multiple choice, short answer and numeric.

Each question is a frozen dataclass whose :meth:`Question.grade` is a pure
function of the answer and the help used. Wrong answers get feedback that says
why they are wrong; the explanation is added once the answer is right, so every
attempt teaches something.

    >>> q = Numeric(id="nb02.errno-linux", title="errno", prompt="ECONNREFUSED on Linux?",
    ...             answer=111, wrong=((61, "That is macOS/BSD's number."),))
    >>> q.grade("errno=111").passed
    True
    >>> q.grade("61").feedback
    "Not quite. That is macOS/BSD's number."
"""

from __future__ import annotations

import hashlib
import math
import random
import re
import string
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import ClassVar, TypeVar

from labkit.errors import UsageError
from labkit.exercises.grade import Exercise, Grade
from labkit.exercises.normalize import find_claims, first_command, normalize_answer

__all__ = [
    "Choice",
    "Matcher",
    "Matching",
    "MultipleChoice",
    "Numeric",
    "Question",
    "ShortAnswer",
    "parse_number",
]

T = TypeVar("T")

#: An accepted (or known wrong) answer: a phrase found as whole words in the
#: normalised answer, a compiled pattern searched in it, or a predicate over it.
Matcher = str | re.Pattern[str] | Callable[[str], bool]


@dataclass(frozen=True, kw_only=True)
class Question(Exercise):
    """An exercise answered by typing or picking; ``explanation`` is shown once right."""

    kind: ClassVar[str] = "question"

    explanation: str = ""
    #: Answers as people really type them that must be accepted (tested).
    variants: tuple[object, ...] = ()
    #: Wrong, mixed or contradicted answers that must fail (tested).
    rejects: tuple[object, ...] = ()

    def __post_init__(self) -> None:
        super().__post_init__()
        self._validate()

    @property
    def solution_text(self) -> str:
        """The author's solution, or one derived from the answer key."""
        return self.solution or self._default_solution()

    def grade(self, answer: object, hints_used: int = 0, solution_shown: bool = False) -> Grade:
        """Grade ``answer``; a wrong or empty answer is a zero score with feedback."""
        fraction, correct, feedback = self._judge(answer)
        if correct and self.explanation:
            feedback = f"{feedback} {self.explanation}"
        raw = Grade(score=fraction, max_score=1.0, feedback=feedback, correct=correct)
        return self.finish(raw, hints_used=hints_used, solution_shown=solution_shown)

    def _validate(self) -> None:
        """Reject a malformed definition when the bank is imported, not when graded."""

    def _judge(self, answer: object) -> tuple[float, bool, str]:
        """Return (fraction of the points, fully correct?, feedback)."""
        raise NotImplementedError

    def _default_solution(self) -> str:
        return ""


# --- multiple choice -------------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    """One option; ``feedback`` says why choosing it is right or wrong."""

    text: str
    correct: bool = False
    feedback: str = ""


_SPLIT_KEYS = re.compile(r"[\s,;/]+")


@dataclass(frozen=True, kw_only=True)
class MultipleChoice(Question):
    """Pick one option (``multi=False``) or every right option (``multi=True``).

    Options are keyed ``a``, ``b``, ``c``... in the order shown. Authors write the
    right option wherever they like: a question keeps its options in a neutral order
    (by a hash of id and text, so no consumer that shows them unshuffled leaks the key),
    and :meth:`for_learner` shuffles them, stably per learner, so that no key is
    guessable by position. A multi-select try gets one verdict: the right set or not,
    with no per-option feedback that would turn it into a guessing game.
    """

    kind: ClassVar[str] = "multiple_choice"

    choices: tuple[Choice, ...]
    multi: bool = False
    #: The learner whose order :attr:`choices` is in (None: the neutral order).
    order_for: str | None = None

    def __post_init__(self) -> None:
        if self.order_for is None:
            neutral = sorted(self.choices, key=lambda c: _neutral_rank(self.id, c.text))
            object.__setattr__(self, "choices", tuple(neutral))
        super().__post_init__()

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(string.ascii_lowercase[: len(self.choices)])

    @property
    def correct_keys(self) -> frozenset[str]:
        return frozenset(k for k, c in zip(self.keys, self.choices, strict=True) if c.correct)

    def choice(self, key: str) -> Choice:
        return self.choices[self.keys.index(key)]

    def for_learner(self, seed: str) -> MultipleChoice:
        """The same question with its options in this learner's order.

        The order depends only on ``seed`` and the question id, so a reload (or a
        new kernel) shows the same order, and two learners usually see different ones.
        """
        base = self if self.order_for is None else replace(self, order_for=None)
        return replace(self, choices=_shuffled(base.choices, seed, self.id), order_for=seed)

    def _validate(self) -> None:
        if not 2 <= len(self.choices) <= 26:
            raise UsageError(f"{self.id}: a multiple-choice question needs 2 to 26 choices.")
        right = len(self.correct_keys)
        if right == 0 or (not self.multi and right != 1):
            raise UsageError(
                f"{self.id}: {right} correct choices; single-choice needs exactly one, "
                "multi-select at least one."
            )
        if len({c.text for c in self.choices}) != len(self.choices):
            raise UsageError(f"{self.id}: two options have the same text.")

    def _resolve(self, answer: object) -> tuple[set[str], list[str]]:
        """Map an answer (keys, or choice texts) to known keys, and list what was not."""
        texts = {c.text: k for k, c in zip(self.keys, self.choices, strict=True)}
        if answer is None:
            items: list[str] = []
        elif isinstance(answer, str):
            items = [answer] if answer.strip() in texts else _SPLIT_KEYS.split(answer)
        elif isinstance(answer, Iterable):
            items = [str(a) for a in answer]
        else:
            items = [str(answer)]
        keys: set[str] = set()
        unknown: list[str] = []
        for item in items:
            key = item.strip().strip("()[].").casefold()
            if not key:
                continue
            if key in self.keys:
                keys.add(key)
            elif item.strip() in texts:
                keys.add(texts[item.strip()])
            else:
                unknown.append(item.strip())
        return keys, unknown

    def _label(self, key: str) -> str:
        return f"({key}) {self.choice(key).text.rstrip('.')}"

    def _judge(self, answer: object) -> tuple[float, bool, str]:
        keys, unknown = self._resolve(answer)
        if unknown:
            listed = ", ".join(map(repr, unknown))
            valid = f"{self.keys[0]}-{self.keys[-1]}"
            return 0.0, False, f"{listed} is not one of the options ({valid})."
        if not keys:
            return 0.0, False, "Pick an option first." if not self.multi else "Pick options first."
        if not self.multi:
            if len(keys) > 1:
                return 0.0, False, "Pick exactly one option."
            (key,) = keys
            chosen = self.choice(key)
            if chosen.correct:
                return 1.0, True, _join("Correct.", chosen.feedback)
            return 0.0, False, _join("Not quite.", chosen.feedback)
        return self._judge_multi(keys)

    def _judge_multi(self, keys: set[str]) -> tuple[float, bool, str]:
        """One verdict for the whole selection; the reasons come once it is right."""
        if keys == self.correct_keys:
            why = " ".join(self.choice(k).feedback for k in sorted(keys) if self.choice(k).feedback)
            return 1.0, True, _join("Correct: exactly the right options.", why)
        return (
            0.0,
            False,
            "Not yet: that is not the right set of options. Check each option on its own "
            "against the evidence (a transcript, a log line, a record) before trying again.",
        )

    def _default_solution(self) -> str:
        return "; ".join(self._label(k) for k in sorted(self.correct_keys))


def _neutral_rank(question_id: str, text: str) -> bytes:
    """A stored option's place: a hash of the question and the option, so the order
    says nothing about which option is right, nor about the order it was written in."""
    return hashlib.sha256(f"{question_id}\0{text}".encode()).digest()


def _shuffled(items: Sequence[T], seed: str, question_id: str) -> tuple[T, ...]:
    """``items`` (in their neutral order) in learner ``seed``'s stable order."""
    order = list(items)
    random.Random(hashlib.sha256(f"{seed}\0{question_id}".encode()).digest()).shuffle(order)
    return tuple(order)


def _join(*parts: str) -> str:
    return " ".join(p for p in parts if p)


# --- matching ---------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Matching(Question):
    """Match each row (a symptom) with one of ``options`` (its cause): a diagnosis.

    ``rows`` pairs each row's text with the right option; ``options`` also holds
    distractors. An answer maps row text (or row index) to an option's text; a list
    gives the options in row order. One verdict per try: all rows right, or not yet
    (no count, no row named), so it cannot be solved by trying rows one at a time.
    """

    kind: ClassVar[str] = "matching"

    rows: tuple[tuple[str, str], ...]
    options: tuple[str, ...]
    #: The learner whose order :attr:`options` is in (None: the neutral order, which
    #: does not follow the rows as authors tend to write them).
    order_for: str | None = None

    def __post_init__(self) -> None:
        if self.order_for is None:
            neutral = sorted(self.options, key=lambda text: _neutral_rank(self.id, text))
            object.__setattr__(self, "options", tuple(neutral))
        super().__post_init__()

    def _validate(self) -> None:
        if len(self.rows) < 2:
            raise UsageError(f"{self.id}: a matching question needs at least two rows.")
        missing = [right for _, right in self.rows if right not in self.options]
        if missing:
            raise UsageError(f"{self.id}: {missing[0]!r} is not among the options.")

    def for_learner(self, seed: str) -> Matching:
        """The options in this learner's order (rows stay in the order written)."""
        base = self if self.order_for is None else replace(self, order_for=None)
        return replace(self, options=_shuffled(base.options, seed, self.id), order_for=seed)

    def _resolve(self, answer: object) -> dict[int, str] | str:
        if answer is None:
            return {}
        if isinstance(answer, dict):
            picked: dict[int, str] = {}
            for key, value in answer.items():
                index = key if isinstance(key, int) else self._row_index(str(key))
                if index is None:
                    return f"{key!r} is not one of the symptoms."
                if value:
                    picked[index] = str(value)
            return picked
        if isinstance(answer, (list, tuple)):
            return {i: str(v) for i, v in enumerate(answer) if v}
        return "Pick a cause for each symptom."

    def _row_index(self, text: str) -> int | None:
        return next((i for i, (row, _) in enumerate(self.rows) if row == text), None)

    def _judge(self, answer: object) -> tuple[float, bool, str]:
        picked = self._resolve(answer)
        if isinstance(picked, str):
            return 0.0, False, picked
        unknown = [v for v in picked.values() if v not in self.options]
        if unknown:
            return 0.0, False, f"{unknown[0]!r} is not one of the causes listed."
        if len(picked) < len(self.rows):
            return 0.0, False, "Pick a cause for every symptom first."
        if all(picked[i] == right for i, (_, right) in enumerate(self.rows)):
            return 1.0, True, "Correct: every symptom has its cause."
        return (
            0.0,
            False,
            "Not yet: at least one symptom has the wrong cause. Check each one against "
            "your evidence from both vantage points.",
        )

    def _default_solution(self) -> str:
        return "; ".join(f"{row} -> {right}" for row, right in self.rows)


# --- short answer ----------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ShortAnswer(Question):
    """A typed answer, judged on what it says rather than on its first word.

    The answer is normalised (:func:`normalize_answer`; with ``command=True`` only its
    first shell command counts, without prompt, ``sudo``, ``ssh HOST`` or directory).
    Then every ``accept`` term and every known-``wrong`` term is looked for
    (:func:`~labkit.exercises.normalize.find_claims`): the answer passes when it
    asserts an accepted term and no wrong one. Terms it denies (``not STARTTLS``)
    do not count, nor wrong ones mentioned only in an explanation (``AUTH, which
    comes after STARTTLS``); an answer that names a right and a wrong term at once,
    or denies the right one, fails. ``keyword`` is kept for EHLO-keyword questions
    and means nothing more than that.
    """

    kind: ClassVar[str] = "short_answer"

    accept: tuple[Matcher, ...]
    wrong: tuple[tuple[Matcher, str], ...] = ()
    keyword: bool = False
    command: bool = False
    smtp_notation: bool = True
    case_sensitive: bool = False
    _accept: tuple[Matcher, ...] = field(init=False, repr=False, compare=False)
    _wrong: tuple[Matcher, ...] = field(init=False, repr=False, compare=False)

    def _validate(self) -> None:
        if not self.accept:
            raise UsageError(f"{self.id}: a short-answer question needs at least one answer.")
        object.__setattr__(self, "_accept", tuple(self._prepare(m) for m in self.accept))
        object.__setattr__(self, "_wrong", tuple(self._prepare(m) for m, _ in self.wrong))

    def _prepare(self, matcher: Matcher) -> Matcher:
        """Normalise author-written phrases the same way as learners' answers.

        In a command, a phrase is the command itself, so it must start the answer
        (``echo postconf -n`` does not run ``postconf -n``).
        """
        if not isinstance(matcher, str):
            return matcher
        text = self._normalize(matcher)
        return re.compile("^" + re.escape(text) + r"(?![\w-])") if self.command else text

    def _normalize(self, text: str) -> str:
        if self.command:
            line = first_command(text)
            program, _, rest = line.partition(" ")
            line = f"{program.casefold()} {rest}".strip()
            return normalize_answer(line, smtp_notation=False, case_sensitive=True)
        return normalize_answer(
            text, smtp_notation=self.smtp_notation, case_sensitive=self.case_sensitive
        )

    def _judge(self, answer: object) -> tuple[float, bool, str]:
        text = self._normalize("" if answer is None else str(answer))
        if not text:
            return 0.0, False, "Type an answer first."
        claims = find_claims(text, self._accept, self._wrong)
        asserted = [c for c in claims if not c.negated]
        head = [c for c in asserted if not c.in_explanation] or asserted
        right = [c for c in head if c.accepted]
        wrong = [c for c in head if not c.accepted]
        if right and wrong:
            return (
                0.0,
                False,
                "Your answer names more than one thing. Which one do you mean? "
                "Give that one (an explanation after it is welcome).",
            )
        if right:
            return 1.0, True, "Correct."
        if wrong:
            return 0.0, False, _join("Not quite.", self.wrong[wrong[0].index][1])
        if any(c.accepted and c.negated for c in claims):
            return 0.0, False, "Your answer says what it is not; say what it is."
        return 0.0, False, "Not the answer we are looking for. A hint may help."

    def _default_solution(self) -> str:
        first = next((m for m in self.accept if isinstance(m, str)), None)
        return first if first is not None else ""


# --- numeric ---------------------------------------------------------------------------

# A whole number token: not part of a word, a version ("5.7.1") or a dotted address.
_NUMBER = re.compile(r"(?<!\w)(?<!\d\.)[-+]?\d+(?:\.\d+)?(?!\w)(?!\.\d)")
# "RFC 2181 §10.3", "RFC2181, section 10.3": the section is not the answer.
_SECTION = re.compile(r"(?:§+|\bsections?\b|\bsec\.)\s*\d+(?:\.\d+)*", re.IGNORECASE)
_RFC = re.compile(r"\brfc\s*-?\s*(?=\d)", re.IGNORECASE)
# "587, not 465": a number the answer rules out is not part of it.
_DENIED_NUMBER = re.compile(
    r"\b(?:not|no|never|isn'?t|instead of|rather than)\s+(?:errno\s+|port\s+|code\s+)?"
    r"[-+]?\d+(?:\.\d+)?\b",
    re.IGNORECASE,
)
_BRACKETS = re.compile(r"\([^()]*\)|\[[^\[\]]*\]")
_BECAUSE = re.compile(
    r"\b(?:because|since|as|which|so|unlike|than|whereas|while)\b|\s-\s", re.IGNORECASE
)


def _numbers(text: str) -> set[float]:
    return {float(n) for n in _NUMBER.findall(text)}


def parse_number(answer: object) -> float | None | str:
    """A number from ``111``, ``"errno=111"``, ``"port 587/tcp"`` or ``"RFC 2181 §10.3"``.

    Numbers in brackets or after ``because``... are an explanation (``111 (61 on
    macOS)``) and count only when the answer has no other; two different numbers
    in the answer itself are a message asking for one.
    """
    if isinstance(answer, bool):
        return "Give a number, not true/false."
    if isinstance(answer, (int, float)):
        return float(answer) if math.isfinite(answer) else "Give a finite number."
    text = "" if answer is None else str(answer).replace("=", " ").replace("/", " ")
    text = _DENIED_NUMBER.sub(" ", _RFC.sub("", _SECTION.sub(" ", text)))
    head = _BECAUSE.split(text, maxsplit=1)[0]
    found = _numbers(_BRACKETS.sub(" ", head)) or _numbers(head) or _numbers(text)
    if not found:
        return "Give a single number." if re.search(r"\d", text) else None
    if len(found) > 1:
        return "Give a single number."
    return found.pop()


@dataclass(frozen=True, kw_only=True)
class Numeric(Question):
    """A number (an errno, a port, a reply code) within ``tolerance``.

    ``wrong`` maps known wrong numbers to feedback, e.g. 61 when asked about Linux.
    """

    kind: ClassVar[str] = "numeric"

    answer: float
    tolerance: float = 0.0
    unit: str = ""
    wrong: tuple[tuple[float, str], ...] = ()

    def _validate(self) -> None:
        if self.tolerance < 0:
            raise UsageError(f"{self.id}: tolerance must be 0 or more.")
        for value, _ in self.wrong:
            if self._close(value):
                raise UsageError(f"{self.id}: known wrong answer {value} is within tolerance.")

    def _close(self, value: float) -> bool:
        return abs(value - self.answer) <= self.tolerance + 1e-9

    def _judge(self, answer: object) -> tuple[float, bool, str]:
        value = parse_number(answer)
        if value is None:
            return 0.0, False, "Type a number first."
        if isinstance(value, str):
            return 0.0, False, value
        if self._close(value):
            return 1.0, True, "Correct."
        for known, feedback in self.wrong:
            if abs(value - known) < 1e-9:
                return 0.0, False, _join("Not quite.", feedback)
        return 0.0, False, f"{_fmt(value)} is not it. A hint may help."

    def _default_solution(self) -> str:
        return _join(_fmt(self.answer), self.unit)


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
