"""Typed CLI parameters: every number a person types is checked by :mod:`labkit.limits`
as it enters, so a bad one is a usage error (exit 2) that says what is allowed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import typer

from labkit.errors import UsageError
from labkit.limits import parse_count, parse_port, parse_seconds

__all__ = ["count_option", "port_option", "seconds_option"]

T = TypeVar("T")


def _as_parser(parse: Callable[[str], T], metavar: str) -> Callable[[Any], T]:
    def parser(value: Any) -> T:
        if not isinstance(value, str):  # a default, already valid
            return value
        try:
            return parse(value)
        except UsageError as exc:
            raise typer.BadParameter(f"{exc.message} {exc.advice or ''}".strip()) from None

    parser.__name__ = metavar  # what --help shows for the value: <N>, not <parser>
    return parser


def seconds_option(what: str = "timeout") -> Callable[[Any], float]:
    return _as_parser(lambda text: parse_seconds(text, what), "seconds")


def port_option(what: str = "port") -> Callable[[Any], int]:
    return _as_parser(lambda text: parse_port(text, what), "port")


def count_option(low: int, high: int, what: str) -> Callable[[Any], int]:
    return _as_parser(lambda text: parse_count(text, low, high, what), "number")
