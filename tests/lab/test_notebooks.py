"""The course notebooks: well-formed, wired to the question bank, and runnable.

The structural tests read the notebooks in ``notebooks/``: committed without outputs,
a setup cell first, every exercise of the bank asked exactly once in its notebook,
a recap and a "what's next" at the end, links that lead somewhere.

The execution tests run each notebook top to bottom, in course order, inside the test
lab's workstation, as the learner, with nbclient: the copies baked into the image
(``/opt/labkit/notebooks``), executed in a scratch folder with a scratch progress file.
No cell may raise, every setup cell must leave the lab in its notebook's scenario,
and the lab must look healthy from the welcome notebook. A known scenario is applied
afterwards.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import nbformat
import pytest

from labkit.exercises import exercises_for

pytestmark = pytest.mark.lab

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
#: Notebook -> the scenario its first cell sets up.
COURSE = {
    "00-welcome": "blog",
    "01-talking-smtp": "fixed",
    "02-connection-refused": "no-submission",
    "03-starttls-and-certificates": "no-tls-cert",
    "04-auth-and-relay": "open-relay",
    "05-dns-for-mail": "bad-dns",
    "06-capstone": "blog",
    "07-the-path": "firewall-drop",
}
#: A notebook that visits several scenarios, and the one it ends in.
ENDS_IN = {"07-the-path": "blog"}
CELL_TIMEOUT = 120
#: Text in a cell's output that means a shell command in it failed.
SHELL_FAILURES = ("command not found", "Permission denied (publickey", "Could not resolve hostname")

ASK = re.compile(r"""\b(?:ask|predict|challenge)\(\s*["']([^"']+)["']""")
SETUP = re.compile(r"""\bsetup\(\s*["']([^"']+)["']\s*\)""")


def load(name: str) -> nbformat.NotebookNode:
    return nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)


# --------------------------------------------------------------------------- structure


def test_the_course_is_exactly_these_notebooks():
    assert sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb")) == sorted(COURSE)


@pytest.mark.parametrize("name", COURSE)
def test_committed_without_outputs(name):
    nb = load(name)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.source[:80]


@pytest.mark.parametrize("name, scenario", COURSE.items())
def test_the_first_code_cell_sets_up_the_scenario(name, scenario):
    nb = load(name)
    first = next(c for c in nb.cells if c.cell_type == "code")
    assert SETUP.findall(first.source) == [scenario]
    assert (ROOT / "lab" / "scenarios" / f"{scenario}.toml").is_file()
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")


@pytest.mark.parametrize("name", COURSE)
def test_every_exercise_of_the_notebook_is_asked_once(name):
    nb = load(name)
    asked = [i for c in nb.cells if c.cell_type == "code" for i in ASK.findall(c.source)]
    bank = sorted(e.id for e in exercises_for(name[:2]))
    assert sorted(asked) == bank


@pytest.mark.parametrize("name", COURSE)
def test_objectives_first_key_points_and_whats_next_last(name):
    """Software Carpentry's episode shape: objectives at the top, key points at the end."""
    cells = [c for c in load(name).cells if c.cell_type == "markdown"]
    assert cells[1].source.startswith("## Objectives"), cells[1].source[:40]
    assert "## Key points" in cells[-1].source and "## What's next" in cells[-1].source


#: What only a fix does: none of it may be printed in a notebook (the hint ladder has it).
FIX_COMMANDS = re.compile(r"postconf -e|sed -i|lab-certbot mail\.|IN PTR +mail|IN A +\{")


@pytest.mark.parametrize("name", COURSE)
def test_no_verbatim_fixes(name):
    for cell in load(name).cells:
        assert not FIX_COMMANDS.search(cell.source), (name, cell.source[:200])


@pytest.mark.parametrize("name", sorted(set(COURSE) - {"00-welcome"}))
def test_a_prediction_or_challenge_in_every_notebook(name):
    source = "\n".join(c.source for c in load(name).cells if c.cell_type == "code")
    if name != "06-capstone":
        assert "predict(" in source
    if name != "01-talking-smtp":
        assert "challenge(" in source


@pytest.mark.parametrize("name", COURSE)
def test_no_typed_answer_is_on_screen_right_before_its_question(name):
    """The two cells before a question must not show its answer (a number or a phrase)."""
    cells = load(name).cells
    for i, cell in enumerate(cells):
        for exercise_id in ASK.findall(cell.source) if cell.cell_type == "code" else ():
            found = exercises_for(name[:2])
            question = next(e for e in found if e.id == exercise_id)
            answer = getattr(question, "solution_text", "")
            if not answer or exercise_id.split(".")[1].startswith(("predict", "fix")):
                continue
            before = " ".join(c.source for c in cells[max(0, i - 2) : i])
            assert answer not in before, (exercise_id, answer)


@pytest.mark.parametrize("name", COURSE)
def test_links_to_notebooks_lead_somewhere(name):
    text = "\n".join(c.source for c in load(name).cells if c.cell_type == "markdown")
    for target in re.findall(r"\]\(([^)]+\.ipynb)\)", text):
        assert (NOTEBOOKS / target).is_file(), target


def test_the_doctor_points_at_notebooks_that_exist():
    source = (ROOT / "labkit" / "doctor" / "checks.py").read_text()
    for target in set(re.findall(r"notebooks/([\w-]+\.ipynb)", source)):
        assert (NOTEBOOKS / target).is_file(), target


# --------------------------------------------------------------------------- execution

RUNNER = r"""
import json, sys, time
import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

path, timeout = sys.argv[1], int(sys.argv[2])
nb = nbformat.read(path, as_version=4)
started = time.monotonic()
error = None
try:
    NotebookClient(nb, timeout=timeout, startup_timeout=90, kernel_name="python3",
                   resources={"metadata": {"path": sys.argv[3]}}).execute()
except CellExecutionError as exc:
    error = str(exc)[-3000:]
texts = []
for cell in nb.cells:
    if cell.cell_type != "code":
        continue
    out = []
    for o in cell.get("outputs", []):
        if o.output_type == "stream":
            out.append(o.text)
        elif o.output_type == "error":
            out.append(f"{o.ename}: {o.evalue}")
        elif "data" in o:
            out.append(o["data"].get("text/plain", ""))
    texts.append({"source": cell.source, "output": "\n".join(out)})
print(json.dumps({"error": error, "cells": texts, "elapsed": time.monotonic() - started}))
"""


@pytest.fixture(scope="module")
def scratch(lab):
    """A folder in the workstation with the image's notebooks and a scratch progress file."""
    r = lab.ws(
        'd=$(mktemp -d /tmp/course-XXXX) && cp /opt/labkit/notebooks/*.ipynb "$d" && echo "$d"'
    )
    assert r.exit_code == 0, r.stderr
    folder = r.stdout.strip()
    yield folder
    lab.ws(f"rm -rf {folder}")
    lab.lab.apply("fixed")


def test_the_image_carries_these_notebooks(lab, scratch):
    r = lab.ws(f"cd {scratch} && sha256sum *.ipynb")
    theirs = dict(line.split()[::-1] for line in r.stdout.splitlines())
    ours = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in NOTEBOOKS.glob("*.ipynb")}
    assert theirs == ours, "rebuild the workstation image: `labkit build workstation`"


