"""One small visual style for every labkit widget: layouts and inline-styled HTML.

No CSS file and no custom front-end: ipywidgets layouts for structure, and HTML
snippets with inline styles for colour, so widgets look the same in JupyterLab,
classic Notebook and VS Code, and their HTML can be read in tests.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence

import ipywidgets as widgets

from labkit.errors import LabkitError
from labkit.exercises.grade import Grade

__all__ = [
    "COLORS",
    "button",
    "card_layout",
    "error_html",
    "grade_html",
    "grade_tone",
    "inline_markup",
    "message_html",
    "table_html",
]

#: Tone -> (text colour, background, border). Green ok, red wrong, amber partial, blue info.
COLORS: dict[str, tuple[str, str, str]] = {
    "ok": ("#1b5e20", "#e8f5e9", "#2e7d32"),
    "bad": ("#b71c1c", "#ffebee", "#c62828"),
    "partial": ("#e65100", "#fff3e0", "#ef6c00"),
    "info": ("#0d47a1", "#e3f2fd", "#1565c0"),
    "muted": ("#424242", "#f5f5f5", "#9e9e9e"),
}

_CODE = re.compile(r"`([^`]+)`")
_EMPHASIS = re.compile(r"(?<![\w*])\*([^*\s][^*]*?)\*(?![\w*])")


def inline_markup(text: str) -> str:
    """Escape ``text`` for HTML, then render `code` and *emphasis* as the bank writes them."""
    escaped = html.escape(text, quote=False)
    escaped = _CODE.sub(r"<code>\1</code>", escaped)
    return _EMPHASIS.sub(r"<em>\1</em>", escaped)


def message_html(text: str, tone: str = "info", *, title: str | None = None) -> str:
    """A coloured box with an optional bold title; ``text`` uses :func:`inline_markup`."""
    fg, bg, border = COLORS[tone]
    head = f"<b>{html.escape(title)}</b> " if title else ""
    return (
        f'<div class="labkit-{tone}" style="color:{fg};background:{bg};'
        f"border-left:4px solid {border};padding:6px 10px;margin:4px 0;"
        f'border-radius:3px;line-height:1.4">{head}{inline_markup(text)}</div>'
    )


def _points(value: float) -> str:
    return f"{value:g}"


def grade_tone(grade: Grade) -> str:
    if grade.passed:
        return "ok"
    if grade.correct or grade.score > 0:
        return "partial"
    return "bad"


def grade_html(grade: Grade) -> str:
    """The grade as a box: verdict and points, the feedback, then each live criterion."""
    tone = grade_tone(grade)
    verdict = {"ok": "\u2714 Right", "partial": "\u25d1 Partly", "bad": "\u2718 Not yet"}[tone]
    if grade.correct and grade.solution_shown:
        verdict = "\u2714 Right (solution shown)"
    extras = []
    if grade.hints_used:
        extras.append(f"{grade.hints_used} hint{'s' if grade.hints_used > 1 else ''}")
    points = f"{_points(grade.score)}/{_points(grade.max_score)} points"
    title = f"{verdict} \u00b7 {points}" + (f" \u00b7 {', '.join(extras)}" if extras else "")
    box = message_html(grade.feedback, tone, title=title)
    if not grade.criteria:
        return box
    rows = "".join(
        f'<li style="color:{COLORS["ok" if c.met else "bad"][0]}">'
        f"{'&#10004;' if c.met else '&#10008;'} <b>{html.escape(c.name)}</b>: "
        f"{inline_markup(c.detail)}</li>"
        for c in grade.criteria
    )
    return box + f'<ul class="labkit-criteria" style="margin:2px 0 2px 8px">{rows}</ul>'


def error_html(err: LabkitError) -> str:
    """A labkit error as a red box: the message, then what to do."""
    text = err.message + (f" What to do: {err.advice}" if err.advice else "")
    return message_html(text, "bad", title="Could not do that.")


def table_html(
    header: Sequence[str], rows: Iterable[Sequence[str]], tones: Sequence[str] | None = None
) -> str:
    """A compact table; cells are escaped; ``tones`` colours each row's background."""
    head = "".join(
        f'<th style="text-align:left;padding:2px 8px;border-bottom:1px solid #bbb">'
        f"{html.escape(h)}</th>"
        for h in header
    )
    body = []
    for i, row in enumerate(rows):
        tone = tones[i] if tones is not None else None
        style = f' style="background:{COLORS[tone][1]};color:{COLORS[tone][0]}"' if tone else ""
        cells = "".join(f'<td style="padding:2px 8px">{html.escape(c)}</td>' for c in row)
        body.append(f"<tr{style}>{cells}</tr>")
    return (
        '<table class="labkit-table" style="border-collapse:collapse;font-size:0.95em">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )


def button(
    description: str, *, style: str = "", icon: str = "", tooltip: str = ""
) -> widgets.Button:
    """A button sized to its label; ``style`` is ipywidgets' ``button_style``."""
    return widgets.Button(
        description=description,
        button_style=style,
        icon=icon,
        tooltip=tooltip or description,
        layout=widgets.Layout(width="auto"),
    )


def card_layout() -> widgets.Layout:
    """The layout of an exercise card: a light border, some padding, full width."""
    return widgets.Layout(
        border="1px solid #d0d0d0", padding="8px 12px", margin="8px 0", width="100%"
    )
