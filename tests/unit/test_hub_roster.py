"""The hub's roster: exactly who may log in; every problem reported with its line."""

from __future__ import annotations

import ipaddress
import json
import subprocess
from pathlib import Path

import pytest

from labkit.errors import LabkitError, LabStateError, UsageError
from labkit.hub.roster import MAX_USERS, Role, load_roster, parse_roster
from labkit.hub.seats import hub_address, learner_lab, seat_env_text, seat_from_settings
from labkit.hub.settings import hub_settings


def test_a_spreadsheet_export_with_roles_and_extra_columns():
    roster = parse_roster(
        "\ufeffUserName,Full name,Role\r\n"
        "ada,Ada Lovelace,instructor\r\n"
        "grace,Grace Hopper,\r\n"
        "\r\n"
        "linus_t,Linus,Learner\r\n"
    )
    assert [e.username for e in roster.entries] == ["ada", "grace", "linus_t"]
    assert roster.admins == {"ada"} and [e.username for e in roster.learners] == [
        "grace",
        "linus_t",
    ]
    assert roster.entries[1].role is Role.LEARNER and roster.entries[2].line == 5
    assert "grace" in roster and "eve" not in roster


def test_a_single_column_roster_is_all_learners():
    roster = parse_roster("username\nada\nbob-2\n")
    assert roster.admins == frozenset() and roster.usernames == {"ada", "bob-2"}


@pytest.mark.parametrize(
    "text, needles",
    [
        ("username\nada\nbob\nada\n", ["line 4: 'ada' is already on line 2"]),
        ("username\nAda\n", ["line 2: 'Ada' has capitals: write it as 'ada'"]),
        ("username\n1ada\n", ["does not start with a letter"]),
        ("username\nada lovelace\n", ["may only hold a-z"]),
        ("username\nada@example.org\n", ["may only hold a-z"]),
        ("username\n" + "a" * 40 + "\n", ["longer than 32 characters"]),
        ("username,role\nada,teacher\n", ["role 'teacher' is not learner or instructor"]),
        ("username,role\n,learner\n", ["line 2: the user name is empty"]),
        ("name,email\nada,a@b\n", ["no 'username' column"]),
        ("", ["is empty"]),
        ("username\n\n\n", ["names nobody"]),
        ("username\n\x00\x01", ["not a text file"]),
    ],
)
def test_bad_rosters_say_what_and_where(text, needles):
    with pytest.raises(UsageError) as err:
        parse_roster(text)
    for needle in needles:
        assert needle in err.value.message, err.value.message
    assert "username,role" in (err.value.advice or "")


def test_every_problem_is_reported_at_once():
    with pytest.raises(UsageError) as err:
        parse_roster("username\nAda\nbob\nbob\nx y\n")
    message = err.value.message
    assert "line 2" in message and "line 4" in message and "line 5" in message


def test_too_many_people_for_one_hub():
    text = "username\n" + "".join(f"u{i}\n" for i in range(MAX_USERS + 1))
    with pytest.raises(UsageError, match=f"at most {MAX_USERS}"):
        parse_roster(text)
    assert len(parse_roster("username\n" + "".join(f"u{i}\n" for i in range(MAX_USERS))).entries)


def test_roster_files_that_are_not_rosters(tmp_path: Path):
    with pytest.raises(UsageError, match="is not a file"):
        load_roster(tmp_path)
    with pytest.raises(UsageError, match="is not a file"):
        load_roster(tmp_path / "missing.csv")
    latin = tmp_path / "latin1.csv"
    latin.write_bytes("username\nren\xe9\n".encode("latin-1"))
    with pytest.raises(UsageError, match="not UTF-8"):
        load_roster(latin)
    good = tmp_path / "roster.csv"
    good.write_text("username,role\nada,admin\n")
    assert load_roster(good).admins == {"ada"}


def test_each_learner_gets_their_own_lab_named_after_them():
    roster = parse_roster("username,role\nada,instructor\ngrace\nlinus\n")
    grace, linus = learner_lab(roster, "grace"), learner_lab(roster, "linus")
    assert (grace.project, grace.net_prefix) == ("labkit-hub-grace", "10.124.2")
    assert (linus.project, linus.net_prefix) == ("labkit-hub-linus", "10.124.3")
    assert grace.jupyter_port != linus.jupyter_port
    with pytest.raises(UsageError, match="not on the roster"):
        learner_lab(roster, "eve")


