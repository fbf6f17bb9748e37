"""A learner's first minutes, in a real browser (Debian's Chromium driven by Playwright).

Open JupyterLab from the running test lab with its token, check that it lands in the
course without the news pop-up, open a notebook, run it, see the widgets render,
answer a question wrongly then rightly, and read the feedback; lock in a prediction and
see the output appear only then; check a challenge live; switch the laptop from the
cafe's Wi-Fi to the phone's hotspot and back with the network switch. Screenshots go to
``$LABKIT_SCREENSHOTS`` (default ``test-artifacts/screenshots``) for a human to look at.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

pytestmark = [pytest.mark.lab, pytest.mark.browser]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = Path(os.environ.get("LABKIT_SCREENSHOTS", "test-artifacts/screenshots"))
NOTEBOOK = "browser-check.ipynb"
CELLS = [
    ("markdown", "# Browser check\nA question, a prediction and a challenge, as in the course."),
    ("code", "from labkit.widgets import ask\nask('nb02.errno-linux')"),
    (
        "code",
        "from labkit.widgets import predict\n"
        "predict('nb02.predict-587', run=lambda: print('OUTPUT-AFTER-PREDICTION'))",
    ),
    ("code", "from labkit.widgets import challenge\nchallenge('nb02.fix-submission')"),
    ("code", "from labkit.widgets import NetworkSwitch\nNetworkSwitch()"),
]


def _notebook_json() -> str:
    cells = []
    for kind, source in CELLS:
        cell = {"cell_type": kind, "metadata": {}, "source": source}
        if kind == "code":
            cell.update({"execution_count": None, "outputs": []})
        cells.append(cell)
    return json.dumps(
        {
            "cells": cells,
            "nbformat": 4,
            "nbformat_minor": 5,
            "metadata": {
                "kernelspec": {
                    "name": "python3",
                    "display_name": "Python 3 (ipykernel)",
                    "language": "python",
                }
            },
        }
    )


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (apt-get install chromium)")
        pytest.skip("chromium is not installed")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
            ],
        )
        yield b
        b.close()


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)


def run_all_cells(page) -> None:
    page.locator(".jp-Notebook:visible").first.click()
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_text("Run All Cells", exact=True).click()


def test_a_learner_opens_the_course_runs_a_notebook_and_gets_feedback(lab, browser):
    lab.scenario("fixed")
    # A learner who has not answered anything yet (another test may have used this lab).
    r = lab.ws("rm -f ~/.labkit/progress.json")
    assert r.exit_code == 0, r.stderr
    notebook = _notebook_json().replace("'", "'\\''")
    r = lab.ws(f"printf '%s' '{notebook}' > ~/notebooks/{NOTEBOOK}")
    assert r.exit_code == 0, r.stderr

    page = browser.new_page(viewport={"width": 1400, "height": 950})
    base = f"http://127.0.0.1:{lab.config.jupyter_port}"
    token = lab.lab.token()

    # Landing: the URL `labkit up` prints opens the welcome notebook, the file browser
    # shows the course, and there is no news pop-up.
    page.goto(lab.lab.url())
    page.wait_for_selector(".jp-LabShell", timeout=90_000)
    page.wait_for_selector(".jp-DirListing-content", timeout=30_000)
    welcome_tab = page.get_by_role("tab", name="00-welcome.ipynb")
    welcome_tab.wait_for(timeout=60_000)
    welcome_tab.click()  # a restored workspace may have put another tab in front
    page.locator(".jp-Notebook:visible .jp-Cell").first.wait_for(timeout=60_000)
    # Markdown renders asynchronously; on a busy machine that takes more than a moment.
    title = page.locator(".jp-Notebook:visible .jp-MarkdownOutput", has_text="Welcome")
    title.first.wait_for(timeout=60_000)
    shot(page, "01-landing")
    listing = page.locator(".jp-DirListing-content").inner_text()
    assert NOTEBOOK in listing
    for name in ("00-welcome", "01-talking-smtp", "06-capstone"):
        assert name in listing
    assert "Welcome" in page.locator(".jp-Notebook:visible").first.inner_text()
    assert not page.get_by_text("Jupyter news").is_visible()

    # Open the notebook and run it.
    # A fresh workspace, so that the welcome notebook (the landing page) is not open too.
    page.goto(f"{base}/lab/workspaces/browser-check/tree/{NOTEBOOK}?token={token}&reset")
    page.get_by_role("tab", name=NOTEBOOK).click()
    page.locator(".jp-Notebook:visible .jp-Cell").first.wait_for(timeout=60_000)
    page.get_by_text("Python 3 (ipykernel) | Idle").wait_for(timeout=90_000)
    run_all_cells(page)
    card = page.locator(".jp-OutputArea-output").filter(has=page.locator(".jupyter-widgets")).first
    card.wait_for(timeout=90_000)
    check = card.locator("button", has_text="Check")
    check.first.wait_for(timeout=30_000)
    page.wait_for_timeout(500)
    shot(page, "02-widget-rendered")

    # A wrong answer gets targeted feedback; the right one gets full marks.
    answer = card.locator("input").first
    answer.fill("61")
    check.first.click()
    page.wait_for_function(
        'el => el.innerText.includes("macOS")', arg=card.element_handle(), timeout=30_000
    )
    shot(page, "03-wrong-answer-feedback")
    assert "macOS" in card.inner_text()

    answer.fill("111")
    check.first.click()
    page.wait_for_function(
        "el => /1\\s*\\/\\s*1|full marks|correct/i.test(el.innerText)",
        arg=card.element_handle(),
        timeout=30_000,
    )
    shot(page, "04-right-answer-feedback")

    # Predict, then check: the output appears only once the prediction is locked in.
    cards = page.locator(".jp-OutputArea-output").filter(has=page.locator(".jupyter-widgets"))
    prediction = cards.filter(has_text="Predict, then check").first
    prediction.wait_for(timeout=60_000)
    prediction.scroll_into_view_if_needed()
    assert "OUTPUT-AFTER-PREDICTION" not in prediction.inner_text()
    option = prediction.locator(".widget-hbox", has_text="Refuse the connection at once")
    option.locator("input[type=checkbox]").check()
    prediction.locator("button", has_text="Lock in my prediction").click()
    page.wait_for_function(
        'el => el.innerText.includes("OUTPUT-AFTER-PREDICTION")',
        arg=prediction.element_handle(),
        timeout=30_000,
    )
    assert "Prediction locked in" in prediction.inner_text()
    shot(page, "05-prediction-locked-then-output")

    # A challenge: a terse brief, and a live check of the (here: fixed) server.
    trial = cards.filter(has_text="Challenge:").first
    trial.scroll_into_view_if_needed()
    assert "connection refused" in trial.inner_text() and "ssh mx" in trial.inner_text()
    trial.locator("button", has_text="Check my fix").click()
    page.wait_for_function(
        'el => el.innerText.includes("checks pass")', arg=trial.element_handle(), timeout=60_000
    )
    shot(page, "06-challenge-checked")
    assert "All 2 checks pass" in trial.inner_text()

    # The network switch: the laptop moves to the hotspot, and the lab says so too.
    switch = cards.filter(has_text="The laptop uses").first
    switch.scroll_into_view_if_needed()
    assert "cafe" in switch.inner_text().lower()
    switch.get_by_role("button", name="hotspot").click()
    page.wait_for_function(
        "el => /switched in/.test(el.innerText) && /hotspot/i.test(el.innerText)",
        arg=switch.element_handle(),
        timeout=30_000,
    )
    shot(page, "07-network-switched-to-hotspot")
    assert lab.lab.network().name == "hotspot"
    switch.get_by_role("button", name="cafe").click()
    page.wait_for_function(
        "el => /switched in/.test(el.innerText) && /caf/i.test(el.innerText)",
        arg=switch.element_handle(),
        timeout=30_000,
    )
    assert lab.lab.network().name == "cafe"

    # The answers were recorded in the learner's progress file.
    out = lab.ws("labkit progress --json")
    assert out.exit_code == 0, out.stderr
    for exercise in ("nb02.errno-linux", "nb02.predict-587", "nb02.fix-submission"):
        assert exercise in out.stdout
    lab.ws(f"rm -f ~/notebooks/{NOTEBOOK}")
    page.close()
