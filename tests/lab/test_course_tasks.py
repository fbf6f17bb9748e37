"""Every live task of the course, against the real lab, both ways.

For each task the lab is put into the notebook's scenario, the task is graded as the
learner's *Check my fix* button would grade it (inside the workstation), and it must
fail with feedback that names the fault. Then the fix the notebook teaches is applied,
with the very commands the notebook shows (typed after ``ssh mx``, or zone edits on the
workstation), and the same task must pass. The scenario is applied again afterwards, so
no fix leaks into the next test.

The notebooks never print a fix: the learner finds it, or climbs the task's hint
ladder, whose last rung is the fix. The commands below are checked to appear verbatim in
those ladders, so the course and these tests cannot drift apart.
"""

from __future__ import annotations

import json
import shlex
import time
from pathlib import Path

import nbformat
import pytest

pytestmark = pytest.mark.lab

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"

#: What the notebooks tell the learner to run on the server (after `ssh mx`).
UNCOMMENT_SERVICES = "sed -i -E 's/^#((submission|smtps) +inet|  -o )/\\1/' /etc/postfix/master.cf"
SELF_SIGNED = (
    "postconf -e smtpd_tls_cert_file=/etc/ssl/lab/selfsigned.crt "
    "smtpd_tls_key_file=/etc/ssl/lab/selfsigned.key"
)
ISSUE_CERT = "lab-certbot mail.zimmerman.test"
USE_LAB_CERT = (
    "postconf -e smtpd_tls_cert_file=/etc/ssl/lab/mail.zimmerman.test.crt "
    "smtpd_tls_key_file=/etc/ssl/lab/mail.zimmerman.test.key"
)
TRUST_ONLY_THE_SERVER = "postconf -e 'mynetworks = 127.0.0.0/8 [::1]/128'"
AUTH_ONLY_AFTER_TLS = "postconf -e smtpd_tls_auth_only=yes"
MYHOSTNAME = "postconf -e myhostname=mail.zimmerman.test && postfix reload"
CHECK = "postfix check"
RELOAD = "postfix reload"

TAUGHT = {
    "nb02.fix-submission": [UNCOMMENT_SERVICES, CHECK, RELOAD],
    "nb03.fix-starttls": [ISSUE_CERT, USE_LAB_CERT, RELOAD],
    "nb04.no-open-relay": [TRUST_ONLY_THE_SERVER, RELOAD],
    "nb04.auth-after-tls": [AUTH_ONLY_AFTER_TLS, RELOAD],
    "nb05.ptr-matches": [MYHOSTNAME],
    "nb07.beat-the-box": [UNCOMMENT_SERVICES, CHECK, RELOAD],
}

#: Grades a live task inside the workstation, as the task card does; prints JSON.
GRADE = """
import json, sys
from labkit.exercises import get
g = get(sys.argv[1]).run()
print(json.dumps({"score": g.score, "max_score": g.max_score, "correct": g.correct,
                  "feedback": g.feedback,
                  "criteria": [[c.name, c.met, c.detail] for c in g.criteria]}))
"""


def notebook_text(name: str) -> str:
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    return "\n".join(cell.source for cell in nb.cells)


