"""A scenario's [path]: parsing, validation, the router's nftables table, the laptop's route."""

from __future__ import annotations

from pathlib import Path

import pytest

from labkit.errors import UsageError
from labkit.lab.config import LabConfig
from labkit.lab.scenarios import list_scenarios, load_scenario, render
from labkit.netpath.network import UnknownNetworkError, parse_default_route, use_network
from labkit.netpath.rules import Action, PathRule, PathSpec, parse_path

HOME = Path(__file__).resolve().parents[2]


def test_no_path_table_means_nothing_on_the_path() -> None:
    spec = parse_path(None, "x")
    assert spec == PathSpec()
    nft = spec.render_nft()
    assert "redirect" not in nft and "drop" not in nft and "reject" not in nft


def test_inspection_redirects_port_25_of_that_network_only() -> None:
    nft = parse_path({"inspect": ["cafe"]}, "x").render_nft()
    assert 'iifname "cafe" tcp dport 25 redirect to :10025' in nft
    assert '"hotspot" tcp dport 25 redirect' not in nft


@pytest.mark.parametrize(
    ("action", "verdict"),
    [
        ("drop", "tcp dport 587 drop"),
        ("reject-tcp-reset", "tcp dport 587 reject with tcp reset"),
        ("reject-admin-prohibited", "tcp dport 587 reject with icmp type admin-prohibited"),
    ],
)
def test_each_firewall_action_becomes_its_nft_verdict(action: str, verdict: str) -> None:
    spec = parse_path({"rules": [{"port": 587, "action": action}]}, "x")
    assert spec.rules == (PathRule(587, Action(action), ("cafe", "hotspot")),)
    assert verdict in spec.render_nft()


def test_a_network_that_blocks_25_is_not_also_inspected() -> None:
    spec = parse_path(
        {"inspect": ["cafe"], "rules": [{"port": 25, "action": "drop", "networks": ["cafe"]}]},
        "x",
    )
    assert not spec.inspected("cafe")
    assert "redirect" not in spec.render_nft()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"inspect": ["wifi"]}, "unknown networks ['wifi']"),
        ({"inspect": "cafe"}, "must be a list"),
        ({"rules": [{"port": 70000, "action": "drop"}]}, "port must be a number"),
        ({"rules": [{"port": True, "action": "drop"}]}, "port must be a number"),
        ({"rules": [{"port": 25, "action": "tarpit"}]}, "unknown action 'tarpit'"),
        ({"rules": [{"port": 25, "action": "drop", "networks": ["lan"]}]}, "unknown networks"),
        ({"rules": ["drop 25"]}, "must be a table"),
        ({"firewall": []}, "unknown keys ['firewall']"),
    ],
)
def test_bad_path_tables_say_what_is_wrong(data: dict, message: str) -> None:
    with pytest.raises(UsageError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_path(data, "demo")


def test_scenarios_have_the_path_the_issue_table_asks_for() -> None:
    paths = {s.name: s.netpath for s in list_scenarios(HOME)}
    assert paths["blog"].inspected("cafe") and not paths["blog"].inspected("hotspot")
    assert paths["middlebox"].inspected("cafe") and not paths["middlebox"].rules
    assert paths["firewall-drop"].rules_for("hotspot", 587).action is Action.DROP
    assert paths["firewall-drop"].rules_for("cafe", 25) is None
    reject = paths["firewall-reject"].rules_for("cafe", 587)
    assert reject.action is Action.REJECT_ADMIN_PROHIBITED
    isp = paths["isp-blocks-25"]
    assert isp.rules_for("cafe", 25).action is Action.DROP
    assert isp.rules_for("hotspot", 25) is None and isp.rules_for("cafe", 587) is None
    for name in ("fixed", "no-submission", "no-tls-cert", "self-signed", "bad-dns", "open-relay"):
        assert paths[name] == PathSpec(), name  # server-only scenarios keep a clean path


def test_rendered_scenario_carries_the_router_table() -> None:
    rendered = render(HOME, load_scenario(HOME, "blog"), LabConfig())
    assert rendered.router_rules.startswith("table ip labkit {")
    assert "redirect to :10025" in rendered.router_rules


def test_zones_name_every_address_the_laptop_and_router_have() -> None:
    config = LabConfig(net_prefix="10.125.77")
    rendered = render(HOME, load_scenario(HOME, "fixed"), config)
    forward = rendered.zone_files["zimmerman.test.zone"]
    reverse = rendered.zone_files["77.125.10.in-addr.arpa.zone"]
    for address in ("10.125.77.100", "10.125.77.164", "10.125.77.1", "10.125.77.65"):
        assert address in forward
    for host in ("100", "164", "1", "65", "129"):
        assert any(line.split()[:1] == [host] for line in reverse.splitlines()), host


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("default via 10.125.34.65 dev cafe \n", "cafe"),
        ("default via 10.125.34.129 dev hotspot onlink\n", "hotspot"),
        ("", "none"),
        ("default via 172.26.0.1 dev eth0\n", "other"),
    ],
)
def test_the_laptops_network_is_read_from_its_default_route(text: str, name: str) -> None:
    state = parse_default_route(text)
    assert state.name == name
    assert state.usable == (name in ("cafe", "hotspot"))
    assert state.describe()


def test_unknown_network_names_are_refused_before_anything_runs() -> None:
    class Refuse:
        description = "nothing"

        def run(self, *args: object, **kwargs: object) -> object:
            raise AssertionError("must not run")

    with pytest.raises(UnknownNetworkError, match="wifi") as info:
        use_network(Refuse(), "wifi")  # type: ignore[arg-type]
    assert "cafe" in (info.value.advice or "")
