"""The network path, row by row of issue 9's table, with the real clients.

From the workstation on each network (``cafe``: the café's Wi-Fi, ``hotspot``: the
phone) and from inside ``mx``: telnet, nc, swaks, ``openssl s_client`` and
``traceroute -T``. Then bad input: unknown networks, a deleted route, a stopped router.
"""

from __future__ import annotations

import json
import re
import time

import pytest

from labkit.lab.scenarios import list_scenarios

pytestmark = pytest.mark.lab

MAIL = "mail.zimmerman.test"


def ehlo(lab, port: int = 25) -> str:
    """The raw dialog, as the blog's telnet session showed it."""
    r = lab.ws(
        f"(sleep 0.5; printf 'EHLO laptop\\r\\n'; sleep 0.5; printf 'QUIT\\r\\n'; sleep 0.5) "
        f"| telnet {MAIL} {port} 2>&1"
    )
    return r.stdout


def starttls(lab, port: int = 25) -> str:
    r = lab.ws(
        f"printf 'QUIT\\r\\n' | timeout 20 openssl s_client -starttls smtp -ign_eof "
        f"-connect {MAIL}:{port} -servername {MAIL} 2>&1"
    )
    return r.stdout


def auth(lab, port: int) -> str:
    tls = "--tls" if port != 465 else "--tls-on-connect"
    r = lab.ws(
        f"swaks --server {MAIL} --port {port} {tls} --auth-user jez "
        "--auth-password metagross2014 --quit-after AUTH 2>&1"
    )
    return r.stdout


def nc(lab, port: int) -> str:
    r = lab.ws(f"nc -zv -w 3 {MAIL} {port} 2>&1; echo rc=$?")
    return r.stdout


def server_listens(lab, port: int) -> bool:
    return f":{port} " in lab.mx("ss -ltnH").stdout


def server_starttls(lab) -> str:
    r = lab.mx(
        "printf 'QUIT\\r\\n' | timeout 20 openssl s_client -starttls smtp -ign_eof "
        "-connect localhost:25 2>&1"
    )
    return r.stdout


def test_every_scenario_path_is_a_ruleset_the_router_accepts(lab):
    router = lab.lab.access().router
    for scenario in list_scenarios(lab.lab.home):
        rules = lab.lab.render(scenario.name, lab.config).router_rules
        r = router.run(["nft", "-c", "-f", "-"], input=rules.encode())
        assert r.ok, (scenario.name, r.stderr)


class TestBlog:
    @pytest.fixture(autouse=True)
    def _scenario(self, lab):
        lab.scenario("blog")

    def test_cafe_masks_banner_and_starttls_like_the_blog(self, lab):
        out = ehlo(lab)
        assert re.search(r"^220 \*{20,}\s*$", out, re.M), out
        assert "250-XXXXXXXA" in out and "250-metagross" in out
        assert "STARTTLS" not in out and "AUTH" not in out
        assert "Postfix" not in out

    def test_cafe_typed_starttls_reaches_postfix_masked(self, lab):
        r = lab.ws(
            "(sleep 0.5; printf 'EHLO laptop\\r\\n'; sleep 0.5; printf 'STARTTLS\\r\\n'; "
            f"sleep 0.5; printf 'QUIT\\r\\n'; sleep 0.5) | telnet {MAIL} 25 2>&1"
        )
        assert "500 5.5.2 Error: command not recognized" in r.stdout, r.stdout
        log = lab.lab.path_log(20)
        assert "STARTTLS -> XXXXXXXA" in log and "STARTTLS sent as XXXXXXXA" in log

    def test_cafe_gives_openssl_and_swaks_no_tls(self, lab):
        assert "Didn't find STARTTLS" in starttls(lab)
        out = auth(lab, 25)
        assert "STARTTLS" not in out.split("EHLO", 1)[-1].split("\n~>")[0] or "XXXXXXXA" in out
        assert "235 2.7.0" not in out

    def test_hotspot_sees_starttls_with_the_self_signed_certificate_and_auth(self, lab):
        lab.net("hotspot")
        out = ehlo(lab)
        assert "220 metagross ESMTP Postfix" in out and "250-STARTTLS" in out
        assert "verify error:num=18" in starttls(lab)
        assert "235 2.7.0 Authentication successful" in auth(lab, 25)

    @pytest.mark.parametrize("network", ["cafe", "hotspot"])
    def test_465_and_587_refused_on_both_networks(self, lab, network):
        lab.net(network)
        for port in (465, 587):
            assert "Connection refused" in nc(lab, port)

    def test_the_server_itself_sees_starttls_and_may_relay(self, lab):
        assert "250 DSN" in server_starttls(lab) or "Verify return code" in server_starttls(lab)
        dialog = (
            r"EHLO localhost\r\nMAIL FROM:<jez@zimmerman.test>\r\n"
            r"RCPT TO:<someone@example.net>\r\nQUIT\r\n"
        )
        assert re.search(
            r"^250 2\.1\.5 Ok",
            lab.mx(f"printf '{dialog}' | nc -q 3 -w 5 localhost 25").stdout,
            re.M,
        )
        assert not server_listens(lab, 465) and not server_listens(lab, 587)