def grade(lab, task: str) -> dict:
    r = lab.ws(f"python - {task} <<'EOF'\n{GRADE}\nEOF")
    assert r.exit_code == 0, r.stderr[-2000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


def grade_until(lab, task: str, until=lambda r: r["correct"], timeout: float = 15.0) -> dict:
    """Grade until ``until(result)`` (by default: the task passes). Postfix and the DNS
    server apply a change a moment after the command returns."""
    deadline = time.monotonic() + timeout
    while True:
        result = grade(lab, task)
        if until(result) or time.monotonic() > deadline:
            return result
        time.sleep(0.5)


def on_mx(lab, *commands: str) -> None:
    """Run commands on the server the way the learner does: `ssh mx` from the workstation."""
    for command in commands:
        r = lab.ws(f"ssh mx {shlex.quote(command)}")
        assert r.exit_code == 0, (command, r.stdout, r.stderr)


def failing(result: dict) -> list[str]:
    return [f"{name}: {detail}" for name, met, detail in result["criteria"] if not met]


@pytest.fixture
def scenario(lab):
    """Apply a scenario for a test, and apply it again afterwards to undo the fix."""
    used: list[str] = []

    def use(name: str) -> None:
        lab.lab.apply(name)
        used.append(name)

    yield use
    if used:
        lab.lab.apply(used[-1])


@pytest.mark.parametrize("task", sorted(TAUGHT))
def test_the_commands_below_are_the_fix_rung_of_the_hint_ladder(task):
    from labkit.exercises import get

    fix = get(task).hints[-1]
    for command in TAUGHT[task]:
        assert command in fix, f"{task}'s last hint lacks `{command}`"
    for notebook in NOTEBOOKS.glob("*.ipynb"):
        assert "postconf -e" not in notebook_text(notebook.stem), notebook.name


def test_nb02_submission_fails_until_master_cf_is_fixed(lab, scenario):
    scenario("no-submission")
    before = grade(lab, "nb02.fix-submission")
    assert not before["correct"] and before["score"] == 0
    assert "refused" in before["feedback"] and "errno 111" in before["feedback"]
    assert "master.cf" not in before["feedback"]  # the evidence, not the fix

    on_mx(lab, UNCOMMENT_SERVICES, CHECK, RELOAD)
    after = grade_until(lab, "nb02.fix-submission")
    assert after["correct"], failing(after)
    assert after["score"] == after["max_score"] == 1.0


def test_nb03_starttls_fails_missing_then_self_signed_then_passes_with_the_lab_ca(lab, scenario):
    scenario("no-tls-cert")
    missing = grade(lab, "nb03.fix-starttls")
    assert not missing["correct"]
    assert "454" in missing["feedback"] and "cannot get RSA certificate" in missing["feedback"]

    on_mx(lab, SELF_SIGNED, RELOAD)
    selfsigned = grade_until(
        lab, "nb03.fix-starttls", until=lambda r: "Verify return code: 18" in r["feedback"]
    )
    assert not selfsigned["correct"]
    assert 0 < selfsigned["score"] < 1
    assert "Verify return code: 18" in selfsigned["feedback"]
    assert "lab CA" in selfsigned["feedback"]

    on_mx(lab, ISSUE_CERT, USE_LAB_CERT, RELOAD)
    fixed = grade_until(lab, "nb03.fix-starttls")
    assert fixed["correct"], failing(fixed)
    assert any("Verify return code: 0 (ok)" in detail for _, _, detail in fixed["criteria"])


def test_nb04_open_relay_fails_until_mynetworks_is_narrowed(lab, scenario):
    scenario("open-relay")
    before = grade(lab, "nb04.no-open-relay")
    assert not before["correct"]
    assert "open relay" in before["feedback"] and "250 2.1.5" in before["feedback"]

    on_mx(lab, TRUST_ONLY_THE_SERVER, RELOAD)
    after = grade_until(lab, "nb04.no-open-relay")
    assert after["correct"], failing(after)
    assert any("Relay access denied" in detail for _, _, detail in after["criteria"])
    assert any(name == "own domain accepted" and met for name, met, _ in after["criteria"])


def test_nb04_auth_in_clear_fails_until_tls_auth_only(lab, scenario):
    scenario("open-relay")
    before = grade(lab, "nb04.auth-after-tls")
    assert not before["correct"]
    assert "clear text" in before["feedback"] and "AUTH" in before["feedback"]

    on_mx(lab, AUTH_ONLY_AFTER_TLS, RELOAD)
    after = grade_until(lab, "nb04.auth-after-tls")
    assert after["correct"], failing(after)
    assert any(
        name == "AUTH after TLS" and met and "logged in" in detail
        for name, met, detail in after["criteria"]
    )


def zone_fixes(lab) -> tuple[list[str], str, str]:
    """The fixes the hint ladders describe, as commands: (MX fix lines, reverse zone file,
    PTR line). The learner makes them with an editor; the test with sed and perl."""
    address = lab.config.mx_ip
    zone = "~/dns-zones/zimmerman.test.zone"
    commands = [
        f"sed -i -E 's/^mail(\\s+)IN\\s+CNAME.*/mail        IN A    {address}/' {zone}",
        r"perl -pi -e 's/(SOA\s+\S+\s+\S+\s*\(\s*)(\d+)/$1.($2+1)/e' " + zone,
    ]
    reverse_zone = ".".join(reversed(address.split(".")[:3])) + ".in-addr.arpa"
    line = f"{address.rsplit('.', 1)[1]:<11} IN PTR  mail.zimmerman.test."
    return commands, f"~/dns-zones/{reverse_zone}.zone", line


def bump_serial_command(lab, path: str) -> str:
    _, perl = zone_fixes(lab)[0]
    return perl.replace("~/dns-zones/zimmerman.test.zone", path)


def test_nb05_mx_fails_until_the_cname_is_an_a_record(lab, scenario):
    scenario("bad-dns")
    before = grade(lab, "nb05.fix-mx")
    assert not before["correct"]
    assert "CNAME" in before["feedback"] and "RFC 2181" in before["feedback"]

    commands, _, _ = zone_fixes(lab)
    for command in commands:
        r = lab.ws(command)
        assert r.exit_code == 0, (command, r.stderr)
    after = grade_until(lab, "nb05.fix-mx")
    assert after["correct"], failing(after)
    assert lab.ws("dig +short CNAME mail.zimmerman.test").stdout.strip() == ""


def test_nb05_ptr_fails_until_the_reverse_zone_names_the_server(lab, scenario):
    scenario("bad-dns")
    before = grade(lab, "nb05.ptr-matches")
    assert not before["correct"]
    assert "no PTR" in before["feedback"]

    _, path, line = zone_fixes(lab)
    r = lab.ws(f"printf '%s\\n' {shlex.quote(line)} >> {path} && {bump_serial_command(lab, path)}")
    assert r.exit_code == 0, r.stderr
    after = grade_until(lab, "nb05.ptr-matches")
    assert after["correct"], failing(after)
    assert lab.ws(f"dig +short -x {lab.config.mx_ip}").stdout.strip() == "mail.zimmerman.test."


def test_nb06_capstone_fails_on_the_blog_server_and_passes_when_all_is_fixed(lab, scenario):
    scenario("blog")
    # The server's own faults show from the hotspot: on the cafe, the middlebox masks
    # STARTTLS before the certificate can be seen (notebook 06's second opinion).
    lab.net("hotspot")
    before = grade(lab, "nb06.server-fixed")
    assert not before["correct"] and 0 < before["score"] < before["max_score"]
    broken = " ".join(failing(before))
    for symptom in ("587 refused", "465 refused", "18 (self-signed", "CNAME", "no PTR"):
        assert symptom in broken, (symptom, broken)

    # Notebooks 2, 3 and 5, in the order the capstone suggests.
    on_mx(lab, UNCOMMENT_SERVICES, CHECK, ISSUE_CERT, USE_LAB_CERT, MYHOSTNAME)
    commands, path, line = zone_fixes(lab)
    for command in commands:
        assert lab.ws(command).exit_code == 0, command
    r = lab.ws(f"printf '%s\\n' {shlex.quote(line)} >> {path} && {bump_serial_command(lab, path)}")
    assert r.exit_code == 0, r.stderr

    after = grade_until(lab, "nb06.server-fixed")
    assert after["correct"], failing(after)
    assert after["score"] == after["max_score"] == 3.0
    assert all(met for _, met, _ in after["criteria"])
    lab.net("cafe")


def test_nb07_login_from_the_cafe_fails_until_465_is_served(lab, scenario):
    """On the cafe, behind the box: no login until 465 (implicit TLS) is served; then the
    login succeeds on the cafe path itself, which still rewrites port 25."""
    scenario("blog")
    lab.net("cafe")
    before = grade(lab, "nb07.beat-the-box")
    assert not before["correct"] and before["score"] == 0
    assert "465" in before["feedback"] and "refused" in before["feedback"]

    on_mx(lab, UNCOMMENT_SERVICES, CHECK, RELOAD)
    after = grade_until(lab, "nb07.beat-the-box")
    assert after["correct"], failing(after)
    assert lab.lab.network().name == "cafe"
    masked = lab.ws(
        "(sleep 0.5; printf 'EHLO laptop\\r\\n'; sleep 0.5; printf 'QUIT\\r\\n'; sleep 0.5)"
        " | telnet mail.zimmerman.test 25 2>&1"
    )
    assert "XXXXXXXA" in masked.stdout  # the box is still there: 465 went around it