def execute(lab, scratch: str, name: str) -> dict:
    r = lab.ws(
        f"cd {scratch} && LABKIT_PROGRESS={scratch}/progress.json "
        f"python - {scratch}/{name}.ipynb {CELL_TIMEOUT} {scratch} <<'EOF'\n{RUNNER}\nEOF",
        timeout=CELL_TIMEOUT * 10,
    )
    assert r.exit_code == 0, r.stderr[-3000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("name, scenario", COURSE.items())
def test_notebook_runs_top_to_bottom(lab, scratch, name, scenario):
    state = lab.lab.current()
    if state.modified:  # a test before this one left edits: start from a pristine lab
        lab.lab.apply(state.name)
    result = execute(lab, scratch, name)
    assert result["error"] is None, result["error"]

    setup_output = result["cells"][0]["output"]
    assert re.search(rf"<labkit setup: scenario {scenario} (applied|kept)>", setup_output), (
        setup_output
    )
    assert lab.lab.current().name == ENDS_IN.get(name, scenario)
    for cell in result["cells"]:
        for failure in SHELL_FAILURES:
            assert failure not in cell["output"], (cell["source"], cell["output"])
    if name == "00-welcome":
        health = next(c["output"] for c in result["cells"] if "health()" in c["source"])
        assert re.search(r"<labkit health: (\d+)/\1 ok>", health), health
    if name == "06-capstone":
        board = next(c["output"] for c in result["cells"] if "LiveBoard(" in c["source"])
        assert re.search(r"nb06.server-fixed, \d+ of \d+ pass", board), board
        # The lab's own middlebox, on the cafe path; the hotspot sees the server as it is.
        paths = next(c["output"] for c in result["cells"] if "use_network(network)" in c["source"])
        cafe, hotspot = paths.split("--- from the hotspot:")
        assert "220 ****" in cafe and "250-XXXXXXXA" in cafe and "250-STARTTLS" not in cafe
        assert "250-STARTTLS" in hotspot and "XXXXXXXA" not in hotspot
        assert lab.lab.network().name == "cafe"  # put back where the learner had it


# --------------------------------------------------------------------------- course helpers


def in_workstation(lab, code: str) -> list[str]:
    r = lab.ws(f"cd /tmp && python - <<'EOF'\n{code}\nEOF")
    assert r.exit_code == 0, r.stderr[-3000:]
    return r.stdout.splitlines()


def test_setup_asks_before_discarding_edits_made_in_another_scenario(lab):
    lab.lab.apply("blog")
    try:
        on_mx = lab.ws("ssh mx postconf -e myhostname=mail.zimmerman.test")
        assert on_mx.exit_code == 0, on_mx.stderr
        out = in_workstation(
            lab,
            "from labkit.widgets.course import setup\n"
            "card = setup('fixed')\n"
            "print(card.preparation.action, card.switch_button.layout.display)\n"
            "print(card.message.value)\n",
        )
        assert out[0] == "blocked None"  # the button shows
        assert "main.cf" in out[1] and "blog" in out[1]
        state = lab.lab.current()
        assert state.name == "blog" and state.modified == ("/etc/postfix/main.cf",)

        out = in_workstation(
            lab,
            "from labkit.widgets.course import setup\n"
            "card = setup('fixed')\n"
            "print(card.switch().action, card.switch_button.layout.display)\n",
        )
        assert out == ["applied none"]
        assert lab.lab.current().name == "fixed" and not lab.lab.current().modified
    finally:
        lab.lab.apply("fixed")


def test_setup_keeps_the_learners_fix_in_its_own_scenario(lab):
    lab.lab.apply("no-submission")
    try:
        fix = "sed -i -E 's/^#((submission|smtps) +inet|  -o )/\\1/' /etc/postfix/master.cf"
        assert lab.ws(f'ssh mx "{fix} && postfix reload"').exit_code == 0
        out = in_workstation(
            lab,
            "from labkit.widgets.course import setup\n"
            "print(setup('no-submission').preparation.action)\n",
        )
        assert out == ["kept"]
        assert lab.lab.current().modified == ("/etc/postfix/master.cf",)
        assert ":587 " in lab.mx("ss -ltnH").stdout
    finally:
        lab.lab.apply("fixed")


def test_health_names_a_stopped_postfix_and_the_way_back(lab):
    lab.lab.apply("fixed")
    assert lab.mx("postfix stop").exit_code == 0
    try:
        out = in_workstation(
            lab,
            "from labkit.doctor.health import check_health\n"
            "for i in check_health():\n"
            "    print(i.ok, i.name, '|', i.fix)\n",
        )
    finally:
        assert lab.mx("postfix start").exit_code == 0
    failed = [line for line in out if line.startswith("False")]
    assert len(failed) == 1 and "Mail server (port 25)" in failed[0]
    assert "postfix start" in failed[0] and "labkit reset" in failed[0]
    assert sum(line.startswith("True") for line in out) == 5


def test_the_second_opinion_is_the_doctors_report(lab):
    lab.lab.apply("blog")
    try:
        out = in_workstation(
            lab,
            "from labkit.widgets.course import SecondOpinion\n"
            "w = SecondOpinion()\n"
            "print(w.report)\n"
            "report = w.run()\n"
            "print(report.worst, 'submission' in w.output.value, 'RFC 2181' in w.output.value)\n",
        )
        assert out == ["None", "fail True True"]
    finally:
        lab.lab.apply("fixed")
