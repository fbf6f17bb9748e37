"""Every scenario, seen from the learner's workstation with the real clients.

swaks and a raw nc dialog for banner/EHLO/AUTH, ``openssl s_client`` for STARTTLS and
implicit TLS with verification, nc/connect for refused ports (errno 111), dig for
MX/CNAME/PTR, and the inside view (mail.log, local relay) on mx itself.
"""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.lab

MAIL = "mail.zimmerman.test"


def ehlo(lab, host: str = MAIL, port: int = 25) -> str:
    r = lab.ws(
        f"swaks --server {host} --port {port} --quit-after EHLO --helo workstation.zimmerman.test"
    )
    assert r.exit_code == 0, r.stdout + r.stderr
    return r.stdout


def s_client(lab, port: int, starttls: bool, verify_name: str = MAIL) -> str:
    extra = "-starttls smtp" if starttls else ""
    # QUIT with -ign_eof: s_client reads on until the server has answered and closed.
    r = lab.ws(
        f"printf 'QUIT\\r\\n' | openssl s_client {extra} -ign_eof -connect {MAIL}:{port} "
        f"-servername {MAIL} -verify_hostname {verify_name} 2>&1"
    )
    return r.stdout


def verify_code(output: str) -> int:
    m = re.search(r"Verify return code: (\d+)", output)
    assert m, output[-800:]
    return int(m.group(1))


def connect_errno(lab, port: int) -> int:
    r = lab.ws(
        'python3 -c "import socket; s=socket.socket(); s.settimeout(5); '
        f"print(s.connect_ex(('{MAIL}', {port})))\""
    )
    assert r.exit_code == 0, r.stderr
    return int(r.stdout.strip())


def nc_refused(lab, port: int) -> bool:
    r = lab.ws(f"nc -zv -w 3 {MAIL} {port} 2>&1")
    return r.exit_code != 0 and "Connection refused" in r.stdout


def relay_from_workstation(lab) -> str:
    r = lab.ws(
        f"swaks --server {MAIL} --from jez@zimmerman.test --to someone@example.net "
        "--quit-after RCPT 2>&1"
    )
    return r.stdout


def relay_from_server(lab) -> str:
    dialog = (
        r"EHLO localhost\r\nMAIL FROM:<jez@zimmerman.test>\r\n"
        r"RCPT TO:<someone@example.net>\r\nQUIT\r\n"
    )
    r = lab.mx(f"printf '{dialog}' | nc -q 3 -w 5 localhost 25")
    return r.stdout


def dig(lab, args: str) -> str:
    r = lab.ws(f"dig +short {args}")
    assert r.exit_code == 0, r.stderr
    return r.stdout.strip()


class TestFixed:
    @pytest.fixture(autouse=True)
    def _scenario(self, lab):
        lab.scenario("fixed")

    def test_port_25_offers_starttls_but_no_auth_in_clear(self, lab):
        out = ehlo(lab)
        assert "250-STARTTLS" in out
        assert "AUTH" not in out  # smtpd_tls_auth_only = yes

    def test_starttls_on_25_verifies_against_the_lab_ca(self, lab):
        out = s_client(lab, 25, starttls=True)
        assert verify_code(out) == 0
        assert "CN = labkit Lab CA" in out or "CN=labkit Lab CA" in out

    def test_implicit_tls_on_465_verifies(self, lab):
        out = s_client(lab, 465, starttls=False)
        assert verify_code(out) == 0
        assert "220 " in out  # the SMTP banner arrives inside TLS

    def test_submission_587_requires_tls_then_auth_works(self, lab):
        out = ehlo(lab, port=587)
        assert "250-STARTTLS" in out and "AUTH" not in out
        r = lab.ws(
            f"swaks --server {MAIL} --port 587 --tls --auth-user jez "
            "--auth-password metagross2014 --quit-after AUTH 2>&1"
        )
        assert "235 2.7.0 Authentication successful" in r.stdout, r.stdout

    def test_wrong_password_is_rejected(self, lab):
        r = lab.ws(
            f"swaks --server {MAIL} --port 587 --tls --auth-user jez "
            "--auth-password wrong --quit-after AUTH 2>&1"
        )
        assert "535 5.7.8" in r.stdout, r.stdout

    def test_relay_from_the_workstation_is_denied(self, lab):
        out = relay_from_workstation(lab)
        assert re.search(r"454 4\.7\.1 .*Relay access denied", out), out

    def test_dns_is_clean(self, lab):
        mx_ip = lab.config.mx_ip
        assert dig(lab, "MX zimmerman.test") == "10 mail.zimmerman.test."
        assert dig(lab, f"A {MAIL}") == mx_ip
        assert dig(lab, f"CNAME {MAIL}") == ""
        assert dig(lab, f"-x {mx_ip}") == "mail.zimmerman.test."


class TestNoSubmission:
    @pytest.fixture(autouse=True)
    def _scenario(self, lab):
        lab.scenario("no-submission")

    @pytest.mark.parametrize("port", [465, 587])
    def test_port_is_refused_with_errno_111(self, lab, port):
        assert nc_refused(lab, port)
        assert connect_errno(lab, port) == 111  # ECONNREFUSED on Linux (61 on macOS)

    def test_port_25_still_works(self, lab):
        assert "250-STARTTLS" in ehlo(lab)

    def test_master_cf_has_no_submission_service(self, lab):
        r = lab.mx("postconf -M")
        services = {line.split()[0] for line in r.stdout.splitlines() if line.strip()}
        assert "smtp" in services
        assert "submission" not in services and "smtps" not in services


