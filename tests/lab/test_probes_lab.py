"""labkit's probes agree with the real clients, scenario by scenario.

Each probe runs inside the workstation (the learner's vantage) and its result is
compared with what swaks, ``openssl s_client`` or dig says about the same thing.
"""

from __future__ import annotations

import json
import re

import pytest

pytestmark = pytest.mark.lab

MAIL = "mail.zimmerman.test"
CA = "/etc/ssl/certs/labkit-ca.pem"


def probe(lab, imports: str, expr: str):
    code = (
        f"import json; from labkit.cli._output import to_jsonable; {imports}; "
        f"print(json.dumps(to_jsonable({expr})))"
    )
    r = lab.ws(f"python -c {json.dumps(code)}")
    assert r.exit_code == 0, r.stderr[-2000:]
    return json.loads(r.stdout)


def port(lab, number: int):
    return probe(lab, "from labkit.probes.tcp import probe_port", f"probe_port('{MAIL}', {number})")


def smtp(lab, **kwargs):
    args = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
    return probe(
        lab, "from labkit.probes.smtp import smtp_session", f"smtp_session('{MAIL}', {args})"
    )


def tls(lab, number: int, starttls: str | None, servername: str = MAIL):
    return probe(
        lab,
        "from labkit.probes.tls import probe_tls",
        f"probe_tls('{MAIL}', {number}, starttls={starttls!r}, "
        f"servername={servername!r}, cafile={CA!r})",
    )


def lookup(lab, name: str, rdtype: str):
    return probe(
        lab,
        "from labkit.probes.dns import lookup",
        f"lookup('{name}', '{rdtype}', nameserver='{lab.config.dns_ip}')",
    )


def openssl_codes(lab, number: int, starttls: bool, name: str = MAIL) -> set[int]:
    """Every verify error openssl reports (it goes on after the first), or {0}."""
    extra = "-starttls smtp" if starttls else ""
    r = lab.ws(
        f"printf 'QUIT\\r\\n' | openssl s_client {extra} -ign_eof -connect {MAIL}:{number}"
        f" -servername {MAIL} -verify_hostname {name} 2>&1"
    )
    m = re.search(r"Verify return code: (\d+)", r.stdout)
    assert m, r.stdout[-500:]
    errors = {int(n) for n in re.findall(r"verify error:num=(\d+)", r.stdout)}
    return errors | {int(m.group(1))}


def swaks_ehlo(lab, number: int = 25) -> set[str]:
    r = lab.ws(f"swaks --server {MAIL} --port {number} --quit-after EHLO")
    return {m.group(1).split()[0] for m in re.finditer(r"^<-\s+250[- ](\S+.*)$", r.stdout, re.M)}


@pytest.mark.parametrize(
    "scenario, closed", [("fixed", []), ("no-submission", [465, 587]), ("blog", [465, 587])]
)
def test_port_states_match_nc(lab, scenario, closed):
    lab.scenario(scenario)
    for number in (25, 465, 587):
        result = port(lab, number)
        nc = lab.ws(f"nc -z -w 3 {MAIL} {number}")
        if number in closed:
            assert result["state"] == "refused" or result["state"] == "REFUSED"
            assert result["errno_number"] == 111 and result["errno_name"] == "ECONNREFUSED"
            assert nc.exit_code != 0
        else:
            assert result["state"].lower() == "open"
            assert nc.exit_code == 0


@pytest.mark.parametrize("scenario", ["fixed", "blog", "no-tls-cert"])
def test_ehlo_capabilities_match_swaks(lab, scenario):
    lab.scenario(scenario)
    result = smtp(lab)
    caps = {k.upper() for k in result["capabilities_before_tls"]}
    seen = {c.upper() for c in swaks_ehlo(lab)}
    assert caps == seen - {result["ehlo_name"].upper()}, (caps, seen)


def test_auth_only_after_tls_like_swaks(lab):
    lab.scenario("blog", network="hotspot")  # on the cafe path nobody gets TLS
    result = smtp(lab, starttls=True, auth=("jez", "metagross2014"), cafile=CA)
    assert "AUTH" not in {k.upper() for k in result["capabilities_before_tls"]}
    assert "AUTH" in {k.upper() for k in result["capabilities_after_tls"]}
    assert result["authenticated"] is True
    text = "\n".join(line["text"] for line in result["transcript"]["lines"])
    assert "metagross2014" not in text  # the password never appears in a transcript


