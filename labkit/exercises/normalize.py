"""Make typed answers comparable: case, spacing, punctuation and SMTP notation.

Learners copy answers from transcripts, so ``250-AUTH PLAIN LOGIN``,
``> EHLO x`` and `` `auth plain login`. `` must all reduce to the same text.
What is kept matters as much as what is dropped: inner dots (``5.7.1``,
``mail.zimmerman.test``), underscores (``smtpd_tls_auth_only``) and hyphens
(``-starttls``) carry meaning, so only punctuation at the edges is removed.
"""

from __future__ import annotations

import re

__all__ = ["keyword_of", "normalize_answer"]

_QUOTES = re.compile(r"[`'\"\u2018\u2019\u201c\u201d]")
# The blog's transcript legend: "$ " typed at the shell, "> " sent to the server.
_MARKER = re.compile(r"^[$>]\s+")
# An SMTP reply code in front of text ("250-AUTH ...", "220 mail ESMTP"), not a bare "250".
_REPLY_CODE = re.compile(r"^[2-5]\d\d[ -](?=[^\d\s])")
_AROUND_EQUALS = re.compile(r"\s*=\s*")
_BEFORE_ANGLE = re.compile(r":\s+<")
_SPACES = re.compile(r"\s+")
_EDGE_PUNCTUATION = ".,;:!?"


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


def keyword_of(text: str) -> str:
    """The first word of a normalised answer: an EHLO keyword or an SMTP verb.

    ``250-AUTH PLAIN LOGIN``, ``AUTH`` and ``auth plain login`` all give ``auth``.
    """
    words = normalize_answer(text).split(" ", 1)
    return words[0].strip(_EDGE_PUNCTUATION)