class TestNoTlsCert:
    @pytest.fixture(autouse=True)
    def _scenario(self, lab):
        lab.scenario("no-tls-cert")

    def test_starttls_fails_with_454_and_auth_never_appears(self, lab):
        # Postfix 3.7 still advertises STARTTLS without a certificate, then refuses it.
        r = lab.ws(
            r"printf 'EHLO ws\r\nSTARTTLS\r\nQUIT\r\n' | nc -q 3 -w 5 "
            f"{MAIL} 25"
        )
        assert "454 4.7.0 TLS not available due to local problem" in r.stdout, r.stdout
        assert "AUTH" not in r.stdout
        out = s_client(lab, 25, starttls=True)
        assert "no peer certificate available" in out and "Cipher is (NONE)" in out

    def test_mail_log_says_why(self, lab):
        ehlo(lab)  # a connection makes smtpd try (and fail) to load the certificate
        r = lab.mx("grep -c 'cannot get RSA certificate from file' /var/log/mail.log")
        assert int(r.stdout.strip() or 0) >= 1, lab.mx("tail -20 /var/log/mail.log").stdout
        r = lab.mx("grep 'disabling TLS support' /var/log/mail.log | tail -1")
        assert "/etc/ssl/private/mail.zimmerman.test.pem" in r.stdout


class TestSelfSigned:
    @pytest.fixture(autouse=True)
    def _scenario(self, lab):
        lab.scenario("self-signed")

    def test_starttls_works_but_verification_fails_18(self, lab):
        out = s_client(lab, 25, starttls=True)
        assert "verify error:num=18:self-signed certificate" in out
        # Checked for the name it carries, the only complaint left is "self-signed".
        out = s_client(lab, 25, starttls=True, verify_name="metagross.zimmerman.test")
        assert verify_code(out) == 18
        assert "CN = metagross.zimmerman.test" in out or "CN=metagross.zimmerman.test" in out


class TestBadDns:
    @pytest.fixture(autouse=True)
    def _scenario(self, lab):
        lab.scenario("bad-dns")

    def test_mx_points_at_a_cname(self, lab):
        assert dig(lab, "MX zimmerman.test") == "10 mail.zimmerman.test."
        assert dig(lab, f"CNAME {MAIL}") == "metagross.zimmerman.test."

    def test_apex_points_elsewhere_and_ptr_is_missing(self, lab):
        assert dig(lab, "A zimmerman.test") != lab.config.mx_ip
        assert dig(lab, f"-x {lab.config.mx_ip}") == ""
        r = lab.ws(f"dig -x {lab.config.mx_ip}")
        assert "status: NXDOMAIN" in r.stdout

    def test_postfix_itself_is_fine(self, lab):
        assert "250-STARTTLS" in ehlo(lab)
        assert verify_code(s_client(lab, 465, starttls=False)) == 0


class TestBlog:
    """The server's side of the blog (the café's middlebox: tests/lab/test_netpath_lab.py).

    From the phone's hotspot nothing inspects SMTP, so these see Postfix as it is."""

    @pytest.fixture(autouse=True)
    def _scenario(self, lab):
        lab.scenario("blog", network="hotspot")

    def test_port_25_greets_as_metagross_with_starttls_no_auth(self, lab):
        out = ehlo(lab)
        assert "250-metagross" in out
        assert "250-STARTTLS" in out
        assert "AUTH" not in out

    def test_auth_appears_after_starttls_and_works(self, lab):
        r = lab.ws(
            f"swaks --server {MAIL} --tls --auth-user jez --auth-password metagross2014 "
            "--quit-after AUTH 2>&1"
        )
        assert "250-AUTH PLAIN LOGIN" in r.stdout
        assert "235 2.7.0 Authentication successful" in r.stdout

    def test_certificate_is_self_signed(self, lab):
        out = s_client(lab, 25, starttls=True, verify_name="metagross.zimmerman.test")
        assert verify_code(out) == 18
        assert "verify error:num=18" in s_client(lab, 25, starttls=True)

    @pytest.mark.parametrize("port", [465, 587])
    def test_465_and_587_refused(self, lab, port):
        assert connect_errno(lab, port) == 111

    def test_relay_denied_from_outside_but_allowed_from_the_server(self, lab):
        assert "Relay access denied" in relay_from_workstation(lab)
        inside = relay_from_server(lab)
        assert re.search(r"^250 2\.1\.5 Ok", inside, re.M), inside

    def test_dns_has_the_blogs_problems(self, lab):
        assert dig(lab, f"CNAME {MAIL}") == "metagross.zimmerman.test."
        assert dig(lab, f"-x {lab.config.mx_ip}") == ""


class TestOpenRelay:
    @pytest.fixture(autouse=True)
    def _scenario(self, lab):
        lab.scenario("open-relay")

    def test_the_laptop_may_relay_without_logging_in(self, lab):
        out = relay_from_workstation(lab)
        assert re.search(r"<-\s+250 2\.1\.5 Ok", out), out

    def test_auth_is_offered_before_tls(self, lab):
        out = ehlo(lab)
        assert "250-AUTH PLAIN LOGIN" in out and "250-STARTTLS" in out
