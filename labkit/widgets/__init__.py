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

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from labkit.widgets.assess import ChallengeCard, PredictCard, challenge, predict
    from labkit.widgets.dns_panel import DnsPanel
    from labkit.widgets.exercise import ExerciseWidget, LiveTaskWidget, QuestionWidget, ask, quiz
    from labkit.widgets.network_switch import NetworkSwitch
    from labkit.widgets.port_scanner import PortScanner
    from labkit.widgets.progress import ProgressView
    from labkit.widgets.smtp_console import SmtpConsole
    from labkit.widgets.tls_inspector import TlsInspector

__all__ = [
    "ChallengeCard",
    "DnsPanel",
    "ExerciseWidget",
    "LiveTaskWidget",
    "NetworkSwitch",
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

#: Where each name lives; imported on first use, so a notebook cell pays only for the
#: widgets it shows (``labkit.widgets.course.setup`` needs none of these).
_HOME = {
    "ChallengeCard": "assess",
    "PredictCard": "assess",
    "challenge": "assess",
    "predict": "assess",
    "DnsPanel": "dns_panel",
    "ExerciseWidget": "exercise",
    "LiveTaskWidget": "exercise",
    "QuestionWidget": "exercise",
    "ask": "exercise",
    "quiz": "exercise",
    "NetworkSwitch": "network_switch",
    "PortScanner": "port_scanner",
    "ProgressView": "progress",
    "SmtpConsole": "smtp_console",
    "TlsInspector": "tls_inspector",
}


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module 'labkit.widgets' has no attribute {name!r}")
    return getattr(importlib.import_module(f"labkit.widgets.{module}"), name)
