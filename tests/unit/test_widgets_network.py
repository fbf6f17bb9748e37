"""The network switch widget: shows the laptop's network, switches it, shows errors."""

from __future__ import annotations

from labkit.errors import LabStateError
from labkit.netpath.network import NetworkState, UnknownNetworkError
from labkit.widgets import NetworkSwitch


class Laptop:
    """Stands in for :class:`labkit.lab.Lab`: a routing table with one default route."""

    def __init__(self, name: str = "cafe", broken: bool = False) -> None:
        self.name = name
        self.broken = broken
        self.switched: list[str] = []

    def network(self) -> NetworkState:
        return NetworkState(self.name, f"default via x dev {self.name}")

    def use_network(self, name: str) -> NetworkState:
        if name not in ("cafe", "hotspot"):
            raise UnknownNetworkError(name)
        if self.broken:
            raise LabStateError("Cannot log in to router", advice="labkit reset on the host")
        self.name = name
        self.switched.append(name)
        return NetworkState(name, "", elapsed=0.25)


def test_shows_the_current_network_and_switches_on_click() -> None:
    laptop = Laptop("cafe")
    switch = NetworkSwitch(laptop)
    assert switch.buttons.value == "cafe" and "café" in switch.output.value
    switch.buttons.value = "hotspot"
    assert laptop.switched == ["hotspot"]
    assert "hotspot" in switch.output.value and "0.25 s" in switch.output.value


def test_a_laptop_without_route_is_shown_as_such_and_can_be_put_back() -> None:
    laptop = Laptop("none")
    switch = NetworkSwitch(laptop)
    assert "no default route" in switch.output.value
    switch.buttons.value = "hotspot"
    switch.buttons.value = "cafe"
    assert laptop.switched == ["hotspot", "cafe"]


def test_a_failed_switch_shows_the_advice() -> None:
    switch = NetworkSwitch(Laptop("cafe", broken=True))
    switch.buttons.value = "hotspot"
    assert "Cannot log in to router" in switch.output.value
    assert "labkit reset on the host" in switch.output.value
