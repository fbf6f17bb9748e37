"""What labkit accepts as numbers and names, checked in one place.

Every number and name a person types (CLI options, widget fields, library calls)
goes through these functions before any packet is sent or any file is touched, so a
bad value is a :class:`~labkit.errors.UsageError` that says what is allowed, never a
traceback and never a false diagnosis: ``--timeout 0`` would otherwise make every
port "time out", which reads like a firewall that DROPs.

Text is parsed with ASCII digits only. Python's ``int()`` and ``float()`` accept
``"٣"`` (Arabic-Indic three) and ``"２５"`` (full-width), and ``float()`` accepts
``"nan"`` and ``"inf"``; none of those is what a learner means by a port or a
number of seconds.
"""

from __future__ import annotations

import math
import re

from labkit.errors import UsageError

__all__ = [
    "MAX_NAME",
    "MAX_TIMEOUT",
    "MIN_TIMEOUT",
    "check_count",
    "check_name",
    "check_port",
    "check_timeout",
    "parse_count",
    "parse_port",
    "parse_seconds",
]

#: Seconds a probe may wait. Below 0.1 s even a healthy server on the lab network
#: looks dead; above 10 minutes a typo (``--timeout 5000``) would look like a hang.
MIN_TIMEOUT = 0.1
MAX_TIMEOUT = 600.0
#: Longest name labkit accepts for a scenario, service, project or file name part.
MAX_NAME = 64

_INTEGER = re.compile(r"[0-9]{1,9}")
_DECIMAL = re.compile(r"(?:[0-9]{1,9}(?:\.[0-9]{0,6})?|\.[0-9]{1,6})")


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def check_timeout(value: object, what: str = "timeout") -> float:
    """A finite number of seconds in [:data:`MIN_TIMEOUT`, :data:`MAX_TIMEOUT`]."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise UsageError(
            f"The {what} {_shown(value)} is not a number of seconds.",
            advice=f"Give a number from {MIN_TIMEOUT:g} to {MAX_TIMEOUT:g}, e.g. 5.",
        )
    if not math.isfinite(value) or not MIN_TIMEOUT <= value <= MAX_TIMEOUT:
        raise UsageError(
            f"The {what} {value!r} is out of range.",
            advice=f"Give a number of seconds from {MIN_TIMEOUT:g} to {MAX_TIMEOUT:g}, e.g. 5. "
            "A zero or negative timeout would make every server look unreachable.",
        )
    return float(value)


def check_port(value: object, what: str = "port") -> int:
    """A TCP/UDP port number, 1 to 65535."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise UsageError(
            f"The {what} {_shown(value)} is not a number.",
            advice="Give a port from 1 to 65535, e.g. 25, 465 or 587.",
        )
    if not 1 <= value <= 65535:
        raise UsageError(
            f"The {what} {value} is out of range.",
            advice="Ports go from 1 to 65535; mail uses 25 (smtp), 465 (smtps), 587 (submission).",
        )
    return value


def check_count(value: object, low: int, high: int, what: str) -> int:
    """A whole number in [low, high] (seats, log lines)."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise UsageError(
            f"The {what} {_shown(value)} is not allowed.",
            advice=f"Give a whole number from {low} to {high}.",
        )
    return value


_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")


def check_name(value: object, what: str, *, pattern: re.Pattern[str] = _NAME) -> str:
    """A short identifier: lower-case ASCII letters, digits, '-' and '_', at most
    :data:`MAX_NAME` characters, starting with a letter or digit."""
    if not isinstance(value, str) or not value or len(value) > MAX_NAME:
        raise UsageError(
            f"The {what} {_shown(value)} is empty or longer than {MAX_NAME} characters.",
            advice=f"Use a short name of lower-case letters, digits and '-' (at most {MAX_NAME}).",
        )
    if not pattern.fullmatch(value):
        raise UsageError(
            f"The {what} {_shown(value)} has characters that are not allowed.",
            advice="Use lower-case letters, digits and '-', starting with a letter or digit.",
        )
    return value


# --------------------------------------------------------------------------- text parsers


def parse_seconds(text: str, what: str = "timeout") -> float:
    """``"2.5"`` -> 2.5; ``"nan"``, ``"-1"``, ``"0"``, ``"٣"`` or ``""`` -> UsageError."""
    text = text.strip()
    if not _DECIMAL.fullmatch(text):
        raise UsageError(
            f"The {what} {_shown(text)} is not a number of seconds.",
            advice=f"Give a number from {MIN_TIMEOUT:g} to {MAX_TIMEOUT:g} written with "
            "the digits 0-9, e.g. 5 or 0.5.",
        )
    return check_timeout(float(text), what)


def parse_port(text: str, what: str = "port") -> int:
    """``"587"`` -> 587; ``"70000"``, ``"-1"``, ``"²"`` or ``""`` -> UsageError."""
    text = text.strip()
    if not _INTEGER.fullmatch(text):
        raise UsageError(
            f"The {what} {_shown(text)} is not a number.",
            advice="Give a port from 1 to 65535 written with the digits 0-9, e.g. 587.",
        )
    return check_port(int(text), what)


def parse_count(text: str, low: int, high: int, what: str) -> int:
    text = text.strip()
    if not _INTEGER.fullmatch(text):
        raise UsageError(
            f"The {what} {_shown(text)} is not a whole number.",
            advice=f"Give a whole number from {low} to {high} written with the digits 0-9.",
        )
    return check_count(int(text), low, high, what)