class TestMiddlebox:
    @pytest.fixture(autouse=True)
    def _scenario(self, lab):
        lab.scenario("middlebox")

    def test_cafe_port_25_is_masked_but_465_and_587_work(self, lab):
        out = ehlo(lab)
        assert "250-XXXXXXXA" in out and "STARTTLS" not in out
        assert "Verify return code: 0" in starttls(lab, 587)
        assert "235 2.7.0 Authentication successful" in auth(lab, 587)
        assert "235 2.7.0 Authentication successful" in auth(lab, 465)

    def test_hotspot_everything_works(self, lab):
        lab.net("hotspot")
        assert "Verify return code: 0" in starttls(lab, 25)
        assert "235 2.7.0 Authentication successful" in auth(lab, 587)


class TestFirewallDrop:
    @pytest.fixture(autouse=True)
    def _scenario(self, lab):
        lab.scenario("firewall-drop")

    @pytest.mark.parametrize("network", ["cafe", "hotspot"])
    def test_587_times_out_while_25_and_465_work(self, lab, network):
        lab.net(network)
        started = time.monotonic()
        out = nc(lab, 587)
        assert "timed out" in out and time.monotonic() - started >= 2.5, out
        assert "succeeded" in nc(lab, 25) and "succeeded" in nc(lab, 465)

    def test_the_server_listens_on_587(self, lab):
        assert server_listens(lab, 587)

    def test_traceroute_shows_the_packets_die_after_the_router(self, lab):
        ok = lab.ws(f"traceroute -n -T -p 25 -q 1 -w 1 -m 4 {MAIL} 2>&1").stdout
        assert re.search(rf"^ 1\s+{re.escape(lab.config.gateways['cafe'])}", ok, re.M), ok
        assert re.search(rf"^ 2\s+{re.escape(lab.config.mx_ip)}", ok, re.M), ok
        dropped = lab.ws(f"traceroute -n -T -p 587 -q 1 -w 1 -m 4 {MAIL} 2>&1").stdout
        assert re.search(r"^ 1\s+\S+", dropped, re.M), dropped
        assert re.search(r"^ 2\s+\*", dropped, re.M), dropped


class TestFirewallReject:
    @pytest.fixture(autouse=True)
    def _scenario(self, lab):
        lab.scenario("firewall-reject")

    @pytest.mark.parametrize("network", ["cafe", "hotspot"])
    def test_587_no_route_to_host(self, lab, network):
        lab.net(network)
        assert "No route to host" in nc(lab, 587)
        r = lab.ws(
            'python3 -c "import socket; s=socket.socket(); s.settimeout(5); '
            f"print(s.connect_ex(('{MAIL}', 587)))\""
        )
        assert r.stdout.strip() == "113"  # EHOSTUNREACH
        assert "succeeded" in nc(lab, 25)

    @pytest.mark.parametrize("network", ["cafe", "hotspot"])
    def test_the_probe_names_the_icmp_message_and_the_router_that_sent_it(self, lab, network):
        lab.net(network)
        r = lab.ws(f"labkit probe port {MAIL} 587 --json")
        result = json.loads(r.stdout)
        assert result["state"] == "unreachable", r.stdout
        assert (result["icmp"]["type"], result["icmp"]["code"]) == (3, 13), result
        assert result["icmp"]["sender"] == lab.config.gateways[network]
        said = lab.ws(f"labkit probe port {MAIL} 587").stdout
        assert "administratively prohibited" in " ".join(said.split()), said

    def test_the_server_listens_on_587(self, lab):
        assert server_listens(lab, 587)