@pytest.mark.parametrize(
    "scenario, number, starttls",
    [
        ("fixed", 25, "smtp"),
        ("fixed", 465, None),
        ("fixed", 587, "smtp"),
        ("self-signed", 25, "smtp"),
        ("blog", 25, "smtp"),
    ],
)
def test_tls_verify_code_matches_openssl(lab, scenario, number, starttls):
    lab.scenario(scenario, network="hotspot")  # blog's cafe path masks STARTTLS
    result = tls(lab, number, starttls)
    ours = result["session"]["verification"]["code"]
    theirs = openssl_codes(lab, number, starttls is not None)
    assert ours in theirs and (ours == 0) == (theirs == {0}), (ours, theirs)
    if scenario in ("self-signed", "blog"):
        # Checked against the name it carries, openssl has a single complaint: ours.
        theirs = openssl_codes(lab, number, starttls is not None, "metagross.zimmerman.test")
        assert theirs == {18}
    named = tls(lab, number, starttls, servername="metagross.zimmerman.test")
    if scenario in ("self-signed", "blog"):
        assert named["session"]["verification"]["code"] == 18
        assert named["session"]["chain"][0]["self_signed"] is True


def test_no_tls_cert_starttls_refused(lab):
    lab.scenario("no-tls-cert")
    result = tls(lab, 25, "smtp")
    assert result["session"] is None
    assert "454" in json.dumps(result["transcript"]) or "454" in (result["reason"] or "")


@pytest.mark.parametrize("scenario", ["fixed", "bad-dns"])
def test_dns_matches_dig(lab, scenario):
    lab.scenario(scenario)
    for name, rdtype in [
        ("zimmerman.test", "MX"),
        (MAIL, "A"),
        (MAIL, "CNAME"),
        ("zimmerman.test", "A"),
    ]:
        ours = lookup(lab, name, rdtype)
        dig = lab.ws(f"dig +short {rdtype} {name}").stdout.split("\n")
        dig = [d.strip() for d in dig if d.strip()]
        if rdtype == "A" and ours["aliases"]:
            dig = [d for d in dig if not d.endswith(".")]  # dig lists the CNAME too
        values = sorted(r["value"].rstrip(".") for r in ours["records"])
        assert values == sorted(d.rstrip(".") for d in dig), (name, rdtype, ours, dig)


def test_mail_dns_report_names_the_broken_rule(lab):
    lab.scenario("bad-dns")
    report = probe(
        lab,
        "from labkit.probes.dns import mail_dns_report",
        f"mail_dns_report('zimmerman.test', '{lab.config.dns_ip}', "
        f"expect_host='{MAIL}', banner_name='{MAIL}')",
    )
    rules = {i["rule"] for i in report["issues"]}
    text = json.dumps(report["issues"])
    assert any("cname" in r.lower() for r in rules), rules
    assert "2181" in text
    assert any("ptr" in r.lower() for r in rules), rules
    lab.scenario("fixed")
    report = probe(
        lab,
        "from labkit.probes.dns import mail_dns_report",
        f"mail_dns_report('zimmerman.test', '{lab.config.dns_ip}', "
        f"expect_host='{MAIL}', banner_name='{MAIL}')",
    )
    assert not [i for i in report["issues"] if i["severity"] in ("fail", "error")], report["issues"]


def test_server_inspection_over_ssh_sees_master_cf_and_the_log(lab):
    lab.scenario("no-tls-cert")
    lab.ws(f"swaks --server {MAIL} --quit-after EHLO")
    inside = probe(
        lab,
        "from labkit.probes.server import inspect_server; "
        "from labkit.transport import SSHTransport",
        "inspect_server(SSHTransport('mx'))",
    )
    assert inside["postconf"]["smtpd_tls_cert_file"] == "/etc/ssl/private/mail.zimmerman.test.pem"
    services = {s["name"] for s in inside["services"]}
    assert {"smtp", "submission", "smtps"} <= services
    kinds = {e["kind"] for e in inside["log_events"]}
    assert any("cert" in k.lower() for k in kinds), kinds