def test_the_hub_settings_carry_the_roster_and_each_learners_lab():
    roster = parse_roster("username,role\nada,instructor\ngrace\n")
    data = json.loads(hub_settings(roster, cull_idle_s=600, scenario="fixed"))
    assert set(data) == {"users", "admins", "cull_idle_s", "scenario", "seats", "warm", "engine"}
    assert data["warm"] == []
    assert (data["users"], data["admins"], data["cull_idle_s"]) == (["ada", "grace"], ["ada"], 600)
    assert data["scenario"] == "fixed"
    for name in ("ada", "grace"):  # the spawner finds the same lab the host computes
        assert seat_from_settings(data, name) == learner_lab(roster, name)
    with pytest.raises(LabStateError, match="no lab"):
        seat_from_settings(data, "eve")
    # Warm seats: the first learners in roster order, never an instructor.
    bigger = parse_roster("username,role\nzoe\nada,instructor\nbob\ncy\n")
    assert json.loads(hub_settings(bigger, warm=2))["warm"] == ["zoe", "bob"]
    assert json.loads(hub_settings(bigger, warm=10))["warm"] == ["zoe", "bob", "cy"]
    with pytest.raises(UsageError, match="out of range"):
        hub_settings(roster, cull_idle_s=5)


def test_seats_on_a_swarm_say_so_and_older_settings_mean_compose():
    roster = parse_roster("username,role\nada,instructor\ngrace\n")
    data = json.loads(hub_settings(roster, engine="swarm"))
    assert data["engine"] == "swarm"
    assert seat_from_settings(data, "grace").engine == "swarm"
    assert seat_from_settings(data, "grace") == learner_lab(roster, "grace", engine="swarm")
    del data["seats"]["grace"]["engine"]  # written by a labkit from before the swarm
    assert seat_from_settings(data, "grace").engine == "compose"


def test_the_hub_sits_at_the_top_of_each_labs_publishing_network():
    roster = parse_roster("username\nada\ngrace\n")
    config = learner_lab(roster, "grace")
    address = ipaddress.IPv4Address(hub_address(config))
    public = ipaddress.IPv4Network(f"{config.net_prefix}.240/28")
    assert address in public and address == public.broadcast_address - 1


def test_a_servers_variables_reach_the_shell_literally(tmp_path):
    """The workstation reads them with `set -a; . FILE` (lab-workstation-init)."""
    env = {
        "JUPYTERHUB_OAUTH_SCOPES": '["access:servers!server=ada/", "access:servers!user=ada"]',
        "JUPYTERHUB_API_TOKEN": "a$b c#d `x` \\",
        "JUPYTERHUB_USER": "ada",
    }
    path = tmp_path / "env"
    path.write_text(seat_env_text(env, "ada"))
    out = subprocess.run(
        ["sh", "-c", f"set -a; . {path}; set +a; env -0"], capture_output=True, check=True
    ).stdout.decode()
    seen = dict(item.split("=", 1) for item in out.split("\0") if "=" in item)
    assert {k: seen[k] for k in env} == env
    for bad in ({"X": "it's"}, {"X": "two\nlines"}, {"lower": "x"}):
        with pytest.raises(LabStateError, match="cannot be passed on"):
            seat_env_text(bad, "ada")


def test_behind_the_hub_the_lab_publishes_nothing_and_waits(tmp_path):
    """What Compose itself makes of the lab in hub mode (``config``; no daemon needed)."""
    from labkit.lab.engine import compose_command
    from labkit.lab.lifecycle import Lab

    try:
        argv = compose_command()
    except LabkitError:
        pytest.skip("no Docker Compose here")
    repo = Path(__file__).resolve().parents[2]
    roster = parse_roster("username\nada\n")
    views = {}
    for behind_hub in (False, True):
        lab = Lab(learner_lab(roster, "ada"), repo, behind_hub=behind_hub)
        env = lab.compose(token="t").env()
        proc = subprocess.run(
            [*argv, "-p", "hubcheck", "-f", str(repo / "lab/docker-compose.yml"), "config"]
            + ["--format", "json"],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
        assert proc.returncode == 0, proc.stderr
        views[behind_hub] = json.loads(proc.stdout)
    alone, hub = views[False], views[True]
    assert not alone["networks"]["public"].get("internal")
    assert alone["services"]["workstation"]["environment"]["LABKIT_HUB_MODE"] == ""
    assert hub["networks"]["public"]["internal"] is True  # nothing published, no way out
    assert hub["services"]["workstation"]["environment"]["LABKIT_HUB_MODE"] == "1"
    assert "LABKIT_HUB_MODE" not in hub["services"]["mx"].get("environment", {})
