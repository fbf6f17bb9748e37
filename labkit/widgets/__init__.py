"""ipywidgets views over labkit: exercise cards, probe consoles and progress.

Widgets collect input and show output; grading, probing and recording happen in
:mod:`labkit.exercises` and :mod:`labkit.probes`. Every widget can be built and
clicked in plain Python (``widget.check_button.click()``), which is how it is tested.

In a notebook::

    from labkit.widgets import ask, SmtpConsole
    ask("nb02.errno-linux")          # a question card
    ask("nb02.fix-submission")       # a live task: "Check my fix" probes the lab
    SmtpConsole()                    # telnet, with the blog's transcript marks
"""

from __future__ import annotations

from labkit.widgets.assess import ChallengeCard, PredictCard, challenge, predict
from labkit.widgets.dns_panel import DnsPanel
from labkit.widgets.exercise import (
    ExerciseWidget,
    LiveTaskWidget,
    QuestionWidget,
    ask,
    quiz,
)
from labkit.widgets.port_scanner import PortScanner
from labkit.widgets.progress import ProgressView
from labkit.widgets.smtp_console import SmtpConsole
from labkit.widgets.tls_inspector import TlsInspector

__all__ = [
    "ChallengeCard",
    "DnsPanel",
    "ExerciseWidget",
    "LiveTaskWidget",
    "PortScanner",
    "PredictCard",
    "ProgressView",
    "QuestionWidget",
    "SmtpConsole",
    "TlsInspector",
    "ask",
    "challenge",
    "predict",
    "quiz",
]
