"""The learner's progress per notebook, as a table with bars, refreshed on demand."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

import ipywidgets as widgets

from labkit.errors import LabkitError
from labkit.exercises.progress import ProgressStore
from labkit.widgets._style import COLORS, button, card_layout, error_html

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ProgressView", "summary_html"]


def summary_html(summary: pd.DataFrame) -> str:
    """One row per notebook: title, a bar of earned/possible points, passed, hints."""
    fg = COLORS["ok"][2]
    rows = []
    for row in summary.itertuples(index=False):
        share = row.earned / row.possible if row.possible else 0.0
        bar = (
            f'<div style="background:{COLORS["muted"][1]};width:12em;height:0.9em;'
            f'border:1px solid #ccc"><div style="background:{fg};width:{100 * share:.0f}%;'
            'height:100%"></div></div>'
        )
        rows.append(
            f'<tr><td style="padding:2px 8px">{html.escape(row.notebook)}</td>'
            f'<td style="padding:2px 8px">{html.escape(row.title)}</td>'
            f'<td style="padding:2px 8px">{bar}</td>'
            f'<td style="padding:2px 8px;text-align:right">{row.earned:g}/{row.possible:g}</td>'
            f'<td style="padding:2px 8px;text-align:right">{row.passed}/{row.exercises} passed'
            f'</td><td style="padding:2px 8px;color:#757575">{row.hints_used} hints, '
            f"{row.solutions_shown} solutions</td></tr>"
        )
    return (
        '<table class="labkit-progress" style="border-collapse:collapse">'
        + "".join(rows)
        + "</table>"
    )


class ProgressView(widgets.VBox):
    """``ProgressView()`` in a cell; *Refresh* re-reads the progress file."""

    def __init__(self, store: ProgressStore | None = None) -> None:
        self.store = store if store is not None else ProgressStore()
        self.table = widgets.HTML()
        self.refresh_button = button("Refresh", icon="refresh")
        self.refresh_button.on_click(lambda _: self.refresh())
        header = widgets.HTML(
            f"<b>Your progress</b> "
            f'<span style="color:#757575;font-size:0.85em">{html.escape(str(self.store.path))}'
            "</span>"
        )
        super().__init__([header, self.table, self.refresh_button], layout=card_layout())
        self.refresh()

    def refresh(self) -> None:
        try:
            self.table.value = summary_html(self.store.summary())
        except LabkitError as err:
            self.table.value = error_html(err)
