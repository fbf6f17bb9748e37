"""Switch the laptop between the café's Wi-Fi and the phone's hotspot, from a notebook.

The same switch as ``labkit net use cafe|hotspot`` in a terminal: the widget only
shows the choice and the result; :class:`labkit.lab.Lab` does the switching.
"""

from __future__ import annotations

from typing import Any, Protocol

import ipywidgets as widgets

from labkit.errors import LabkitError
from labkit.netpath.network import NetworkState
from labkit.netpath.rules import NETWORKS
from labkit.widgets._style import card_layout, error_html, message_html

__all__ = ["NetworkSwitch"]


class _Switcher(Protocol):
    def network(self) -> NetworkState: ...

    def use_network(self, name: str) -> NetworkState: ...


class NetworkSwitch(widgets.VBox):
    """Toggle buttons for the laptop's network and a line saying which one is in use."""

    def __init__(self, lab: _Switcher | None = None) -> None:
        if lab is None:
            from labkit.lab import Lab

            lab = Lab()
        self._lab = lab
        self.buttons = widgets.ToggleButtons(options=list(NETWORKS), description="network")
        self.output = widgets.HTML()
        self.state: NetworkState | None = None
        try:
            self._show(lab.network())
        except LabkitError as exc:
            self.output.value = error_html(exc)
        self.buttons.observe(self._switch, names="value")
        super().__init__([self.buttons, self.output], layout=card_layout())

    def _show(self, state: NetworkState, switched: bool = False) -> None:
        self.state = state
        if state.usable and self.buttons.value != state.name:
            self.buttons.value = state.name
        took = f" (switched in {state.elapsed:.2f} s)" if switched else ""
        tone = "ok" if state.usable else "bad"
        self.output.value = message_html(state.describe() + took, tone, title="The laptop uses")

    def _switch(self, change: dict[str, Any]) -> None:
        name = change["new"]
        if self.state is not None and self.state.name == name:
            return
        try:
            self._show(self._lab.use_network(name), switched=True)
        except LabkitError as exc:
            self.output.value = error_html(exc)
