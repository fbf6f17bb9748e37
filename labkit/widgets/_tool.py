"""The frame every probe console shares: controls, a Run button, an output area.

A console only turns its inputs into one probe call and renders the result; an
expected network outcome (refused, timeout, NXDOMAIN) is rendered like any other,
and misuse (a bad host, a missing CA file) shows the error's advice in red.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Generic, TypeVar

import ipywidgets as widgets

from labkit.errors import LabkitError
from labkit.lab.config import lab_target
from labkit.target import Target
from labkit.widgets._style import button, card_layout, error_html, message_html

__all__ = ["ToolWidget", "default_target"]

R = TypeVar("R")


def default_target(target: Target | None) -> Target:
    return target if target is not None else lab_target()


class ToolWidget(widgets.VBox, Generic[R]):
    """Subclasses build ``controls`` and implement :meth:`_probe` and :meth:`_render`."""

    title = ""
    run_label = "Run"

    def __init__(self, controls: Sequence[widgets.Widget]) -> None:
        self.run_button = button(self.run_label, style="primary", icon="play")
        self.output = widgets.HTML()
        self.result: R | None = None
        self.run_button.on_click(lambda _: self.run())
        header = widgets.HTML(f"<b>{html.escape(self.title)}</b>")
        super().__init__([header, *controls, self.run_button, self.output], layout=card_layout())

    def run(self) -> R | None:
        """Probe with the current inputs and show the result (``None`` on misuse)."""
        self.run_button.disabled = True
        self.output.value = message_html("Probing...", "muted")
        try:
            result = self._probe()
        except LabkitError as err:
            self.output.value = error_html(err)
            return None
        finally:
            self.run_button.disabled = False
        self.result = result
        self.output.value = self._render(result)
        return result

    def _probe(self) -> R:
        raise NotImplementedError

    def _render(self, result: R) -> str:
        raise NotImplementedError


def text_input(description: str, value: str, width: str = "22em") -> widgets.Text:
    return widgets.Text(
        value=value,
        description=description,
        style={"description_width": "initial"},
        layout=widgets.Layout(width=width),
    )