class TestIspBlocks25:
    @pytest.fixture(autouse=True)
    def _scenario(self, lab):
        lab.scenario("isp-blocks-25")

    def test_cafe_25_times_out_587_works(self, lab):
        assert "timed out" in nc(lab, 25)
        assert "235 2.7.0 Authentication successful" in auth(lab, 587)

    def test_hotspot_25_works(self, lab):
        lab.net("hotspot")
        assert "Verify return code: 0" in starttls(lab, 25)

    def test_the_server_itself_25_works(self, lab):
        assert server_listens(lab, 25)
        assert "Verify return code" in server_starttls(lab)


class TestFixedOnBothPaths:
    @pytest.mark.parametrize("network", ["cafe", "hotspot"])
    def test_starttls_verifies_and_dns_is_the_same(self, lab, network):
        lab.scenario("fixed", network=network)
        assert "Verify return code: 0" in starttls(lab, 25)
        answers = lab.ws(f"dig +short {MAIL}; dig +short -x {lab.config.mx_ip}").stdout.split()
        assert answers == [lab.config.mx_ip, f"{MAIL}."]
        me = {"cafe": lab.config.workstation_ip, "hotspot": lab.config.workstation_hotspot_ip}
        ptr = lab.ws(f"dig +short -x {me[network]}").stdout.strip()
        assert ptr == "workstation.zimmerman.test."


class TestSwitchingAndBadInput:
    def test_switch_is_fast_and_status_says_which_path(self, lab):
        lab.scenario("blog")
        state = lab.lab.use_network("hotspot")
        assert state.name == "hotspot" and state.elapsed < 1.0, state
        out = lab.cli("status")
        assert "network: hotspot" in out.stdout, out.stdout
        r = lab.ws("labkit net")
        assert "hotspot" in r.stdout, r.stdout + r.stderr
        r = lab.ws("labkit net use cafe")
        assert r.exit_code == 0 and "cafe" in r.stdout, r.stdout + r.stderr
        assert lab.lab.network().name == "cafe"

    def test_unknown_network_is_a_clear_usage_error(self, lab):
        out = lab.cli("net", "use", "wifi")
        assert out.returncode == 2
        assert "no network 'wifi'" in out.stderr and "cafe, hotspot" in out.stderr
        r = lab.ws("labkit net use wifi")
        assert r.exit_code == 2 and "cafe, hotspot" in r.stderr

    def test_a_deleted_route_is_reported_and_reset_repairs_it(self, lab):
        lab.scenario("blog")
        lab._exec("workstation", "ip route del default", None, 20)
        out = lab.cli("net")
        assert out.returncode == 1 and "no default route" in out.stdout, out.stdout
        cut_off = lab.ws(f"nc -zv -w 3 {lab.config.mx_ip} 25 2>&1").stdout
        assert "Network is unreachable" in cut_off, cut_off
        fixed = lab.cli("reset")
        assert fixed.returncode == 0, fixed.stderr
        assert lab.lab.network().name == "cafe"
        assert "succeeded" in nc(lab, 25)

    def test_a_stopped_router_gives_clear_errors_and_reset_repairs_it(self, lab):
        lab.scenario("blog")
        lab.lab.engine.client.api.stop(lab.lab.containers()["router"].id, timeout=2)
        try:
            out = lab.cli("scenario", "apply", "blog")
            assert out.returncode == 2 and "router" in out.stderr, out.stderr
            assert "Traceback" not in out.stderr
            r = lab.ws("labkit scenario apply blog")
            assert r.exit_code == 2 and "router" in r.stderr, r.stderr
        finally:
            fixed = lab.cli("reset")
        assert fixed.returncode == 0, fixed.stdout + fixed.stderr
        assert "250-XXXXXXXA" in ehlo(lab)
