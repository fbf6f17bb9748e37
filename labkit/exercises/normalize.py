"""Make typed answers comparable: the way people really type them.

Learners copy answers from transcripts and terminals, so ``250-AUTH PLAIN LOGIN``,
``> EHLO x`` and `` `auth plain login`. `` must all reduce to the same text, and so
must ``$ postconf -n``, ``root@mx:~# postconf -n``, ``sudo /usr/sbin/postconf -n``
and ``ssh mx 'postconf -n'``. What is kept matters as much as what is dropped: inner
dots (``5.7.1``, ``mail.zimmerman.test``), underscores (``smtpd_tls_auth_only``) and
hyphens (``-starttls``) carry meaning, so only punctuation at the edges is removed.

:func:`find_claims` then reads the normalised text for *meaning*: which of the
known terms it asserts, which it denies (``not STARTTLS``, ``starttls is wrong``),
and which only appear in an explanation after ``because``/``which``...
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = [
    "Claim",
    "find_claims",
    "first_command",
    "keyword_of",
    "normalize_answer",
    "strip_shell",
]

_QUOTES = re.compile(r"[`'\"\u2018\u2019\u201c\u201d]")
# The blog's transcript legend: "$ " typed at the shell, "> " sent to the server.
_MARKER = re.compile(r"^[$>]\s+")
# An SMTP reply code in front of text ("250-AUTH ...", "220 mail ESMTP"), not a bare "250".
_REPLY_CODE = re.compile(r"^[2-5]\d\d[ -](?=[^\d\s])")
_AROUND_EQUALS = re.compile(r"\s*=\s*")
_BEFORE_ANGLE = re.compile(r":\s+<")
_SPACES = re.compile(r"\s+")
_EDGE_PUNCTUATION = ".,;:!?"

# Shell prompts: "$ ", "# ", "% ", "user@host:~$ ", "root@mx:/etc/postfix# ", "(venv) $ ".
_PROMPT = re.compile(r"^(?:\([\w.-]+\)\s*)?(?:[\w.-]+@[\w.-]+(?::[^\s$#%]*)?\s*)?[$#%>]\s+")
_SUDO = re.compile(r"^sudo(?:\s+-\S+)*\s+")
# "ssh mx CMD", "ssh -t root@mx 'CMD'", "ssh mail.zimmerman.test -- CMD"
_SSH = re.compile(r"^ssh(?:\s+-\S+)*\s+(?:[\w.-]+@)?[\w.-]+\s+(?:--\s+)?(?P<command>\S.*)$")
_PATH = re.compile(r"^(?:/[\w.-]+)+/(?=[\w.-]+(?:\s|$))")
_COMMAND_SEPARATOR = re.compile(r"\s*(?:;|&&|\|\||\||\n)\s*")


def _normalize_line(line: str) -> str:
    line = line.strip()
    line = _MARKER.sub("", line)
    line = _REPLY_CODE.sub("", line)
    return line.strip()


def normalize_answer(text: str, *, smtp_notation: bool = True, case_sensitive: bool = False) -> str:
    """Lower-case, unquoted, single-spaced text without transcript decoration.

    With ``smtp_notation`` (the default) each line also loses a leading ``$ ``/``> ``
    marker and an SMTP reply code, so a pasted EHLO line compares as its keyword line.
    ``case_sensitive`` keeps the case, for shell commands where ``-M`` is not ``-m``.
    """
    text = _QUOTES.sub("", text if case_sensitive else text.casefold())
    lines = text.splitlines() or [""]
    if smtp_notation:
        lines = [_normalize_line(line) for line in lines]
    text = " ".join(line for line in lines if line.strip())
    text = _SPACES.sub(" ", text).strip()
    text = _AROUND_EQUALS.sub("=", text)
    text = _BEFORE_ANGLE.sub(":<", text)
    return text.strip(_EDGE_PUNCTUATION + " ")


def strip_shell(command: str) -> str:
    """One command line without what surrounds it in a terminal.

    Prompts, ``sudo``, an ``ssh HOST`` wrapper (with the command quoted or not) and
    the directory of the program are dropped, as often as they are nested:
    ``root@laptop:~$ sudo ssh mx '/usr/sbin/postconf -n'`` -> ``postconf -n``.
    """
    text = command.strip()
    while True:
        before = text
        text = _PROMPT.sub("", text)
        text = _SUDO.sub("", text)
        wrapped = _SSH.match(text)
        if wrapped:
            text = wrapped.group("command").strip()
            if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
                text = text[1:-1].strip()
        text = _PATH.sub("", text)
        if text == before:
            return text


def first_command(text: str) -> str:
    """The first shell command of an answer: ``dig x MX +short; echo done`` -> ``dig x MX +short``.

    Only the first command counts, so an answer cannot smuggle the expected word in
    through a second command (``dig zimmerman.test AAAA; echo mx``).
    """
    lines = [line for line in text.strip().splitlines() if line.strip()]
    if not lines:
        return ""
    head = strip_shell(lines[0])
    return strip_shell(_COMMAND_SEPARATOR.split(head, maxsplit=1)[0])


def keyword_of(text: str) -> str:
    """The first word of a normalised answer: an EHLO keyword or an SMTP verb.

    ``250-AUTH PLAIN LOGIN``, ``AUTH`` and ``auth plain login`` all give ``auth``.
    Graders do not judge by it (an answer is more than its first word); it names
    the keyword of a pasted EHLO line.
    """
    words = normalize_answer(text).split(" ", 1)
    return words[0].strip(_EDGE_PUNCTUATION)


# --- reading an answer for what it claims ------------------------------------------------

#: A term to look for: a phrase (found as whole words), a pattern, or a predicate
#: over the whole normalised text (its "span" is then the whole text).
Term = str | re.Pattern[str] | Callable[[str], bool]

# Words that deny the term right after them ("not STARTTLS", "no AUTH", "isn't 554")...
_NEGATION_BEFORE = re.compile(
    r"(?:\b(?:not|no|never|isn'?t|wasn'?t|aren'?t|without|except|instead of|rather than)"
    r"|n't)\s+(?:\w+\s+)?$"
)
# ... or right after it ("starttls is wrong", "587 is not it", "AUTH: incorrect").
_NEGATION_AFTER = re.compile(
    r"^\s*(?:,\s*)?(?:(?:is|was|would be|are)\s+)?(?:not\b|wrong\b|incorrect\b|false\b|"
    r"isn'?t\b|wasn'?t\b)"
)
# Where an explanation starts: words after it describe, they do not answer.
_EXPLANATION = re.compile(
    r"(?:\s+(?:because|since|as|which|so that|so|after|before|when|while|otherwise|"
    r"unlike|than|e\.g\.|i\.e\.|for example)\b|\s+-\s+|\s*\(|:\s)"
)


@dataclass(frozen=True)
class Claim:
    """One known term found in an answer, where, and whether the answer denies it."""

    index: int
    accepted: bool
    start: int
    end: int
    negated: bool
    in_explanation: bool


def _spans(term: Term, text: str) -> list[tuple[int, int]]:
    if isinstance(term, re.Pattern):
        return [m.span() for m in term.finditer(text) if m.end() > m.start()]
    if callable(term):
        return [(0, len(text))] if term(text) else []
    pattern = re.compile(r"(?<![\w.-])" + re.escape(term) + r"(?![\w-]|\.\w)")
    return [m.span() for m in pattern.finditer(text)]


def find_claims(text: str, accepted: Sequence[Term], wrong: Sequence[Term]) -> list[Claim]:
    """Every accepted and known-wrong term in ``text``, in order of appearance.

    A match inside a longer match of another term is dropped (``plain`` inside an
    accepted ``auth plain login``; an accepted ``smtpd_tls_auth_only`` inside a
    wrong ``smtpd_tls_auth_only=no``). Each claim says whether it is denied and
    whether it lies in an explanation (after ``because``, ``which``, a dash...).
    """
    explained = _EXPLANATION.search(text)
    explanation_at = explained.start() if explained else len(text)
    found: list[tuple[int, int, int, bool]] = []
    for accepted_term, terms in ((True, accepted), (False, wrong)):
        for index, term in enumerate(terms):
            for start, end in _spans(term, text):
                found.append((start, end, index, accepted_term))
    kept = [
        f
        for f in found
        if not any(
            o is not f and o[0] <= f[0] and f[1] <= o[1] and (o[1] - o[0]) > (f[1] - f[0])
            for o in found
        )
    ]
    claims = []
    for start, end, index, accepted_term in sorted(kept):
        negated = bool(
            _NEGATION_BEFORE.search(text[max(0, start - 30) : start])
            or _NEGATION_AFTER.match(text[end : end + 30])
        )
        claims.append(Claim(index, accepted_term, start, end, negated, start >= explanation_at > 0))
    return claims
