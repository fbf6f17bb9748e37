"""The lab as a system: reset, status, isolation, and control from the workstation."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

pytestmark = pytest.mark.lab


def test_reset_undoes_a_hand_edit_of_master_cf(lab):
    lab.scenario("fixed")
    r = lab.ws(
        "ssh mx \"sed -i 's/^submission/#submission/' /etc/postfix/master.cf && postfix reload\""
    )
    assert r.exit_code == 0, r.stderr
    state = lab.lab.current()
    assert state.name == "fixed" and "/etc/postfix/master.cf" in state.modified
    out = lab.cli("reset")
    assert out.returncode == 0, out.stderr
    assert lab.lab.current().pristine
    r = lab.ws("nc -z -w 3 mail.zimmerman.test 587")
    assert r.exit_code == 0


def test_status_json_is_valid_and_complete(lab):
    out = lab.cli("status", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["project"] == lab.config.project
    assert data["healthy"] is True
    assert {s["service"] for s in data["services"]} == {"dns", "mx", "router", "workstation"}
    assert data["network"] in ("cafe", "hotspot")
    assert data["scenario"]["name"] in {
        "fixed",
        "no-submission",
        "no-tls-cert",
        "self-signed",
        "bad-dns",
        "blog",
    }
    assert data["url"].startswith(f"http://127.0.0.1:{lab.config.jupyter_port}/?token=")


def test_docker_checks_health_only_at_monitoring_pace(lab):
    api = lab.lab.engine.client.api  # the SDK itself, as a witness
    for service, c in lab.lab.containers().items():
        check = api.inspect_container(c.id)["Config"]["Healthcheck"]
        assert check["Test"] == ["CMD", "/usr/local/sbin/lab-health"], service
        assert check["Interval"] >= 30 * 10**9, (service, check)  # nanoseconds


def test_status_checks_health_itself_and_sees_a_stopped_postfix_at_once(lab):
    assert lab.mx("postfix stop").exit_code == 0
    try:
        st = lab.lab.status()
        mx = next(s for s in st.services if s.service == "mx")
        assert (mx.state, mx.health, st.healthy) == ("running", "unhealthy", False)
        check = lab.lab.check_service("mx")
        assert "postfix is not running" in check.detail
    finally:
        assert lab.mx("postfix start").exit_code == 0
    lab.lab.wait_ready(timeout=30)
    assert lab.lab.status().healthy


def test_only_jupyterlab_is_published_and_only_on_loopback(lab):
    published = {}
    api = lab.lab.engine.client.api  # the SDK itself, as a witness
    for service, c in lab.lab.containers().items():
        ports = api.inspect_container(c.id)["NetworkSettings"]["Ports"] or {}
        for port, bindings in ports.items():
            if bindings:
                published[(service, port)] = {(b["HostIp"], b["HostPort"]) for b in bindings}
        assert {(p.host_ip, str(p.host_port)) for p in c.published} == published.get(
            (service, "8888/tcp"), set()
        )
    assert published == {("workstation", "8888/tcp"): {("127.0.0.1", str(lab.config.jupyter_port))}}


def test_mx_has_no_route_out(lab):
    r = lab.mx("ip route get 192.0.2.1 2>&1")  # asks the kernel; sends nothing
    assert r.exit_code != 0 and "unreachable" in r.stdout.lower(), r.stdout
    for cable in ("server", "cafe", "hotspot"):
        network = lab.lab.engine.client.api.inspect_network(f"{lab.config.project}_{cable}")
        assert network["Internal"] is True, cable
    r = lab._exec("router", "ip route get 192.0.2.1 2>&1", None, 20)
    assert r.exit_code != 0 and "unreachable" in r.stdout.lower(), r.stdout
    # The laptop's default route leads to the router, which has nowhere to send it.
    r = lab.ws("nc -zv -w 3 192.0.2.1 80 2>&1")
    assert r.exit_code != 0 and "unreachable" in r.stdout.lower(), r.stdout


def test_scenarios_apply_from_the_workstation_over_ssh(lab):
    lab.scenario("fixed")
    r = lab.ws("labkit scenario apply no-submission --json")
    assert r.exit_code == 0, r.stdout + r.stderr
    result = json.loads(r.stdout)
    assert result["scenario"] == "no-submission" and result["ports"] == [25]
    assert lab.ws("nc -z -w 3 mail.zimmerman.test 587").exit_code != 0
    r = lab.ws("labkit scenario current --json")
    assert json.loads(r.stdout)["name"] == "no-submission"


def test_a_learners_zone_edit_is_served_at_once(lab):
    lab.scenario("bad-dns")
    zone = "/lab/zones/zimmerman.test.zone"
    r = lab.ws(
        f"sed -i 's/^mail .*CNAME.*/mail IN A {lab.config.mx_ip}/' {zone} && "
        'for i in $(seq 50); do [ "$(dig +short A mail.zimmerman.test)" = '
        f'"{lab.config.mx_ip}" ] && [ -z "$(dig +short CNAME mail.zimmerman.test)" ]'
        " && exit 0; sleep 0.1; done; exit 1"
    )
    assert r.exit_code == 0, lab.ws(f"cat {zone}").stdout
    assert "zones/zimmerman.test.zone" in lab.lab.current().modified


def test_unknown_scenario_lists_the_valid_ones(lab):
    out = lab.cli("scenario", "apply", "no-such-thing")
    assert out.returncode == 2
    assert "Unknown scenario 'no-such-thing'" in out.stderr
    assert "no-submission" in out.stderr and "blog" in out.stderr


RECORD = (
    "from labkit.exercises.progress import ProgressStore; "
    "from labkit.exercises.grade import Grade; "
    "ProgressStore().record_grade(Grade(1.0, 1.0, 'ok', correct=True, "
    "exercise_id='nb02.survival-test'))"
)
READ = (
    "from labkit.exercises.progress import ProgressStore; "
    "r = ProgressStore().get('nb02.survival-test'); print(r.attempts if r else 'missing')"
)


def test_progress_survives_down_up_and_a_recreated_container(lab):
    r = lab.ws(f'python -c "{RECORD}"')
    assert r.exit_code == 0, r.stderr
    before = lab.ws(f'python -c "{READ}"').stdout.strip()
    assert before.isdigit() and int(before) >= 1

    lab.lab.down()  # no --volumes: the learner's home stays
    lab.lab.up()
    assert lab.ws(f'python -c "{READ}"').stdout.strip() == before

    compose = lab.lab.compose()
    compose.run(["up", "-d", "--no-build", "--force-recreate", "workstation"])
    lab.lab.wait_ready(timeout=120)
    assert lab.ws(f'python -c "{READ}"').stdout.strip() == before
    out = lab.cli("progress", "--json")
    assert out.returncode == 0, out.stderr
    assert "nb02.survival-test" in out.stdout


def _restart_workstation(lab) -> None:
    ws = lab.lab.containers()["workstation"]
    lab.lab.engine.client.api.restart(ws.id, timeout=5)  # the SDK itself, as a witness
    lab.lab.wait_ready(timeout=120)


def test_course_updates_reach_untouched_notebooks_but_never_overwrite_edits(lab):
    root = lab.lab.containers()["workstation"]
    shipped = "/opt/labkit/notebooks"
    assert lab.lab.engine.exec(root, ["sh", "-c", f"echo v1 > {shipped}/zz-update-test.md"]).ok
    _restart_workstation(lab)
    assert lab.ws("cat ~/notebooks/zz-update-test.md").stdout.strip() == "v1"

    lab.ws("echo '# my own notes' >> ~/notebooks/README.md")
    lab.lab.engine.exec(
        root,
        [
            "sh",
            "-c",
            f"echo v2 > {shipped}/zz-update-test.md && "
            f"echo '# course text, new edition' >> {shipped}/README.md",
        ],
    )
    _restart_workstation(lab)
    assert lab.ws("cat ~/notebooks/zz-update-test.md").stdout.strip() == "v2"
    mine = lab.ws("cat ~/notebooks/README.md").stdout
    assert "# my own notes" in mine and "new edition" not in mine
    update = lab.ws("cat ~/notebooks/'README (course update).md'").stdout
    assert "new edition" in update

    _restart_workstation(lab)  # nothing new: no further copies, nothing overwritten
    assert "# my own notes" in lab.ws("cat ~/notebooks/README.md").stdout
    lab.lab.engine.exec(root, ["sh", "-c", f"rm {shipped}/zz-update-test.md"])


def test_commands_follow_the_running_lab_not_the_environment(lab):
    # Only the project name: network prefix and port must come from the running lab.
    env = {
        k: v for k, v in os.environ.items() if k not in ("LABKIT_NET_PREFIX", "LABKIT_JUPYTER_PORT")
    }
    env["LABKIT_PROJECT"] = lab.config.project
    out = subprocess.run(
        ["labkit", "scenario", "apply", "fixed"],
        env=env,
        text=True,
        capture_output=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert lab.ws("dig +short A mail.zimmerman.test").stdout.strip() == lab.config.mx_ip
    out = subprocess.run(
        ["labkit", "status", "--json"], env=env, text=True, capture_output=True, timeout=60
    )
    assert json.loads(out.stdout)["url"].startswith(f"http://127.0.0.1:{lab.config.jupyter_port}/")


def test_containers_restarted_in_place_come_back_working(lab):
    """A host reboot or `docker restart` keeps each container's files, stale pid files
    included: every daemon must start again, and the lab must answer as before."""
    lab.scenario("fixed")
    api = lab.lab.engine.client.api
    for _ in range(2):  # the second start runs exactly as the first: same pids, same files
        for container in lab.lab.containers().values():
            api.restart(container.id, timeout=5)
        lab.lab.wait_ready(timeout=120)
    r = lab.mx("pgrep -x rsyslogd && pgrep -x dovecot && postfix status")
    assert r.exit_code == 0, r.stdout + r.stderr
    r = lab.ws("dig +short MX zimmerman.test")
    assert r.stdout.strip(), r.stderr
    r = lab.ws("swaks --server mail.zimmerman.test --quit-after EHLO --tls 2>&1")
    assert r.exit_code == 0 and "STARTTLS" in r.stdout, r.stdout


def test_a_container_merely_started_from_a_lab_image_is_not_part_of_the_lab(lab):
    """Compose writes its project and service labels into the images it builds; a
    container started from one by hand (or as a swarm task) carries them and must not
    count as the lab's mx."""
    image = f"labkit/mx:{lab.config.image_tag}"
    labels = json.loads(
        subprocess.run(
            ["docker", "image", "inspect", "--format", "{{json .Config.Labels}}", image],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    project = labels["com.docker.compose.project"]  # the image says it belongs here
    started = subprocess.run(
        ["docker", "run", "-d", "--rm", "--entrypoint", "sleep", image, "120"],
        capture_output=True,
        text=True,
        check=True,
    )
    imposter = started.stdout.strip()
    try:
        from labkit.lab.engine import DockerEngine

        listed = DockerEngine().containers(project=project, service="mx")
        assert imposter not in {c.id for c in listed}
        assert all(c.labels.get("com.docker.compose.oneoff") == "False" for c in listed)
    finally:
        subprocess.run(["docker", "rm", "-f", imposter], capture_output=True)
