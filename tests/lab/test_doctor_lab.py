"""The doctor in every scenario: the planted faults are `fail` with the right cause,
and the working server (`fixed`) has none. Also the CLI's exit codes and the time a
whole run takes (reported, not asserted: see benchmarks/)."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.lab

#: scenario -> the (check, words in the finding) that must be `fail`.
PLANTED = {
    "no-submission": [("ports", ":465", "master.cf"), ("ports", ":587", "master.cf")],
    "no-tls-cert": [("starttls", ":25", "smtpd_tls_cert_file")],
    "self-signed": [("certificate", ":25", "18")],
    "bad-dns": [("dns", "mail.zimmerman.test", "CNAME"), ("dns", "25", "PTR")],
    "open-relay": [("relay", ":25", "mynetworks")],
    "blog": [
        ("ports", ":465", "master.cf"),
        ("ports", ":587", "master.cf"),
        ("certificate", ":25", "18"),
        ("dns", "mail.zimmerman.test", "CNAME"),
        ("dns", "25", "PTR"),
    ],
}


def doctor(lab) -> tuple[int, dict]:
    r = lab.ws("labkit doctor --json")
    assert r.exit_code in (0, 1), r.stdout + r.stderr
    return r.exit_code, json.loads(r.stdout)


def test_fixed_has_no_failures(lab):
    lab.scenario("fixed")
    code, report = doctor(lab)
    fails = [f for f in report["findings"] if f["status"] == "fail"]
    assert fails == [] and code == 0, json.dumps(fails, indent=1)
    assert report["not_checked"] == [] or all("inside" not in str(n) for n in report["not_checked"])


@pytest.mark.parametrize("scenario", sorted(PLANTED))
def test_planted_faults_are_failures_with_their_cause(lab, scenario):
    # The blog's server faults show from the hotspot; on the cafe the middlebox hides
    # STARTTLS and with it the certificate (test_path_faults_name_the_path).
    lab.scenario(scenario, network="hotspot" if scenario == "blog" else "cafe")
    code, report = doctor(lab)
    assert code == 1
    fails = [f for f in report["findings"] if f["status"] == "fail"]
    for check, target_part, cause in PLANTED[scenario]:
        matching = [f for f in fails if f["check"] == check and target_part in f["target"]]
        assert matching, f"{scenario}: no failing {check} finding for {target_part}: " + json.dumps(
            [(f["check"], f["status"], f["target"], f["title"]) for f in report["findings"]],
            indent=1,
        )
        text = json.dumps(matching)
        assert cause in text, f"{scenario}: {check} finding does not name {cause!r}: {text}"


def test_doctor_from_the_host_runs_in_the_workstation(lab):
    lab.scenario("no-submission")
    out = lab.cli("doctor", "--json")
    assert out.returncode == 1, out.stderr
    assert "running in the lab's workstation" in out.stderr
    report = json.loads(out.stdout)
    assert any(f["status"] == "fail" and ":587" in f["target"] for f in report["findings"])


def test_whole_run_elapsed_is_reported(lab):
    lab.scenario("blog")
    _, report = doctor(lab)
    assert 0 < report["elapsed"] < 30  # the 2 s target is measured in benchmarks/


#: scenario, network -> (target part, words) of the `path` finding that must fail.
PATH_FAULTS = {
    ("blog", "cafe"): (":25", "Something on the cafe path rewrites SMTP"),
    ("middlebox", "cafe"): (":25", "STARTTLS replaced by XXXXXXXA"),
    ("firewall-drop", "hotspot"): (":587", "filtered (timeout"),
    ("firewall-reject", "cafe"): (":587", "rejected (ICMP"),
    ("isp-blocks-25", "cafe"): (":25", "filtered (timeout: a firewall DROPs it) on the cafe path"),
}


@pytest.mark.parametrize(("scenario", "network"), sorted(PATH_FAULTS))
def test_path_faults_name_the_path(lab, scenario, network):
    lab.scenario(scenario, network=network)
    code, report = doctor(lab)
    assert code == 1
    target_part, words = PATH_FAULTS[(scenario, network)]
    paths = [f for f in report["findings"] if f["check"] == "path" and f["status"] == "fail"]
    assert any(target_part in f["target"] and words in f["title"] for f in paths), json.dumps(
        paths, indent=1
    )


@pytest.mark.parametrize(
    ("scenario", "network"),
    [("fixed", "cafe"), ("isp-blocks-25", "hotspot"), ("middlebox", "hotspot")]
    + [(s, "cafe") for s in sorted(PLANTED) if s != "blog"],
)
def test_the_path_is_not_blamed_where_it_is_clean(lab, scenario, network):
    lab.scenario(scenario, network=network)
    _, report = doctor(lab)
    assert not [f for f in report["findings"] if f["check"] == "path"], scenario
